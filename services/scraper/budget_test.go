package scraper_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	pipelineevents "github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/fetch"
)

// hostileSite serves two chart pages of 16 films each in the markup of the
// movies profile, with their detail pages. Its knobs make chart page
// dripPage drip its body a byte at a time for a minute, and the detail
// pages of chart page stallPage keep their headers back for 12 s: the
// attacks that once kept a scrape running for 90 s and 61 s.
type hostileSite struct {
	dripPage, stallPage int
}

const hostileFilms = 16

func (h hostileSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var page int
	switch {
	case r.URL.Path == "/chart":
		fmt.Sscan(r.URL.Query().Get("page"), &page)
	case strings.HasPrefix(r.URL.Path, "/film/"):
		fmt.Sscanf(r.URL.Path, "/film/p%d-", &page)
		if page == h.stallPage {
			select {
			case <-time.After(12 * time.Second):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><body><dl><dd class="director">Jane Doe</dd><dd class="runtime" data-minutes="101">1 h 41 min</dd></dl></body></html>`)
		return
	default:
		http.NotFound(w, r)
		return
	}
	if page < 1 || page > 2 {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("ETag", fmt.Sprintf(`"chart-%d"`, page))
	var b strings.Builder
	b.WriteString("<html><head>")
	if page == 1 {
		b.WriteString(`<link rel="next" href="/chart?page=2">`)
	}
	b.WriteString(`</head><body><ol class="chart-list">`)
	for i := 1; i <= hostileFilms; i++ {
		rank := (page-1)*hostileFilms + i
		fmt.Fprintf(&b, `<li class="chart-item" data-film-id="p%d-f%d" data-rank="%d"><a class="film-link" href="/film/p%d-f%d">Film %d</a>`+
			`<span class="year">2001</span><span class="rating-value">8.%d</span></li>`, page, i, rank, page, i, rank, i%10)
	}
	b.WriteString("</ol></body></html>")
	if page != h.dripPage {
		fmt.Fprint(w, b.String())
		return
	}
	fl := w.(http.Flusher)
	for i := 0; i < 600; i++ { // 60 s of a byte every 100 ms
		w.Write([]byte(b.String()[i : i+1]))
		fl.Flush()
		select {
		case <-time.After(100 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
}

// livePublisher keeps what it accepted and, like the stream adapters, takes
// nothing under a context that has ended.
type livePublisher struct{ recorder }

func (p *livePublisher) Publish(ctx context.Context, recs []stream.Record) (stream.Result, error) {
	if err := ctx.Err(); err != nil {
		return stream.Result{}, fmt.Errorf("put records: %w", err)
	}
	return p.recorder.Publish(ctx, recs)
}

// invokeWithTimeout posts to POST /scrape through the API Gateway adapter
// as the Lambda runtime invokes the function: with a context whose
// deadline is the function's timeout from now.
func invokeWithTimeout(t *testing.T, h http.Handler, timeout time.Duration) (response, time.Duration) {
	t.Helper()
	began := time.Now()
	ctx, cancel := context.WithDeadline(t.Context(), began.Add(timeout))
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	resp, err := httpx.LambdaV2(h)(ctx, events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "POST /scrape", RawPath: "/scrape",
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/scrape"}},
	})
	took := time.Since(began)
	if err != nil {
		t.Fatal(err)
	}
	hdr := http.Header{}
	for k, v := range resp.Headers {
		hdr.Set(k, v)
	}
	return decodeResponse(t, resp.StatusCode, hdr, []byte(resp.Body)), took
}

// TestScrapeKeepsItsDeadline: whatever the site does, a scrape answers
// before the function's deadline, records its run with what it published
// and why it stopped, publishes no film without its detail fields, and
// keeps no validators of the unfinished run (so the next run is not
// answered 304 and fetches what this one missed).
func TestScrapeKeepsItsDeadline(t *testing.T) {
	t.Parallel() // mostly waiting for the deadline: beside the other waits
	const timeout = 3 * time.Second
	tests := []struct {
		name          string
		site          hostileSite
		wantStatus    int
		wantRun       bool
		wantCompleted pipelineevents.ScrapeCompleted
		wantError     []string
	}{
		{
			name: "a first page that drips", site: hostileSite{dripPage: 1},
			wantStatus: http.StatusServiceUnavailable,
		},
		{
			name: "a second page that drips", site: hostileSite{dripPage: 2},
			wantStatus: http.StatusServiceUnavailable, wantRun: true,
			wantCompleted: pipelineevents.ScrapeCompleted{Published: hostileFilms, Pages: 1},
			wantError:     []string{"deadline: page 2 not fetched", context.DeadlineExceeded.Error()},
		},
		{
			name: "detail pages that stall", site: hostileSite{stallPage: 2},
			wantStatus: http.StatusServiceUnavailable, wantRun: true,
			wantCompleted: pipelineevents.ScrapeCompleted{Published: hostileFilms, Skipped: hostileFilms, Pages: 2},
			wantError:     []string{fmt.Sprintf("deadline: page 2: %d of %d detail pages not fetched", hostileFilms, hostileFilms), context.DeadlineExceeded.Error()},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			site := httptest.NewServer(tc.site)
			t.Cleanup(site.Close)
			pub := &livePublisher{}
			st := embedded.NewMemory()
			f, err := fetch.New(fetch.Options{AllowPrivate: true})
			if err != nil {
				t.Fatal(err)
			}
			svc, err := scraper.New(scraper.Config{URL: site.URL + "/chart?page=1", AllowPrivate: true},
				scraper.Deps{Publisher: pub, Store: st, Fetcher: f})
			if err != nil {
				t.Fatal(err)
			}

			got, took := invokeWithTimeout(t, svc.Handler(), timeout)
			if took >= timeout {
				t.Errorf("answered after %v; want before the function's %v timeout", took.Round(time.Millisecond), timeout)
			}
			if got.Status != tc.wantStatus || got.Error.Code != httpx.CodeUnavailable {
				t.Errorf("got %d %q (%s); want %d %s", got.Status, got.Error.Code, got.Error.Message, tc.wantStatus, httpx.CodeUnavailable)
			}
			evs := pub.decoded(t)
			if !tc.wantRun {
				if len(evs) != 0 {
					t.Errorf("%d events published; want none", len(evs))
				}
				return
			}
			movies, completed := checkRun(t, evs)
			if left := strings.TrimPrefix(tc.wantError[0], "deadline: "); !strings.Contains(got.Error.Message, evs[0].RunID) || !strings.Contains(got.Error.Message, left) {
				t.Errorf("message %q does not name run %s and say %q", got.Error.Message, evs[0].RunID, left)
			}
			for _, want := range tc.wantError {
				if !strings.Contains(completed.Error, want) {
					t.Errorf("scrape.completed error %q does not say %q", completed.Error, want)
				}
			}
			completed.Error, completed.DurationMs = "", 0
			if completed != tc.wantCompleted {
				t.Errorf("scrape.completed %+v; want %+v", completed, tc.wantCompleted)
			}
			for id, m := range movies {
				if m.Director == "" || m.RuntimeMinutes == 0 {
					t.Errorf("movie %s published without its detail fields: %+v", id, m)
				}
			}
			if ps, err := st.PageState(t.Context(), site.URL+"/chart?page=1"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("page state %+v, %v stored for an unfinished run; want none", ps, err)
			}
		})
	}
}

// TestLambdaDeadlineArrives: the function's deadline reaches the handler's
// request context through the API Gateway adapter, which is what lets a
// scrape keep it.
func TestLambdaDeadlineArrives(t *testing.T) {
	want := time.Now().Add(7 * time.Second).Truncate(time.Millisecond)
	var got time.Time
	var ok bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok = r.Context().Deadline()
		httpx.WriteJSON(w, http.StatusAccepted, json.RawMessage(`{}`))
	})
	ctx, cancel := context.WithDeadline(t.Context(), want)
	defer cancel()
	if _, err := httpx.LambdaV2(h)(ctx, events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/scrape",
		RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "POST", Path: "/scrape"}}}); err != nil {
		t.Fatal(err)
	}
	if !ok || !got.Equal(want) {
		t.Errorf("handler deadline %v (set: %v); want the invocation's %v", got, ok, want)
	}
}
