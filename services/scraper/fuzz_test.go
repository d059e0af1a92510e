package scraper_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/fetch"
)

// openStore grants every lease and stores nothing, so every accepted body
// reaches the fetcher.
type openStore struct{}

func (openStore) AcquireLease(context.Context, string, string, time.Time, time.Duration) (bool, time.Duration, error) {
	return true, 0, nil
}
func (openStore) PageState(context.Context, string) (store.PageState, error) {
	return store.PageState{}, store.ErrNotFound
}
func (openStore) PutPageState(context.Context, store.PageState) error { return nil }
func (openStore) StartRun(context.Context, store.Run) error           { return nil }

// publishCounter counts its calls; no fuzzed body may get as far as
// the stream (the fetcher fails first).
type publishCounter struct{ calls atomic.Int64 }

func (p *publishCounter) Publish(context.Context, []stream.Record) (stream.Result, error) {
	p.calls.Add(1)
	return stream.Result{}, nil
}

// urlRecorder is a Fetcher that records the URLs it was asked for and
// fails as an unreachable site would.
type urlRecorder struct {
	mu   sync.Mutex
	urls []string
}

func (f *urlRecorder) Fetch(_ context.Context, req fetch.Request) (*fetch.Page, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.urls = append(f.urls, req.URL)
	return nil, &fetch.Error{Kind: fetch.ErrUnreachable, URL: req.URL}
}

// take returns the URLs recorded since the last call.
func (f *urlRecorder) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	urls := f.urls
	f.urls = nil
	return urls
}

// fuzzAllow is the fuzzed service's allow-list: a host on its scheme's
// default port, a host on one port, an IPv6 literal on one port.
var fuzzAllow = []string{"films.test", "other.test:8443", "[::1]:8080"}

// allowedByList is fuzzAllow's meaning written out independently of the
// service's matcher: the host without case, the port made explicit.
func allowedByList(u *url.URL) bool {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	def := map[string]string{"http": "80", "https": "443"}[u.Scheme]
	return (host == "films.test" && port == def) || (host == "other.test" && port == "8443") || (host == "::1" && port == "8080")
}

// FuzzScrapeBody posts random bodies to POST /scrape. A body is either
// rejected with a 4xx JSON error before anything is fetched, or the one
// URL fetched is an absolute http(s) URL without credentials whose host
// and port the allow-list names. Never a 5xx for a body, and a body that
// is not empty and not a JSON object (null, [], "x", 1, true, …) is always
// a 400.
func FuzzScrapeBody(f *testing.F) {
	for _, b := range []string{
		"", "  ", "{}", `{"url": null}`, `{"url": ""}`, "url=x", `{} {}`, `{"url": "x", "depth": 3}`, `{"url": 5}`, `[]`, `"x"`,
		"null", " \n null\t", "1", "true", "false", `[{"url": null}]`, "\ufeff{}",
		`{"url": "http://films.test` + samplesite.ChartPageURL(1) + `"}`, `{"url": "https://FILMS.test:8443/a?b#c"}`,
		`{"url": "https://other.test:8443/"}`, `{"url": "https://other.test/"}`, `{"url": "http://[::1]:8080/"}`,
		`{"url": "https://example.org/chart"}`, `{"url": "file:///etc/passwd"}`, `{"url": "http://a:b@films.test/"}`,
		`{"url": "//films.test/x"}`, `{"url": "http://films.test\u0000.evil/"}`, `{"url": "http://films.test%2eevil/"}`,
		`{"url": "http:films.test"}`, `{"url": "http://films.test:99999/"}`, `{"url": "http://[::1%25eth0]:8080/"}`,
		`{"url": "` + strings.Repeat("a", 5000) + `"}`, `{"url": "http://films.test/` + strings.Repeat("a", 2100) + `"}`,
	} {
		f.Add(b)
	}
	svc, fetcher, pub := newFuzzService(f)
	h := svc.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/scrape", strings.NewReader(body)))
		urls := fetcher.take()
		if n := pub.calls.Load(); n != 0 {
			t.Fatalf("body %q: %d Publish calls; want none (the fetch fails first)", body, n)
		}
		var resp struct {
			Error *struct{ Code, Message string } `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || resp.Error == nil {
			t.Fatalf("status %d, body %q: want a JSON error (%v)", w.Code, w.Body, err)
		}

		if notObject(body) && (w.Code != http.StatusBadRequest || resp.Error.Code != "bad_request") {
			t.Fatalf("body %q is not a JSON object: %d %+v; want 400 bad_request", body, w.Code, *resp.Error)
		}
		if len(urls) == 0 {
			// Rejected: the client's fault, said so.
			if w.Code < 400 || w.Code > 499 || resp.Error.Code == "" || resp.Error.Message == "" {
				t.Fatalf("body %q: %d %+v without a fetch; want a 4xx with a code and a message", body, w.Code, *resp.Error)
			}
			return
		}
		if len(urls) != 1 {
			t.Fatalf("body %q: %d fetches; want one", body, len(urls))
		}
		if w.Code != http.StatusBadGateway || resp.Error.Code != scraper.CodeTargetUnreachable {
			t.Errorf("body %q: %d %+v; want the fetcher's 502 %s", body, w.Code, *resp.Error, scraper.CodeTargetUnreachable)
		}
		// Accepted: the URL the fetcher gets is parsed again there, so the
		// property must hold of the string, not of the service's parse.
		raw := urls[0]
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			t.Fatalf("body %q: fetched %q, which does not parse: %v", body, raw, err)
		case !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil:
			t.Fatalf("body %q: fetched %q: want an absolute http(s) URL with a host and no credentials", body, raw)
		case !allowedByList(u):
			t.Fatalf("body %q: fetched %q, whose host %q is not in the allow-list %q", body, raw, u.Host, fuzzAllow)
		}
	})
}

// notObject reports whether body has something other than JSON white
// space and does not start, after that white space, with "{".
func notObject(body string) bool {
	rest := strings.TrimLeft(body, " \t\r\n")
	return strings.TrimSpace(body) != "" && !strings.HasPrefix(rest, "{")
}

// scheduleKeys are the keys a schedule input may have, spelt exactly.
var scheduleKeys = map[string]bool{"scrape-pipeline": true, "url": true, "scheduledTime": true, "executionId": true}

// FuzzScheduleInput feeds random events to ParseScheduleInput and, when it
// accepts one, to RunSchedule. An accepted input is, read independently
// as generic JSON, one object of our keys only with "scrape-pipeline":
// "schedule", and its JSON parses back to it; a refused one comes back
// empty with an error saying it is the schedule input. A run fetches only
// the configured URL or one whose host the allow-list names.
func FuzzScheduleInput(f *testing.F) {
	for _, b := range []string{
		`{"scrape-pipeline":"schedule"}`, `{"scrape-pipeline":"schedule","url":""}`,
		`{"scrape-pipeline":"schedule","scheduledTime":"2026-11-27T10:00:00Z","executionId":"d32c5kddcf5bb8c3"}`,
		`{"scrape-pipeline":"schedule","scheduledTime":"<aws.scheduler.scheduled-time>","executionId":"<aws.scheduler.execution-id>"}`,
		`{"scrape-pipeline":"schedule","url":"https://other.test:8443/"}`, `{"scrape-pipeline":"schedule","url":"https://example.org/"}`,
		`{"scrape-pipeline":"schedule","URL":"https://example.org/"}`, `{"Scrape-Pipeline":"schedule"}`,
		`{"scrape-pipeline":"schedule","scrape-pipeline":"x"}`, `{"scrape-pipeline":"x","scrape-pipeline":"schedule"}`,
		`{"scrape-pipeline":"schedule","url":"http://a:b@films.test/"}`, `{"scrape-pipeline":"schedule"} x`,
		`{"scrape-pipeline":"schedule","version":"2.0"}`, `{"scrape-pipeline":"sched\u0075le"}`, "null", "[]", "",
	} {
		f.Add(b)
	}
	svc, fetcher, pub := newFuzzService(f)
	f.Fuzz(func(t *testing.T, data string) {
		in, err := scraper.ParseScheduleInput([]byte(data))
		if err != nil {
			if in != (scraper.ScheduleInput{}) || !strings.HasPrefix(err.Error(), "schedule input: ") {
				t.Fatalf("%q: %+v, %v; want an empty input and a schedule input error", data, in, err)
			}
			return
		}
		var generic map[string]any
		if err := json.Unmarshal([]byte(data), &generic); err != nil {
			t.Fatalf("%q accepted, but it is no JSON object: %v", data, err)
		}
		for k := range generic {
			if !scheduleKeys[k] {
				t.Fatalf("%q accepted with key %q", data, k)
			}
		}
		if generic["scrape-pipeline"] != "schedule" {
			t.Fatalf("%q accepted with scrape-pipeline %v", data, generic["scrape-pipeline"])
		}
		again, err := scraper.ParseScheduleInput([]byte(in.JSON()))
		if err != nil || again != in {
			t.Fatalf("%q: %+v does not round-trip through %s: %+v, %v", data, in, in.JSON(), again, err)
		}

		if _, err := svc.RunSchedule(context.Background(), in); err == nil {
			t.Fatalf("%q: a run against a fetcher that always fails went well", data)
		}
		urls := fetcher.take()
		if pub.calls.Load() != 0 || len(urls) > 1 {
			t.Fatalf("%q: %d Publish calls, fetched %q; want none and at most one", data, pub.calls.Load(), urls)
		}
		if len(urls) == 1 && urls[0] != "http://films.test"+samplesite.ChartPageURL(1) {
			u, err := url.Parse(urls[0])
			if err != nil || in.URL == "" || !allowedByList(u) {
				t.Fatalf("%q: fetched %q, neither the configured URL nor an allowed one", data, urls[0])
			}
		}
	})
}

// newFuzzService is a scraper of http://films.test's chart with the fuzz
// allow-list, fetching through a recorder that answers nothing and
// publishing to a counter.
func newFuzzService(f *testing.F) (*scraper.Service, *urlRecorder, *publishCounter) {
	f.Helper()
	fetcher, pub := &urlRecorder{}, &publishCounter{}
	svc, err := scraper.New(scraper.Config{URL: "http://films.test" + samplesite.ChartPageURL(1), AllowHosts: fuzzAllow},
		scraper.Deps{Publisher: pub, Store: openStore{}, Fetcher: fetcher})
	if err != nil {
		f.Fatal(err)
	}
	return svc, fetcher, pub
}
