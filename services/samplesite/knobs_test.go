package samplesite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/antchfx/htmlquery"
	"github.com/google/go-cmp/cmp"
)

func TestKnobResponses(t *testing.T) {
	h := New(Options{Knobs: true})
	hugeMin := strconv.FormatInt(newHugePage(renderChart(dataset, 1, frozenAsOf)).min(), 10)
	tests := []struct {
		name         string
		target       string
		status       int
		header       map[string]string // expected response headers ("" = absent)
		bodyContains string
	}{
		{"status 500", "/site/chart?status=500", 500,
			map[string]string{"Content-Type": typePlain, "Cache-Control": cacheNoStore, "Retry-After": "", "ETag": ""}, "simulated failure: 500"},
		{"status 429 with retry-after", "/site/chart?status=429&retryAfter=7", 429,
			map[string]string{"Retry-After": "7"}, "429 Too Many Requests"},
		{"status 503 on robots", "/robots.txt?status=503", 503, nil, "503"},
		{"status 404 on a film", "/site/films/the-godfather-1972?status=404", 404, map[string]string{"Content-Type": typePlain}, "simulated failure"},
		{"ctype json", "/site/chart?ctype=application/json", 200,
			map[string]string{"Content-Type": "application/json", "Cache-Control": cacheNoStore}, `class="chart-list"`},
		{"ctype with params", "/site/chart?page=2&ctype=text/plain%3B+charset=iso-8859-1", 200,
			map[string]string{"Content-Type": "text/plain; charset=iso-8859-1"}, `data-rank="51"`},
		{"ctype on a film", "/site/films/the-godfather-1972?ctype=image/png", 200, map[string]string{"Content-Type": "image/png"}, "Coppola"},
		{"malformed", "/site/chart?malformed=1", 200, map[string]string{"Content-Type": typeHTML}, "broken markup"},
		{"malformed false is off", "/site/chart?malformed=false", 200, nil, "<!DOCTYPE html>"},
		{"malformed as json", "/site/chart?malformed=true&ctype=application/json", 200, map[string]string{"Content-Type": "application/json"}, "broken markup"},
		{"slow zero", "/site/chart?slow=0s", 200, nil, "chart-item"},
		{"slow short", "/site/chart?slow=5ms", 200, nil, "chart-item"},
		{"stall short", "/site/chart?stall=5ms", 200, nil, "</html>"},
		{"redirects 0 is no-op", "/site/chart?redirects=0", 200, nil, "chart-item"},
		{"one redirect", "/site/chart?page=2&redirects=1", 302,
			map[string]string{"Location": "/site/chart?page=2", "Cache-Control": cacheNoStore}, ""},
		{"redirect keeps other knobs", "/site/chart?redirects=3&status=500", 302,
			map[string]string{"Location": "/site/chart?redirects=2&status=500"}, ""},
		{"unknown parameters ignored", "/site/chart?run=abc&slow=1ms", 200, nil, "chart-item"},

		{"bad status", "/site/chart?status=200", 400, map[string]string{"Content-Type": typePlain}, "knob status"},
		{"status not a number", "/site/chart?status=abc", 400, nil, "knob status"},
		{"bad slow", "/site/chart?slow=fast", 400, nil, "knob slow"},
		{"negative slow", "/site/chart?slow=-1s", 400, nil, "knob slow"},
		{"slow too long", "/site/chart?slow=6m", 400, nil, "knob slow"},
		{"bad stall", "/site/chart?stall=1", 400, nil, "knob stall"},
		{"retry-after alone", "/site/chart?retryAfter=5", 400, nil, "needs status or flaky"},
		{"retry-after negative", "/site/chart?status=429&retryAfter=-1", 400, nil, "knob retryAfter"},
		{"huge too small", "/site/chart?huge=1000", 400, nil, "between " + hugeMin},
		{"huge too big", "/site/chart?huge=67108865", 400, nil, "knob huge"},
		{"huge on a film", "/site/films/the-godfather-1972?huge=" + hugeMin, 400, nil, "apply only to /site/chart"},
		{"malformed on robots", "/robots.txt?malformed=1", 400, nil, "apply only to /site/chart"},
		{"huge and malformed", "/site/chart?huge=" + hugeMin + "&malformed=1", 400, nil, "cannot be combined"},
		{"bad malformed", "/site/chart?malformed=yes", 400, nil, "knob malformed"},
		{"bad ctype", "/site/chart?ctype=not+a+type", 400, nil, "knob ctype"},
		{"ctype with newline", "/site/chart?ctype=text/html%0d%0aX-Evil:+1", 400, nil, "knob ctype"},
		{"too many redirects", "/site/chart?redirects=21", 400, nil, "knob redirects"},
		{"flaky zero", "/site/chart?flaky=0", 400, nil, "knob flaky"},
		{"knob twice", "/site/chart?status=500&status=502", 400, nil, "given 2 times"},
		{"several problems", "/site/chart?status=1&slow=x&redirects=-1", 400, nil, "knob slow"},
		{"bad page still 400 under knobs", "/site/chart?page=x&slow=1ms", 400, nil, "page: want"},
		{"missing page still 404 under knobs", "/site/chart?page=9&slow=1ms", 404, nil, "Page not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, h, "GET", tc.target, nil)
			b := body(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tc.status, b)
			}
			for k, want := range tc.header {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s %q, want %q", k, got, want)
				}
			}
			if !bytes.Contains(b, []byte(tc.bodyContains)) {
				t.Errorf("body does not contain %q: %.200q", tc.bodyContains, b)
			}
		})
	}
	t.Run("every problem listed", func(t *testing.T) {
		b := string(body(t, do(t, h, "GET", "/site/chart?status=1&slow=x&redirects=-1", nil)))
		for _, want := range []string{"knob slow", "knob status", "knob redirects"} {
			if !strings.Contains(b, want) {
				t.Errorf("400 body %q lacks %q", b, want)
			}
		}
	})
}

func TestKnobsOffIgnoresParameters(t *testing.T) {
	on, off := New(Options{Knobs: true}), New(Options{})
	plain := body(t, do(t, off, "GET", "/site/chart", nil))
	for _, q := range []string{"status=500", "slow=10m", "huge=99999999999", "malformed=1", "ctype=application/json",
		"redirects=5", "flaky=3", "status=bogus"} {
		resp := do(t, off, "GET", "/site/chart?"+q, nil)
		if b := body(t, resp); resp.StatusCode != 200 || !bytes.Equal(b, plain) || resp.Header.Get("Content-Type") != typeHTML {
			t.Errorf("knobs off, ?%s: status %d, content type %q, same body %v", q, resp.StatusCode, resp.Header.Get("Content-Type"), bytes.Equal(b, plain))
		}
	}
	// With knobs on but none given, the page is the same page.
	if b := body(t, do(t, on, "GET", "/site/chart", nil)); !bytes.Equal(b, plain) {
		t.Error("knobs on without knob parameters changes the page")
	}
}

func TestRedirectChain(t *testing.T) {
	srv := httptest.NewServer(New(Options{Knobs: true}))
	defer srv.Close()
	var hops []string
	client := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		hops = append(hops, req.URL.RequestURI())
		return nil
	}}
	resp, err := client.Get(srv.URL + "/site/chart?page=3&redirects=4")
	if err != nil {
		t.Fatal(err)
	}
	b := body(t, resp)
	want := []string{
		"/site/chart?page=3&redirects=3",
		"/site/chart?page=3&redirects=2",
		"/site/chart?page=3&redirects=1",
		"/site/chart?page=3",
	}
	if diff := cmp.Diff(want, hops); diff != "" {
		t.Errorf("redirect hops (-want +got):\n%s", diff)
	}
	if resp.StatusCode != 200 || !bytes.Contains(b, []byte(`data-rank="101"`)) {
		t.Errorf("chain ends with status %d, not at chart page 3", resp.StatusCode)
	}
}

func TestSlowHonoursCancellation(t *testing.T) {
	h := New(Options{Knobs: true})
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequestWithContext(ctx, "GET", "/site/chart?slow=5m", nil)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		h.ServeHTTP(rec, req)
		close(done)
	}()
	cancel()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("slow=5m did not return after the request was cancelled")
	}
	if rec.Body.Len() != 0 {
		t.Errorf("cancelled slow request wrote %d bytes", rec.Body.Len())
	}
}

func TestSlowDelaysTheResponse(t *testing.T) {
	srv := httptest.NewServer(New(Options{Knobs: true}))
	defer srv.Close()
	client := &http.Client{Timeout: 50 * time.Millisecond}
	_, err := client.Get(srv.URL + "/site/chart?slow=2s")
	var ne interface{ Timeout() bool }
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("slow=2s with a 50ms client timeout: err %v, want a timeout", err)
	}
}

func TestStallSendsHeadersFirst(t *testing.T) {
	srv := httptest.NewServer(New(Options{Knobs: true}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/site/chart?stall=5m", nil)
	resp, err := http.DefaultClient.Do(req) // returns once the headers are in
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	n, _ := strconv.Atoi(resp.Header.Get("Content-Length"))
	buf := make([]byte, n/2)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatalf("read the first half: %v", err)
	}
	cancel() // the second half would take five minutes
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("body completed although the server stalls")
	}
}

func TestFlaky(t *testing.T) {
	h := New(Options{Knobs: true})
	tests := []struct {
		target string
		want   []int
		retry  string
	}{
		{"/site/chart?flaky=2", []int{503, 503, 200, 200}, ""},
		{"/site/chart?flaky=1&status=429&retryAfter=3", []int{429, 200, 200}, "3"},
		{"/site/chart?flaky=3&status=500", []int{500, 500, 500, 200}, ""},
		// A different URL (here an extra parameter) counts separately.
		{"/site/chart?flaky=2&run=b", []int{503, 503, 200}, ""},
		{"/robots.txt?flaky=1", []int{503, 200}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.target, func(t *testing.T) {
			var got []int
			for range tc.want {
				resp := do(t, h, "GET", tc.target, nil)
				got = append(got, resp.StatusCode)
				if resp.StatusCode != 200 && resp.Header.Get("Retry-After") != tc.retry {
					t.Errorf("Retry-After %q, want %q", resp.Header.Get("Retry-After"), tc.retry)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("a fresh handler counts afresh", func(t *testing.T) {
		if got := do(t, New(Options{Knobs: true}), "GET", "/site/chart?flaky=2", nil).StatusCode; got != 503 {
			t.Errorf("status %d, want 503", got)
		}
	})
	t.Run("parameter order does not matter", func(t *testing.T) {
		h := New(Options{Knobs: true})
		var got []int
		for _, q := range []string{"flaky=2&page=2", "page=2&flaky=2", "flaky=2&page=2"} {
			got = append(got, do(t, h, "GET", "/site/chart?"+q, nil).StatusCode)
		}
		if diff := cmp.Diff([]int{503, 503, 200}, got); diff != "" {
			t.Errorf("statuses (-want +got):\n%s", diff)
		}
	})
}

func TestFlakyConcurrent(t *testing.T) {
	const n, requests = 7, 40
	h := New(Options{Knobs: true})
	var wg sync.WaitGroup
	statuses := make(chan int, requests)
	for range requests {
		wg.Go(func() {
			statuses <- do(t, h, "GET", fmt.Sprintf("/site/chart?flaky=%d", n), nil).StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if diff := cmp.Diff(map[int]int{503: n, 200: requests - n}, count); diff != "" {
		t.Errorf("status counts (-want +got):\n%s", diff)
	}
}

func TestFlakyKeyLimit(t *testing.T) {
	var c flakyCounter
	for i := range MaxFlakyKeys {
		if _, err := c.next(strconv.Itoa(i)); err != nil {
			t.Fatalf("key %d: %v", i, err)
		}
	}
	if _, err := c.next("one too many"); !errors.Is(err, errTooManyFlakyKeys) {
		t.Errorf("key past the limit: err %v, want %v", err, errTooManyFlakyKeys)
	}
	if n, err := c.next("0"); err != nil || n != 2 {
		t.Errorf("known key past the limit: %d, %v; want 2, nil", n, err)
	}
}

func TestHuge(t *testing.T) {
	h := New(Options{Knobs: true})
	smallest := newHugePage(renderChart(dataset, 1, frozenAsOf)).min()
	for _, size := range []int64{smallest, smallest + 1, smallest + int64(len(fillerLine)) - 1, 1 << 20, 3<<20 + 17} {
		for _, enc := range []string{"", "gzip"} {
			t.Run(fmt.Sprintf("%d bytes %q", size, enc), func(t *testing.T) {
				resp := do(t, h, "GET", fmt.Sprintf("/site/chart?huge=%d", size), map[string]string{"Accept-Encoding": enc})
				b := body(t, resp)
				if resp.StatusCode != 200 {
					t.Fatalf("status %d: %s", resp.StatusCode, b)
				}
				if int64(len(b)) != size {
					t.Errorf("page has %d bytes, want %d", len(b), size)
				}
				wantCL := ""
				if enc == "" {
					wantCL = strconv.FormatInt(size, 10)
				}
				if got := resp.Header.Get("Content-Length"); got != wantCL {
					t.Errorf("Content-Length %q, want %q", got, wantCL)
				}
				if err := checkWellFormed(b); err != nil {
					t.Errorf("huge page is not well-formed: %v", err)
				}
				doc := parseHTML(t, b)
				if n := len(htmlquery.Find(doc, xItems)); n != PageSize {
					t.Errorf("%d chart items, want %d", n, PageSize)
				}
			})
		}
	}
	t.Run("cancelled mid-stream", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		w := &cancellingWriter{header: http.Header{}, after: 1 << 20, cancel: cancel}
		h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, "GET", "/site/chart?huge=67108864", nil))
		if w.written >= 2<<20 {
			t.Errorf("wrote %d bytes after the client left at 1 MiB", w.written)
		}
	})
}

// cancellingWriter cancels the request once `after` bytes are written.
type cancellingWriter struct {
	header  http.Header
	written int
	after   int
	cancel  func()
}

func (w *cancellingWriter) Header() http.Header { return w.header }
func (w *cancellingWriter) WriteHeader(int)     {}
func (w *cancellingWriter) Write(b []byte) (int, error) {
	w.written += len(b)
	if w.written >= w.after {
		w.cancel()
	}
	return len(b), nil
}

func TestParseKnobsCombinations(t *testing.T) {
	tests := []struct {
		query string
		chart bool
		want  knobs
	}{
		{"", true, knobs{}},
		{"slow=1.5s&stall=2ms", false, knobs{slow: 1500 * time.Millisecond, stall: 2 * time.Millisecond}},
		{"status=429&retryAfter=0", false, knobs{status: 429, hasRetryAfter: true}},
		{"flaky=4&retryAfter=2", false, knobs{flaky: 4, retryAfter: 2, hasRetryAfter: true}},
		{"huge=5000&ctype=text/csv", true, knobs{huge: 5000, ctype: "text/csv"}},
		{"malformed=1&redirects=2", true, knobs{malformed: true, redirects: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.query, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseKnobs(q, tc.chart, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, cmp.AllowUnexported(knobs{})); diff != "" {
				t.Errorf("knobs (-want +got):\n%s", diff)
			}
		})
	}
}
