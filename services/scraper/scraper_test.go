package scraper_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/fetch"
)

// recorder is a Publisher that keeps what it accepted, in order, and can
// refuse the records of chosen partition keys.
type recorder struct {
	mu     sync.Mutex
	recs   []stream.Record
	refuse func(key string) bool
	calls  int
}

func (p *recorder) Publish(_ context.Context, recs []stream.Record) (stream.Result, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	var res stream.Result
	for i, r := range recs {
		if p.refuse != nil && p.refuse(r.PartitionKey) {
			res.Failed = append(res.Failed, stream.Failure{Index: i, Code: "ProvisionedThroughputExceededException", Message: "refused by the test"})
			continue
		}
		p.recs = append(p.recs, r)
		res.Published++
	}
	return res, nil
}

// decoded returns the accepted events.
func (p *recorder) decoded(t *testing.T) []events.Event {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]events.Event, len(p.recs))
	for i, r := range p.recs {
		e, err := events.Decode(r.Data)
		if err != nil {
			t.Fatalf("record %d does not decode: %v", i, err)
		}
		if e.PartitionKey() != r.PartitionKey {
			t.Errorf("record %d: partition key %q, event subject %q", i, r.PartitionKey, e.Subject)
		}
		out[i] = e
	}
	return out
}

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 11, 27, 4, 20, 0, 0, time.UTC).UnixNano())
	return c
}
func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// env is a scraper wired to an embedded store, a recorder and a sample
// site on httptest.
type env struct {
	site  *httptest.Server
	store *embedded.Store
	svc   *scraper.Service
	pub   *recorder
	clock *clock
	h     http.Handler
}

type envOpts struct {
	cfg    func(*scraper.Config)
	fetch  func(*fetch.Options)
	site   http.Handler
	refuse func(string) bool
	logger *slog.Logger
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	site := o.site
	if site == nil {
		site = samplesite.New(samplesite.Options{Knobs: true})
	}
	e := &env{site: httptest.NewServer(site), pub: &recorder{refuse: o.refuse}, clock: newClock()}
	e.store = embedded.NewMemory(embedded.WithClock(e.clock.Now))
	t.Cleanup(e.site.Close)
	u, _ := url.Parse(e.site.URL)
	cfg := scraper.Config{
		URL:          e.site.URL + samplesite.ChartPageURL(1),
		AllowHosts:   []string{u.Host},
		AllowPrivate: true,
	}
	if o.cfg != nil {
		o.cfg(&cfg)
	}
	fo := fetch.Options{AllowPrivate: cfg.AllowPrivate, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxRetryAfter: 2 * time.Second}
	if o.fetch != nil {
		o.fetch(&fo)
	}
	f, err := fetch.New(fo)
	if err != nil {
		t.Fatal(err)
	}
	e.svc, err = scraper.New(cfg, scraper.Deps{Publisher: e.pub, Store: e.store, Fetcher: f, Now: e.clock.Now, Logger: o.logger})
	if err != nil {
		t.Fatal(err)
	}
	e.h = e.svc.Handler()
	return e
}

type response struct {
	Status     int
	RetryAfter string
	Summary    scraper.Summary
	Error      struct{ Code, Message string }
}

func (e *env) post(t *testing.T, body string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/scrape", strings.NewReader(body))
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	return decodeResponse(t, w.Code, w.Header(), w.Body.Bytes())
}

func decodeResponse(t *testing.T, status int, h http.Header, body []byte) response {
	t.Helper()
	r := response{Status: status, RetryAfter: h.Get("Retry-After")}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, body %s", ct, body)
	}
	var b struct {
		scraper.Summary
		Error *struct{ Code, Message string } `json:"error"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if b.Error != nil {
		r.Error = *b.Error
	} else {
		r.Summary = b.Summary
	}
	return r
}

// wantMovies is what the scraper must publish for the whole chart, built
// from the sample site's own data.
func wantMovies(siteURL string) map[string]events.MovieObserved {
	m := map[string]events.MovieObserved{}
	for _, f := range samplesite.Films() {
		m[f.ID] = events.MovieObserved{
			Title: f.Title, Year: f.Year, Rank: f.Rank,
			Rating:         events.Rating{Value: f.Rating(), Votes: int64(f.Votes)},
			Director:       f.Director(),
			Genres:         f.Genres,
			RuntimeMinutes: f.RuntimeMinutes,
			DetailURL:      siteURL + f.Path(),
		}
	}
	return m
}

// checkRun checks the shape of one run's events: scrape.started first,
// scrape.completed last, movie events between, all of the same run.
func checkRun(t *testing.T, evs []events.Event) (movies map[string]events.MovieObserved, completed events.ScrapeCompleted) {
	t.Helper()
	if len(evs) < 2 {
		t.Fatalf("%d events, want at least scrape.started and scrape.completed", len(evs))
	}
	if evs[0].Type() != events.TypeScrapeStarted || evs[len(evs)-1].Type() != events.TypeScrapeCompleted {
		t.Fatalf("first %s, last %s; want scrape.started first and scrape.completed last", evs[0].Type(), evs[len(evs)-1].Type())
	}
	movies = map[string]events.MovieObserved{}
	for _, e := range evs[1 : len(evs)-1] {
		m, ok := e.Data.(events.MovieObserved)
		if !ok {
			t.Fatalf("event %s between the run events", e.Type())
		}
		if _, dup := movies[e.Subject]; dup {
			t.Errorf("movie %s published twice", e.Subject)
		}
		if e.RunID != evs[0].RunID {
			t.Errorf("movie %s of run %s inside run %s", e.Subject, e.RunID, evs[0].RunID)
		}
		movies[e.Subject] = m
	}
	return movies, evs[len(evs)-1].Data.(events.ScrapeCompleted)
}

func TestScrapeTheSampleSite(t *testing.T) {
	e := newEnv(t, envOpts{})
	got := e.post(t, "")
	want := response{Status: http.StatusAccepted, Summary: scraper.Summary{
		Source: e.site.URL + samplesite.ChartPageURL(1), Trigger: events.TriggerAPI, Published: 250, Pages: 5,
	}}
	ignore := cmpopts.IgnoreFields(scraper.Summary{}, "RunID", "DurationMs")
	if diff := cmp.Diff(want, got, ignore); diff != "" {
		t.Fatalf("POST /scrape (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(got.Summary.RunID, "run-") {
		t.Errorf("run id %q", got.Summary.RunID)
	}
	movies, completed := checkRun(t, e.pub.decoded(t))
	if diff := cmp.Diff(wantMovies(e.site.URL), movies); diff != "" {
		t.Errorf("published movies (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(events.ScrapeCompleted{Published: 250, Pages: 5}, completed, cmpopts.IgnoreFields(events.ScrapeCompleted{}, "DurationMs")); diff != "" {
		t.Errorf("scrape.completed (-want +got):\n%s", diff)
	}

	t.Run("a second scrape within the interval gets 429", func(t *testing.T) {
		e.clock.Advance(20 * time.Second)
		got := e.post(t, "")
		if got.Status != http.StatusTooManyRequests || got.Error.Code != "rate_limited" || got.RetryAfter != "40" {
			t.Errorf("got %+v; want 429 rate_limited with Retry-After 40", got)
		}
	})
	t.Run("after the interval an unchanged page publishes only the run events", func(t *testing.T) {
		e.clock.Advance(time.Minute)
		before := len(e.pub.decoded(t))
		got := e.post(t, "")
		want := response{Status: http.StatusAccepted, Summary: scraper.Summary{Source: e.site.URL + samplesite.ChartPageURL(1), Trigger: events.TriggerAPI, Unchanged: true, Pages: 1}}
		if diff := cmp.Diff(want, got, ignore); diff != "" {
			t.Errorf("POST /scrape (-want +got):\n%s", diff)
		}
		movies, completed := checkRun(t, e.pub.decoded(t)[before:])
		if len(movies) != 0 || !completed.Unchanged {
			t.Errorf("%d movies, completed %+v; want none and unchanged", len(movies), completed)
		}
	})
}

// TestTrigger: a run records what started it, in its run item, its
// scrape.started and its answer; a trigger other than api or schedule is
// refused before anything happens.
func TestTrigger(t *testing.T) {
	for _, tt := range []struct{ name, trigger, want string }{
		{"default", "", events.TriggerAPI},
		{"api", events.TriggerAPI, events.TriggerAPI},
		{"schedule", events.TriggerSchedule, events.TriggerSchedule},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			sum, err := e.svc.Scrape(context.Background(), scraper.Request{Trigger: tt.trigger})
			if err != nil {
				t.Fatal(err)
			}
			evs := e.pub.decoded(t)
			started, ok := evs[0].Data.(events.ScrapeStarted)
			if !ok {
				t.Fatalf("first event %s, want scrape.started", evs[0].Type())
			}
			run, err := e.store.GetRun(context.Background(), sum.RunID)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{sum.Trigger, started.Trigger, run.Trigger}
			if diff := cmp.Diff([]string{tt.want, tt.want, tt.want}, got); diff != "" {
				t.Errorf("trigger of answer, scrape.started, run (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("unknown", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		_, err := e.svc.Scrape(context.Background(), scraper.Request{Trigger: "cron"})
		var he *httpx.Error
		if !errors.As(err, &he) || he.Status != http.StatusBadRequest {
			t.Fatalf("error %v, want a 400", err)
		}
		if n := len(e.pub.decoded(t)); n != 0 {
			t.Errorf("%d events published, want none", n)
		}
	})
}

// TestLeaseIsPerHost: the scrape lease belongs to the host, whatever port
// or spelling a request names, so a second port of the same site (or
// "HOST:80" for "HOST") cannot buy a second scrape within the interval.
func TestLeaseIsPerHost(t *testing.T) {
	other := httptest.NewServer(samplesite.New(samplesite.Options{}))
	t.Cleanup(other.Close)
	ou, _ := url.Parse(other.URL)
	e := newEnv(t, envOpts{cfg: func(c *scraper.Config) { c.AllowHosts = append(c.AllowHosts, ou.Host) }})
	if got := e.post(t, ""); got.Status != http.StatusAccepted {
		t.Fatalf("first scrape: %+v", got)
	}
	got := e.post(t, fmt.Sprintf(`{"url": %q}`, other.URL+samplesite.ChartPageURL(1)))
	if got.Status != http.StatusTooManyRequests || got.Error.Code != "rate_limited" {
		t.Errorf("scrape of %s right after %s: %+v; want 429 rate_limited", other.URL, e.site.URL, got)
	}
}

// TestMalformedPages: the broken chart still yields its usable items; the
// others are counted as skipped, never silently dropped.
func TestMalformedPages(t *testing.T) {
	e := newEnv(t, envOpts{})
	got := e.post(t, fmt.Sprintf(`{"url": %q}`, e.site.URL+samplesite.ChartPageURL(1)+"&malformed=1"))
	if got.Status != http.StatusAccepted || got.Summary.Published != 150 || got.Summary.Skipped != 100 || got.Summary.Pages != 5 {
		t.Fatalf("got %+v; want 202 with 150 published, 100 skipped over 5 pages", got)
	}
	_, completed := checkRun(t, e.pub.decoded(t))
	if completed.Skipped != 100 || completed.Published != 150 {
		t.Errorf("scrape.completed %+v", completed)
	}
}

// TestHostile: each hostile target gets its documented error and nothing is
// published.
func TestHostile(t *testing.T) {
	metadata := http.NewServeMux()
	metadata.HandleFunc("/to-metadata", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	metadata.Handle("/", samplesite.New(samplesite.Options{Knobs: true}))
	tests := []struct {
		name       string
		path       string
		opts       envOpts
		wantStatus int
		wantCode   string
	}{
		{"target 5xx", samplesite.ChartPageURL(1) + "&status=500", envOpts{}, 502, "target_error"},
		{"target 404", "/site/films/nope", envOpts{}, 502, "target_error"},
		{"target keeps answering 429", samplesite.ChartPageURL(1) + "&status=429&retryAfter=3600", envOpts{}, 503, "target_rate_limited"},
		{"target too slow", samplesite.ChartPageURL(1) + "&slow=5s", envOpts{fetch: func(o *fetch.Options) { o.HeaderTimeout = 50 * time.Millisecond; o.MaxAttempts = 2 }}, 502, "target_unreachable"},
		{"page too large", samplesite.ChartPageURL(1) + "&huge=11000000", envOpts{}, 502, "page_too_large"},
		{"not HTML", samplesite.ChartPageURL(1) + "&ctype=application/json", envOpts{}, 502, "not_html"},
		{"too many redirects", samplesite.ChartPageURL(1) + "&redirects=6", envOpts{}, 502, "bad_redirect"},
		{"robots.txt disallows", samplesite.DisallowedPrefix + "chart", envOpts{}, 403, "robots_disallowed"},
		{"loopback without allow-private", samplesite.ChartPageURL(1), envOpts{cfg: func(c *scraper.Config) { c.AllowPrivate = false }}, 403, "target_forbidden"},
		{"redirect to 169.254.169.254", "/to-metadata", envOpts{site: metadata}, 403, "target_forbidden"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			got := e.post(t, fmt.Sprintf(`{"url": %q}`, e.site.URL+tc.path))
			if got.Status != tc.wantStatus || got.Error.Code != tc.wantCode {
				t.Errorf("got %d %q (%s); want %d %q", got.Status, got.Error.Code, got.Error.Message, tc.wantStatus, tc.wantCode)
			}
			if n := len(e.pub.recs); n != 0 {
				t.Errorf("%d records published", n)
			}
			if strings.Contains(got.Error.Message, "dial") || strings.Contains(got.Error.Message, "tcp") {
				t.Errorf("message leaks internals: %q", got.Error.Message)
			}
		})
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t, envOpts{})
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		wantCode                 string
	}{
		{"not JSON", "POST", "/scrape", "url=x", 400, "bad_request"},
		{"unknown field", "POST", "/scrape", `{"url": "` + e.site.URL + `", "depth": 3}`, 400, "bad_request"},
		{"two objects", "POST", "/scrape", `{} {}`, 400, "bad_request"},
		{"url of another host", "POST", "/scrape", `{"url": "https://example.org/chart"}`, 400, "bad_parameter"},
		{"not http", "POST", "/scrape", `{"url": "file:///etc/passwd"}`, 400, "bad_parameter"},
		{"credentials", "POST", "/scrape", `{"url": "http://a:b@` + strings.TrimPrefix(e.site.URL, "http://") + `/"}`, 400, "bad_parameter"},
		{"url null is the default", "POST", "/scrape", `{"url": null}`, 202, ""},
		{"null is not an object", "POST", "/scrape", `null`, 400, "bad_request"},
		{"null with white space", "POST", "/scrape", " \n null\t", 400, "bad_request"},
		{"array", "POST", "/scrape", `[]`, 400, "bad_request"},
		{"string", "POST", "/scrape", `"x"`, 400, "bad_request"},
		{"number", "POST", "/scrape", `1`, 400, "bad_request"},
		{"boolean", "POST", "/scrape", `true`, 400, "bad_request"},
		{"empty body is the default", "POST", "/scrape", "", 202, ""},
		{"white space is the default", "POST", "/scrape", " \r\n\t", 202, ""},
		{"body too large", "POST", "/scrape", `{"url": "` + strings.Repeat("a", 5000) + `"}`, 413, "too_large"},
		{"GET is not allowed", "GET", "/scrape", "", 405, "method_not_allowed"},
		{"unknown path", "POST", "/scrapes", "", 404, "not_found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Advance(time.Hour) // a fresh lease for the one that runs
			w := httptest.NewRecorder()
			e.h.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body)))
			got := decodeResponse(t, w.Code, w.Header(), w.Body.Bytes())
			if got.Status != tc.wantStatus || got.Error.Code != tc.wantCode {
				t.Errorf("got %d %q (%s); want %d %q", got.Status, got.Error.Code, got.Error.Message, tc.wantStatus, tc.wantCode)
			}
		})
	}
}

// failingPage3 is site, but for chart page 3, which answers 500.
func failingPage3(site http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == samplesite.ChartPath && r.URL.Query().Get("page") == "3" {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		site.ServeHTTP(w, r)
	})
}

// TestLaterPageFails: a failure after scrape.started is reported in
// scrape.completed; the events of the pages before it stay published.
func TestLaterPageFails(t *testing.T) {
	e := newEnv(t, envOpts{site: failingPage3(samplesite.New(samplesite.Options{Knobs: true}))})
	got := e.post(t, "")
	if got.Status != http.StatusBadGateway || got.Error.Code != "target_error" || !strings.Contains(got.Error.Message, "run-") {
		t.Fatalf("got %+v; want 502 target_error naming the run", got)
	}
	movies, completed := checkRun(t, e.pub.decoded(t))
	if len(movies) != 100 || completed.Published != 100 || completed.Pages != 2 || !strings.Contains(completed.Error, "status 500") {
		t.Errorf("%d movies, completed %+v; want 100 over 2 pages and the error", len(movies), completed)
	}
	// The run was not clean: the next one must not be answered 304.
	e.clock.Advance(time.Hour)
	if got := e.post(t, ""); got.Summary.Unchanged {
		t.Errorf("after a failed run the page counted as unchanged: %+v", got)
	}
}

// TestPublishFailures: refused events are counted, the run still completes,
// and the page's validators are not stored (so they are sent again).
func TestPublishFailures(t *testing.T) {
	e := newEnv(t, envOpts{refuse: func(key string) bool { return strings.HasPrefix(key, "the-") }})
	got := e.post(t, "")
	if got.Status != http.StatusAccepted || got.Summary.Failed == 0 || got.Summary.Published+got.Summary.Failed != 250 {
		t.Fatalf("got %+v; want 202 with failures counted", got)
	}
	_, completed := checkRun(t, e.pub.decoded(t))
	if completed.Failed != got.Summary.Failed {
		t.Errorf("scrape.completed failed = %d, response %d", completed.Failed, got.Summary.Failed)
	}
	e.clock.Advance(time.Hour)
	if got := e.post(t, ""); got.Summary.Unchanged {
		t.Errorf("after a run with failures the page counted as unchanged: %+v", got)
	}
}

func TestRunEventsRefused(t *testing.T) {
	e := newEnv(t, envOpts{refuse: func(key string) bool { return strings.HasPrefix(key, "run-") }})
	got := e.post(t, "")
	if got.Status != http.StatusServiceUnavailable || got.Error.Code != "stream_unavailable" {
		t.Errorf("got %+v; want 503 stream_unavailable", got)
	}
	if n := len(e.pub.recs); n != 0 {
		t.Errorf("%d records published after scrape.started was refused", n)
	}
}

func TestNewListsEveryProblem(t *testing.T) {
	_, err := scraper.New(scraper.Config{
		URL:               "ftp://x",
		Profile:           `{"name":"p","items":"//li","fields":[{"name":"title","xpath":".","type":"int"}]}`,
		AllowHosts:        []string{"a/b"},
		UserAgent:         "/x",
		Interval:          -time.Second,
		DetailConcurrency: scraper.MaxDetailConcurrency + 1,
		AllowHint:         "line\nbreak",
	}, scraper.Deps{})
	if err == nil {
		t.Fatal("New accepted a bad configuration")
	}
	for _, want := range []string{"SCRAPE_URL", "SCRAPE_ALLOW_HOSTS", "SCRAPE_INTERVAL", "SCRAPE_USER_AGENT", "Publisher", "Store",
		"SCRAPE_DETAIL_CONCURRENCY: 17 not in 1..16", "SCRAPE_ALLOW_HINT: want one line"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	_, err = scraper.New(scraper.Config{
		URL:     "http://example.org/",
		Profile: `{"name":"p","items":"//li","fields":[{"name":"title","xpath":".","type":"int"}]}`,
	}, scraper.Deps{Publisher: &recorder{}, Store: embedded.NewMemory()})
	for _, want := range []string{`field "title": type int, want string`, `field "year": required`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v does not mention %s", err, want)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	env := map[string]string{
		"SCRAPE_URL":           "https://films.example/site/chart",
		"SCRAPE_ALLOW_HOSTS":   " films.example , other.example:8443,",
		"SCRAPE_ALLOW_PRIVATE": "true",
		"SCRAPE_INTERVAL":      "90s",
		"STREAM_NAME":          "events-dev",
		"RUNS_TABLE":           "runs-dev",
	}
	got, err := scraper.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := scraper.Config{
		URL: "https://films.example/site/chart", Profile: "movies",
		AllowHosts: []string{"films.example", "other.example:8443"}, AllowPrivate: true,
		UserAgent: fetch.DefaultUserAgent, Interval: 90 * time.Second, StreamName: "events-dev", RunsTable: "runs-dev",
		AllowHint: scraper.DefaultAllowHint,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadConfig (-want +got):\n%s", diff)
	}

	env["SCRAPE_DETAIL_CONCURRENCY"] = " 4 "
	env["SCRAPE_ALLOW_HINT"] = "pulumi config set --path 'allowHosts[0]' HOST"
	got, err = scraper.LoadConfig(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want.DetailConcurrency, want.AllowHint = 4, "pulumi config set --path 'allowHosts[0]' HOST"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadConfig with detail concurrency and allow hint (-want +got):\n%s", diff)
	}
	for _, tc := range []struct{ value, want string }{
		{"0", "SCRAPE_DETAIL_CONCURRENCY: 0 not in 1..16 (leave it unset for the profile's)"},
		{"17", "SCRAPE_DETAIL_CONCURRENCY: 17 not in 1..16"},
		{"-1", "SCRAPE_DETAIL_CONCURRENCY: -1 not in 1..16"},
		{"eight", `SCRAPE_DETAIL_CONCURRENCY: "eight" is not a whole number (1..16)`},
	} {
		env["SCRAPE_DETAIL_CONCURRENCY"] = tc.value
		if _, err := scraper.LoadConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("SCRAPE_DETAIL_CONCURRENCY=%s: error %v, want %q", tc.value, err, tc.want)
		}
	}
	env["SCRAPE_DETAIL_CONCURRENCY"] = ""
	env["SCRAPE_ALLOW_HINT"] = strings.Repeat("x", 257)
	if _, err := scraper.LoadConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "SCRAPE_ALLOW_HINT: longer than 256 bytes") {
		t.Errorf("a 257-byte hint: error %v", err)
	}

	_, err = scraper.LoadConfig(func(k string) string {
		return map[string]string{"SCRAPE_ALLOW_PRIVATE": "maybe", "SCRAPE_INTERVAL": "soon", "SCRAPE_PROFILE": "nope"}[k]
	})
	for _, want := range []string{"SCRAPE_URL: required", "SCRAPE_ALLOW_PRIVATE", "SCRAPE_INTERVAL", "SCRAPE_PROFILE", "STREAM_NAME: required", "RUNS_TABLE: required"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("LoadConfig error %v does not mention %q", err, want)
		}
	}
}

func TestRoutes(t *testing.T) {
	want := []string{"POST /scrape"}
	var got []string
	for _, r := range contract.ScraperRoutes() {
		got = append(got, r.Key())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Routes (-want +got):\n%s", diff)
	}
}
