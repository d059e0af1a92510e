package samplesite

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/antchfx/htmlquery"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// do serves one request through h and returns the recorded response.
func do(t testing.TB, h http.Handler, method, target string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// body reads the whole (decoded) body of resp.
func body(t testing.TB, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return b
}

func parseHTML(t testing.TB, b []byte) *html.Node {
	t.Helper()
	doc, err := htmlquery.Parse(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("parse HTML: %v", err)
	}
	return doc
}

// xpathText is the whitespace-normalised string value of the first node that
// expr selects from n ("" when none).
func xpathText(t testing.TB, n *html.Node, expr string) string {
	t.Helper()
	node, err := htmlquery.Query(n, expr)
	if err != nil {
		t.Fatalf("xpath %s: %v", expr, err)
	}
	if node == nil {
		return ""
	}
	return strings.Join(strings.Fields(htmlquery.InnerText(node)), " ")
}

func TestRoutes(t *testing.T) {
	want := []string{
		"GET /robots.txt",
		"GET /site",
		"GET /site/chart",
		"GET /site/films/{id}",
		"GET /site/static/style.css",
	}
	var got []string
	for _, r := range contract.SampleSiteRoutes() {
		got = append(got, r.Key())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("route keys (-want +got):\n%s", diff)
	}
	// API Gateway route paths: no trailing slash, only {name} parameters.
	apiPath := regexp.MustCompile(`^(/[A-Za-z0-9._-]+|/\{[a-z]+\})+$`)
	for _, r := range contract.SampleSiteRoutes() {
		if !apiPath.MatchString(r.Path) {
			t.Errorf("route %q is not an API Gateway route path", r.Key())
		}
	}
	// Every route answers 200 on a concrete path.
	h := New(Options{})
	for _, r := range contract.SampleSiteRoutes() {
		path := strings.Replace(r.Path, "{id}", dataset[0].ID, 1)
		if resp := do(t, h, r.Method, path, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s: status %d, want 200", r.Method, path, resp.StatusCode)
		}
	}
}

func TestResponses(t *testing.T) {
	h := New(Options{})
	strongETag := regexp.MustCompile(`^"[0-9a-f]{32}"$`)
	tests := []struct {
		name, method, target string
		status               int
		ctype                string
		cache                string
		validators           bool
		bodyContains         string
	}{
		{"robots", "GET", "/robots.txt", 200, typePlain, cacheRobots, true, "Disallow: /site/private/"},
		{"index", "GET", "/site", 200, typeHTML, cachePage, true, `href="/site/chart"`},
		{"index slash", "GET", "/site/", 200, typeHTML, cachePage, true, `class="chart-link button"`},
		{"chart default page", "GET", "/site/chart", 200, typeHTML, cachePage, true, `data-rank="1"`},
		{"chart page 3", "GET", "/site/chart?page=3", 200, typeHTML, cachePage, true, `data-rank="101"`},
		{"chart unknown param ignored", "GET", "/site/chart?page=2&utm=x", 200, typeHTML, cachePage, true, `data-rank="51"`},
		{"film", "GET", "/site/films/the-godfather-1972", 200, typeHTML, cachePage, true, "Francis Ford Coppola"},
		{"style", "GET", "/site/static/style.css", 200, typeCSS, cacheStatic, true, ".chart-item"},
		{"head chart", "HEAD", "/site/chart", 200, typeHTML, cachePage, true, ""},
		{"knobs off: status ignored", "GET", "/site/chart?status=500", 200, typeHTML, cachePage, true, `data-rank="1"`},
		{"page 0", "GET", "/site/chart?page=0", 404, typeHTML, cacheNoStore, false, "Page not found"},
		{"page 6", "GET", "/site/chart?page=6", 404, typeHTML, cacheNoStore, false, "Page not found"},
		{"page not a number", "GET", "/site/chart?page=two", 400, typePlain, cacheNoStore, false, "page: want one integer"},
		{"page twice", "GET", "/site/chart?page=1&page=2", 400, typePlain, cacheNoStore, false, "page: want one integer"},
		{"unknown film", "GET", "/site/films/no-such-film-1900", 404, typeHTML, cacheNoStore, false, "Page not found"},
		{"empty film id", "GET", "/site/films/", 404, typeHTML, cacheNoStore, false, "Page not found"},
		{"unknown path under site", "GET", "/site/private/secret", 404, typeHTML, cacheNoStore, false, "Page not found"},
		{"unknown path", "GET", "/movies", 404, typeHTML, cacheNoStore, false, "Page not found"},
		{"post chart", "POST", "/site/chart", 405, typePlain, "", false, "Method Not Allowed"},
		{"delete film", "DELETE", "/site/films/the-godfather-1972", 405, typePlain, "", false, "Method Not Allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, h, tc.method, tc.target, nil)
			b := body(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tc.status, b)
			}
			if got := resp.Header.Get("Content-Type"); got != tc.ctype {
				t.Errorf("Content-Type %q, want %q", got, tc.ctype)
			}
			if got := resp.Header.Get("Cache-Control"); got != tc.cache {
				t.Errorf("Cache-Control %q, want %q", got, tc.cache)
			}
			etag, lm := resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
			if tc.validators {
				if !strongETag.MatchString(etag) {
					t.Errorf("ETag %q is not a strong content hash", etag)
				}
				if want := "Sat, 01 Mar 2025 00:00:00 GMT"; lm != want {
					t.Errorf("Last-Modified %q, want %q", lm, want)
				}
				if got := resp.Header.Get("Vary"); got != "Accept-Encoding" {
					t.Errorf("Vary %q, want Accept-Encoding", got)
				}
				if tc.method == "GET" && resp.Header.Get("Content-Length") != strconv.Itoa(len(b)) {
					t.Errorf("Content-Length %q, body has %d bytes", resp.Header.Get("Content-Length"), len(b))
				}
			} else if etag != "" || lm != "" {
				t.Errorf("error response has validators ETag %q Last-Modified %q", etag, lm)
			}
			if tc.method == "HEAD" && len(b) != 0 {
				t.Errorf("HEAD returned a %d-byte body", len(b))
			}
			if !bytes.Contains(b, []byte(tc.bodyContains)) {
				t.Errorf("body does not contain %q", tc.bodyContains)
			}
		})
	}
}

func TestConditionalRequests(t *testing.T) {
	h := New(Options{})
	first := do(t, h, "GET", "/site/chart?page=2", nil)
	plainTag := first.Header.Get("ETag")
	gz := do(t, h, "GET", "/site/chart?page=2", map[string]string{"Accept-Encoding": "gzip"})
	gzipTag := gz.Header.Get("ETag")
	if plainTag == gzipTag {
		t.Fatalf("identity and gzip representations share ETag %s", plainTag)
	}
	otherTag := do(t, h, "GET", "/site/chart?page=3", nil).Header.Get("ETag")
	if otherTag == plainTag {
		t.Fatalf("pages 2 and 3 share ETag %s", plainTag)
	}

	tests := []struct {
		name   string
		header map[string]string
		want   int
	}{
		{"no validators", nil, 200},
		{"matching etag", map[string]string{"If-None-Match": plainTag}, 304},
		{"gzip etag validates identity", map[string]string{"If-None-Match": gzipTag}, 304},
		{"identity etag validates gzip", map[string]string{"If-None-Match": plainTag, "Accept-Encoding": "gzip"}, 304},
		{"weak form matches", map[string]string{"If-None-Match": "W/" + plainTag}, 304},
		{"list with match", map[string]string{"If-None-Match": otherTag + ", " + plainTag}, 304},
		{"star", map[string]string{"If-None-Match": "*"}, 304},
		{"other page's etag", map[string]string{"If-None-Match": otherTag}, 200},
		{"unquoted etag", map[string]string{"If-None-Match": strings.Trim(plainTag, `"`)}, 200},
		{"modified since the day before", map[string]string{"If-Modified-Since": "Fri, 28 Feb 2025 00:00:00 GMT"}, 200},
		{"not modified since the dataset date", map[string]string{"If-Modified-Since": "Sat, 01 Mar 2025 00:00:00 GMT"}, 304},
		{"not modified since later", map[string]string{"If-Modified-Since": "Mon, 02 Jun 2025 10:00:00 GMT"}, 304},
		{"invalid date ignored", map[string]string{"If-Modified-Since": "yesterday"}, 200},
		{"etag mismatch wins over date", map[string]string{"If-None-Match": otherTag, "If-Modified-Since": "Mon, 02 Jun 2025 10:00:00 GMT"}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := do(t, h, "GET", "/site/chart?page=2", tc.header)
			b := body(t, resp)
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
			if tc.want != 304 {
				return
			}
			if len(b) != 0 {
				t.Errorf("304 with a %d-byte body", len(b))
			}
			wantTag := plainTag
			if tc.header["Accept-Encoding"] == "gzip" {
				wantTag = gzipTag
			}
			got := map[string]string{
				"ETag":             resp.Header.Get("ETag"),
				"Last-Modified":    resp.Header.Get("Last-Modified"),
				"Cache-Control":    resp.Header.Get("Cache-Control"),
				"Vary":             resp.Header.Get("Vary"),
				"Content-Encoding": resp.Header.Get("Content-Encoding"),
			}
			want := map[string]string{
				"ETag":             wantTag,
				"Last-Modified":    "Sat, 01 Mar 2025 00:00:00 GMT",
				"Cache-Control":    cachePage,
				"Vary":             "Accept-Encoding",
				"Content-Encoding": "",
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("304 headers (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGzip(t *testing.T) {
	h := New(Options{})
	identity := body(t, do(t, h, "GET", "/site/chart", nil))
	tests := []struct {
		acceptEncoding string
		wantGzip       bool
	}{
		{"", false},
		{"gzip", true},
		{"GZIP", true},
		{"x-gzip", true},
		{"deflate, gzip;q=0.5", true},
		{"br;q=1.0, gzip;q=0.8, *;q=0.1", true},
		{"gzip;q=0", false},
		{"gzip;q=0.000", false},
		{"*", true},
		{"*;q=0", false},
		{"gzip;q=0, *", false},
		{"identity", false},
		{"deflate, br", false},
		{"gzip;q=2", false},
		{"gzip;q=abc", false},
	}
	for _, tc := range tests {
		t.Run(tc.acceptEncoding, func(t *testing.T) {
			resp := do(t, h, "GET", "/site/chart", map[string]string{"Accept-Encoding": tc.acceptEncoding})
			raw, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			gotGzip := resp.Header.Get("Content-Encoding") == "gzip"
			if gotGzip != tc.wantGzip {
				t.Fatalf("gzip %v, want %v", gotGzip, tc.wantGzip)
			}
			if resp.Header.Get("Content-Length") != strconv.Itoa(len(raw)) {
				t.Errorf("Content-Length %s, body has %d bytes", resp.Header.Get("Content-Length"), len(raw))
			}
			if resp.Header.Get("Vary") != "Accept-Encoding" {
				t.Errorf("Vary %q", resp.Header.Get("Vary"))
			}
			decoded := raw
			if gotGzip {
				if len(raw) >= len(identity)/3 {
					t.Errorf("gzip body is %d bytes for %d bytes of HTML", len(raw), len(identity))
				}
				zr, err := gzip.NewReader(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				if decoded, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(decoded, identity) {
				t.Error("decoded body differs from the identity body")
			}
		})
	}
}

// allPaths lists every page the site serves.
func allPaths() []string {
	paths := []string{RobotsPath, IndexPath, IndexPath + "/", StylePath, ChartPath}
	for p := 1; p <= Pages; p++ {
		paths = append(paths, ChartPageURL(p))
	}
	for _, f := range dataset {
		paths = append(paths, f.Path())
	}
	return paths
}

func TestDeterministic(t *testing.T) {
	a, b := New(Options{}), New(Options{Knobs: true})
	for _, p := range allPaths() {
		for _, enc := range []string{"", "gzip"} {
			hdr := map[string]string{"Accept-Encoding": enc}
			ra, rb := do(t, a, "GET", p, hdr), do(t, b, "GET", p, hdr)
			ba, _ := io.ReadAll(ra.Body)
			bb, _ := io.ReadAll(rb.Body)
			if !bytes.Equal(ba, bb) || ra.Header.Get("ETag") != rb.Header.Get("ETag") {
				t.Errorf("%s (Accept-Encoding %q): two handlers serve different bytes", p, enc)
			}
			again, _ := io.ReadAll(do(t, a, "GET", p, hdr).Body)
			if !bytes.Equal(ba, again) {
				t.Errorf("%s (Accept-Encoding %q): one handler serves different bytes twice", p, enc)
			}
		}
	}
}

// voidElements never have an end tag in HTML.
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true,
	"hr": true, "img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// checkWellFormed reports the first unbalanced tag: every non-void element
// must be closed, in order. The parser would repair such errors silently,
// so this is stricter than parsing.
func checkWellFormed(b []byte) error {
	z := html.NewTokenizer(bytes.NewReader(b))
	var stack []string
	for {
		switch z.Next() {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				return z.Err()
			}
			if len(stack) > 0 {
				return &tagError{"unclosed", strings.Join(stack, ">")}
			}
			return nil
		case html.StartTagToken:
			name, _ := z.TagName()
			if !voidElements[string(name)] {
				stack = append(stack, string(name))
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if len(stack) == 0 || stack[len(stack)-1] != string(name) {
				return &tagError{"mismatched </" + string(name) + ">", strings.Join(stack, ">")}
			}
			stack = stack[:len(stack)-1]
		}
	}
}

type tagError struct{ what, open string }

func (e *tagError) Error() string { return e.what + " with open elements " + e.open }

func TestHTMLWellFormed(t *testing.T) {
	h := New(Options{})
	for _, p := range allPaths() {
		resp := do(t, h, "GET", p, nil)
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			continue
		}
		b := body(t, resp)
		if !bytes.HasPrefix(b, []byte("<!DOCTYPE html>\n")) {
			t.Errorf("%s: no doctype", p)
		}
		if err := checkWellFormed(b); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		parseHTML(t, b)
	}
	if err := checkWellFormed(renderMalformed(dataset, 1, frozenAsOf)); err == nil {
		t.Error("the malformed page passes the well-formedness check")
	}
}

func TestRobots(t *testing.T) {
	got := string(body(t, do(t, New(Options{}), "GET", "/robots.txt", nil)))
	want := "# robots.txt for Reel Index\n" +
		"User-agent: BadBot\nDisallow: /\n\n" +
		"User-agent: *\nAllow: /site/chart\nAllow: /site/films/\nDisallow: /site/private/\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("robots.txt (-want +got):\n%s", diff)
	}
}

// TestConcurrentFirstRequests hits pages that are rendered or compressed
// on first use from many goroutines at once (run with -race): everyone
// gets the same bytes.
func TestConcurrentFirstRequests(t *testing.T) {
	h := New(Options{})
	want := map[string][]byte{}
	for _, p := range []string{"/site/films/the-godfather-1972", "/site/chart?page=4"} {
		want[p] = body(t, do(t, New(Options{}), "GET", p, nil))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 32 {
		wg.Go(func() {
			for p, w := range want {
				enc := []string{"", "gzip"}[i%2]
				if got := body(t, do(t, h, "GET", p, map[string]string{"Accept-Encoding": enc})); !bytes.Equal(got, w) {
					errs <- p + " with Accept-Encoding " + enc
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("different bytes for %s", e)
	}
}
