package scraper_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/fetch"
)

// siteFetcher serves the sample site in process; fetches of URLs that
// hang selects wait for the context to end, like a site that stopped
// answering.
type siteFetcher struct {
	site    http.Handler
	hang    func(url string) bool
	hanging chan struct{} // closed on the first hanging fetch
	once    sync.Once
}

func (f *siteFetcher) Fetch(ctx context.Context, req fetch.Request) (*fetch.Page, error) {
	if f.hang(req.URL) {
		f.once.Do(func() { close(f.hanging) })
		<-ctx.Done()
		return nil, ctx.Err()
	}
	w := httptest.NewRecorder()
	f.site.ServeHTTP(w, httptest.NewRequest(http.MethodGet, req.URL, nil))
	if w.Code != http.StatusOK {
		return nil, &fetch.Error{Kind: fetch.ErrStatus, URL: req.URL, Status: w.Code}
	}
	return &fetch.Page{URL: req.URL, Status: w.Code, ContentType: w.Header().Get("Content-Type"), Body: w.Body.Bytes(), Attempts: 1}, nil
}

// published is one Publish call as the publisher saw it.
type published struct {
	recs        []stream.Record
	at          time.Time
	deadline    time.Time
	hasDeadline bool
	ctxErr      error
}

// ctxRecorder is a Publisher that accepts everything and keeps, per call,
// when it came and what its context looked like.
type ctxRecorder struct {
	mu    sync.Mutex
	calls []published
}

func (p *ctxRecorder) Publish(ctx context.Context, recs []stream.Record) (stream.Result, error) {
	dl, ok := ctx.Deadline()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, published{recs: recs, at: time.Now(), deadline: dl, hasDeadline: ok, ctxErr: ctx.Err()})
	return stream.Result{Published: len(recs)}, nil
}

// completed returns the call that published scrape.completed.
func (p *ctxRecorder) completed(t *testing.T) (published, events.ScrapeCompleted) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.calls {
		for _, r := range c.recs {
			e, err := events.Decode(r.Data)
			if err != nil {
				t.Fatalf("record does not decode: %v", err)
			}
			if d, ok := e.Data.(events.ScrapeCompleted); ok {
				return c, d
			}
		}
	}
	t.Fatalf("scrape.completed not published (%d calls)", len(p.calls))
	return published{}, events.ScrapeCompleted{}
}

// newHangingService scrapes the in-process sample site, whose second
// chart page never answers.
func newHangingService(t *testing.T) (*scraper.Service, *ctxRecorder, *siteFetcher) {
	t.Helper()
	const base = "http://films.test"
	f := &siteFetcher{
		site:    samplesite.New(samplesite.Options{}),
		hang:    func(u string) bool { return u == base+samplesite.ChartPageURL(2) },
		hanging: make(chan struct{}),
	}
	pub := &ctxRecorder{}
	svc, err := scraper.New(scraper.Config{URL: base + samplesite.ChartPageURL(1)},
		scraper.Deps{Publisher: pub, Store: embedded.NewMemory(), Fetcher: f})
	if err != nil {
		t.Fatal(err)
	}
	return svc, pub, f
}

// TestCompletedFitsTheDeadline: a site that stops answering must not use
// up the function's time; the scrape stops early enough for
// scrape.completed, with the counts so far and the error, to be published
// before the deadline.
func TestCompletedFitsTheDeadline(t *testing.T) {
	t.Parallel() // mostly waiting for the deadline: beside the other waits
	svc, pub, _ := newHangingService(t)
	deadline := time.Now().Add(3 * time.Second)
	ctx, cancel := context.WithDeadline(t.Context(), deadline)
	defer cancel()

	sum, err := svc.Scrape(ctx, scraper.Request{})
	returned := time.Now()

	var he *httpx.Error
	if !errors.As(err, &he) || he.Status != http.StatusServiceUnavailable || !strings.Contains(he.Message, sum.RunID) {
		t.Errorf("Scrape error %v; want a 503 naming run %s", err, sum.RunID)
	}
	if !returned.Before(deadline) {
		t.Errorf("Scrape returned %v after the deadline", returned.Sub(deadline))
	}
	call, completed := pub.completed(t)
	if call.ctxErr != nil || !call.at.Before(deadline) {
		t.Errorf("scrape.completed published at deadline%+v with context error %v; want before the deadline, context live",
			call.at.Sub(deadline), call.ctxErr)
	}
	if !call.hasDeadline || call.deadline.After(deadline) {
		t.Errorf("scrape.completed published under deadline %v (set: %v); want one no later than the function's %v",
			call.deadline, call.hasDeadline, deadline)
	}
	if completed.Pages != 1 || completed.Published != sum.Published || sum.Published == 0 ||
		!strings.Contains(completed.Error, context.DeadlineExceeded.Error()) {
		t.Errorf("scrape.completed %+v, summary %+v; want page 1's events counted and the deadline as the error", completed, sum)
	}
}

// TestCompletedAfterCancel: without a deadline, a cancelled request (the
// client went away) still gets its scrape.completed out, within
// completeBudget.
func TestCompletedAfterCancel(t *testing.T) {
	svc, pub, f := newHangingService(t)
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-f.hanging
		cancel()
	}()
	before := time.Now()
	if _, err := svc.Scrape(ctx, scraper.Request{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Scrape error %v; want context.Canceled", err)
	}
	call, completed := pub.completed(t)
	if call.ctxErr != nil {
		t.Errorf("scrape.completed published under an ended context: %v", call.ctxErr)
	}
	if !call.hasDeadline || call.deadline.After(time.Now().Add(5*time.Second)) || call.deadline.Before(before) {
		t.Errorf("scrape.completed context deadline %v (set: %v); want one within 5s", call.deadline, call.hasDeadline)
	}
	if !strings.Contains(completed.Error, context.Canceled.Error()) {
		t.Errorf("scrape.completed error %q; want the cancellation", completed.Error)
	}
}
