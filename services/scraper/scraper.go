// Package scraper is the first half of the pipeline: POST /scrape fetches
// the configured page politely (package fetch), extracts items with an
// extraction profile (package profile) and publishes them as versioned
// movie.observed events (libs/events) to the stream.
//
// # Construction
//
// The logic takes its dependencies as small interfaces, so the Lambda
// (cmd/lambda), devstack and the tests share it:
//
//	svc, err := scraper.New(cfg, scraper.Deps{
//		Publisher: stream,        // stream.Publisher: kinesis adapter or devstack's stream
//		Store:     store,         // AcquireLease, PageState, PutPageState, StartRun
//	})
//	mux.Handle("POST /scrape", svc.Handler())
//
// Deps.Fetcher defaults to a fetch.Fetcher built from cfg (UserAgent,
// AllowPrivate); Deps.Now to time.Now; Deps.Logger to a discarding logger.
//
// # A run
//
//  1. Take the host's lease in the runs table (one scrape per host per
//     Config.Interval); held → 429 with Retry-After.
//  2. Fetch the first page, conditionally with the validators stored by the
//     last clean run. A failure here (unreachable, 5xx, robots.txt,
//     address refused, too large, not HTML, an encoding that cannot be
//     decoded) publishes nothing.
//  3. Record the run, publish scrape.started (partition key: the run id).
//  4. On 304, publish scrape.completed{unchanged} and stop. Otherwise, per
//     page: extract, complete items from their detail pages (at most
//     Config.DetailConcurrency, or the profile's detail.concurrency, at
//     once), publish one movie.observed per item (partition key: the
//     movie id), follow the next link up to the profile's page limit.
//     Skipped items (missing required field, bad number, invalid event,
//     duplicate id) are counted and logged with their reason.
//  5. Publish scrape.completed with the counts, and the error if a later
//     page failed. Only a clean run (every event published, no error,
//     some item found) stores the page's validators for the next
//     conditional GET. A run whose profile matched no item on any page
//     says so in Summary.Warning (and its log line): a wrong URL or a
//     profile that does not fit the page is not a quiet "published: 0".
//
// scrape.completed goes out even when the request was cancelled. Under a
// deadline (Lambda's; devstack gives the same), steps 1–4 draw on one
// budget that ends early enough to leave time for recording the run (see
// reserve): every fetch, retry, robots.txt and detail page stops there.
// The items already complete are then published, scrape.completed goes out
// with the counts and what was left ("deadline: page 2: 12 of 50 detail
// pages not fetched"), and the answer (503 naming the run) comes before the
// deadline: a slow site ends the run with its counts and error on the
// stream rather than with a function timeout. Items whose detail page was
// not read in time are skipped, never published without their detail
// fields, and the unfinished run stores no validators, so the next run
// fetches the page again.
//
// POST /scrape answers 202 with the Summary; errors are JSON (libs/httpx)
// with the codes listed at the Code* constants.
//
// # Scheduled runs
//
// The stack's optional schedule (EventBridge Scheduler, stack config
// schedule) invokes the scraper function directly through Scheduler's
// templated Lambda target, which delivers the target's Input as the event,
// exactly as configured (its context attributes such as
// <aws.scheduler.execution-id> filled in). That Input is a ScheduleInput
// (NewScheduleInput(…).JSON()), a JSON object marked by the key
// ScheduleKey, which no event of AWS's carries; the function
// (package lambdaadapter) runs it with RunSchedule and anything it does
// not recognise is an error, never a scrape.
//
// Scheduler invokes the function asynchronously. Its retry policy covers
// delivering the event (throttling, a missing permission); the function's
// own error is retried by Lambda's asynchronous invocation settings (by
// default twice, one and then two minutes later; infra may lower it). So
// RunSchedule returns an error only for a run that failed: a schedule
// firing while the host's lease is held (a scrape ran within
// Config.Interval) is a normal skip, answered without error and not
// retried.
package scraper

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/html"

	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/fetch"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/profile"
)

// Publisher puts records on the stream; stream.Publisher's contract:
// records of one partition key are accepted in order, partial failure is
// reported per record, and the error is non-nil only when nothing could be
// tried (bad configuration, stream missing).
type Publisher interface {
	Publish(ctx context.Context, recs []stream.Record) (stream.Result, error)
}

// Store is the part of the runs table the scraper uses (see store.Store for
// each method's contract).
type Store interface {
	// AcquireLease takes host's scrape lease until now+ttl unless another
	// holder has it; then ok is false and retryAfter says when it frees.
	AcquireLease(ctx context.Context, host, holder string, now time.Time, ttl time.Duration) (ok bool, retryAfter time.Duration, err error)
	// PageState returns the stored conditional-GET state of url, or
	// store.ErrNotFound.
	PageState(ctx context.Context, url string) (store.PageState, error)
	// PutPageState replaces the state of s.URL.
	PutPageState(ctx context.Context, s store.PageState) error
	// StartRun creates the run unless it exists.
	StartRun(ctx context.Context, r store.Run) error
}

// Fetcher fetches pages; *fetch.Fetcher implements it. A page's Body is
// UTF-8, whatever encoding the site used (extraction parses it as such).
// It fails with a *fetch.Error (or the context's error).
type Fetcher interface {
	Fetch(ctx context.Context, req fetch.Request) (*fetch.Page, error)
}

// Deps are the service's adapters.
type Deps struct {
	Publisher Publisher
	Store     Store
	// Fetcher defaults to fetch.New with the Config's UserAgent and
	// AllowPrivate.
	Fetcher Fetcher
	// Now defaults to time.Now.
	Now func() time.Time
	// Logger defaults to a logger that discards.
	Logger *slog.Logger
}

// Service runs scrapes. It is safe for concurrent use.
type Service struct {
	cfg     Config
	target  *url.URL
	profile *profile.Profile
	pub     Publisher
	store   Store
	fetcher Fetcher
	now     func() time.Time
	log     *slog.Logger
}

// New checks cfg (not its Lambda-only StreamName and RunsTable) and the
// profile's fit to movie.observed, listing every problem, and returns the
// service.
func New(cfg Config, deps Deps) (*Service, error) {
	cfg.applyDefaults()
	var errs []error
	if err := cfg.validateService(); err != nil {
		errs = append(errs, err)
	}
	if deps.Publisher == nil {
		errs = append(errs, errors.New("deps: Publisher is required"))
	}
	if deps.Store == nil {
		errs = append(errs, errors.New("deps: Store is required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("scraper: %w", err)
	}
	p, _ := loadProfile(cfg.Profile) // validated above
	if err := checkMovieProfile(p); err != nil {
		return nil, fmt.Errorf("scraper: profile %s: %w", p.Name(), err)
	}
	target, _ := checkTarget(cfg.URL)
	s := &Service{cfg: cfg, target: target, profile: p, pub: deps.Publisher, store: deps.Store,
		fetcher: deps.Fetcher, now: deps.Now, log: deps.Logger}
	if s.fetcher == nil {
		f, err := fetch.New(fetch.Options{UserAgent: cfg.UserAgent, AllowPrivate: cfg.AllowPrivate, AllowAddrs: cfg.AllowAddrs})
		if err != nil {
			return nil, fmt.Errorf("scraper: %w", err)
		}
		s.fetcher = f
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// Summary is the outcome of a run, the body of POST /scrape's 202.
type Summary struct {
	RunID  string `json:"runId"`
	Source string `json:"source"`
	// Trigger is what started the run: "api" or "schedule".
	Trigger string `json:"trigger"`
	// Published and Failed count movie events the stream accepted and
	// refused; Skipped counts items the extraction left out.
	Published int  `json:"published"`
	Failed    int  `json:"failed"`
	Skipped   int  `json:"skipped"`
	Unchanged bool `json:"unchanged"`
	Pages     int  `json:"pages"`
	// DurationMs is the run's wall time.
	DurationMs int64 `json:"durationMs"`
	// Warning, when set, says why a run that went well found nothing
	// worth having: the profile's items expression matched no element on
	// any page (a wrong URL, or a profile that does not fit the site).
	Warning string `json:"warning,omitempty"`
}

// ErrLeaseHeld is in the chain of Scrape's error when another scrape of
// the host ran within Config.Interval (a 429 for POST /scrape).
var ErrLeaseHeld = errors.New("scrape lease held")

// errStream marks a failure to put run events on the stream.
var errStream = errors.New("stream unavailable")

// Request says what to scrape and what asked for it.
type Request struct {
	// URL is the page to scrape; "" is Config.URL. The caller checks a URL
	// against the allow-list.
	URL string
	// Trigger is events.TriggerAPI (the default, when empty) or
	// events.TriggerSchedule; the run records it.
	Trigger string
}

// Scrape runs one scrape. Failures are *httpx.Error for the conditions a
// client must see (a bad URL or trigger, lease held, fetch failures) or
// internal errors; a run that published events and then failed returns its
// Summary along with the error.
func (s *Service) Scrape(ctx context.Context, req Request) (Summary, error) {
	u := s.target
	if req.URL != "" {
		var err error
		if u, err = checkTarget(req.URL); err != nil {
			return Summary{}, httpx.BadParameter("url", err.Error())
		}
	}
	trigger := cmp.Or(req.Trigger, events.TriggerAPI)
	if trigger != events.TriggerAPI && trigger != events.TriggerSchedule {
		return Summary{}, httpx.BadParameter("trigger", fmt.Sprintf("%q is not %q or %q", text.Clip(trigger, maxQuoted), events.TriggerAPI, events.TriggerSchedule))
	}
	began := s.now()
	r := &run{
		svc:     s,
		id:      events.NewRunID(began),
		trigger: trigger,
		source:  u.String(),
		began:   began,
		host:    strings.ToLower(u.Hostname()),
		origin:  origin(u),
		robots:  fetch.NewRobots(),
		seen:    map[string]int{},
		reasons: map[string]int{},
	}
	r.log = s.log.With(slog.String("run_id", r.id), slog.String("source", r.source), slog.String("trigger", trigger))
	sum, err := r.do(ctx)
	sum.DurationMs = s.now().Sub(began).Milliseconds()
	if err != nil {
		r.log.LogAttrs(ctx, slog.LevelWarn, "scrape failed", slog.String("error", err.Error()),
			slog.Int("published", sum.Published), slog.Int("pages", sum.Pages))
		return sum, err
	}
	attrs := []slog.Attr{slog.Int("published", sum.Published), slog.Int("failed", sum.Failed), slog.Int("skipped", sum.Skipped),
		slog.Bool("unchanged", sum.Unchanged), slog.Int("pages", sum.Pages), slog.Any("skip_reasons", r.reasons)}
	level := slog.LevelInfo
	if sum.Warning != "" {
		level, attrs = slog.LevelWarn, append(attrs, slog.String("warning", sum.Warning))
	}
	r.log.LogAttrs(ctx, level, "scrape done", attrs...)
	return sum, nil
}

// run is the state of one scrape.
type run struct {
	svc *Service
	id  string
	// trigger is what started the run (events.TriggerAPI or
	// events.TriggerSchedule).
	trigger string
	source  string
	began   time.Time
	// host is the host name that the scrape lease is taken for, in lower
	// case and without a port: one scrape per host, whatever the scheme
	// or port a request names. origin (see origin) is the host and port
	// that the run stays on.
	host   string
	origin string
	robots *fetch.Robots
	log    *slog.Logger
	sum    Summary
	// seen maps each movie id published in this run to its page.
	seen map[string]int
	// reasons counts skipped items per reason.
	reasons map[string]int
	// matched counts the elements the profile's items expression
	// selected, on every page: items and skipped items.
	matched int
	// first holds the first page's validators.
	first validators
	// workEnd is when the work stops under a deadline (see reserve); zero
	// without one.
	workEnd time.Time
}

type validators struct{ ETag, LastModified string }

// do runs the scrape. Every fetch (robots.txt, retries and detail pages
// included) and every store call runs under ctx less the time reserved
// for recording the run (see reserve): one deadline for all the work. What
// follows the work, whether it finished or was cut, runs in that reserve
// (see tail): publishing the items already complete, then
// scrape.completed and the validators.
func (r *run) do(ctx context.Context) (Summary, error) {
	s := r.svc
	r.sum = Summary{RunID: r.id, Source: r.source, Trigger: r.trigger}
	outer := ctx
	ctx, cancel := reserve(outer)
	defer cancel()
	r.workEnd, _ = ctx.Deadline()
	ok, retryAfter, err := s.store.AcquireLease(ctx, r.host, r.id, r.began, s.cfg.Interval)
	if err != nil {
		return Summary{}, fmt.Errorf("acquire scrape lease of %s: %w", r.host, err)
	}
	if !ok {
		return Summary{}, &httpx.Error{Status: http.StatusTooManyRequests, Code: httpx.CodeRateLimited, RetryAfter: retryAfter,
			Message: fmt.Sprintf("%s was scraped less than %v ago; retry after %s", r.host, s.cfg.Interval, retryAfter.Round(time.Second)),
			Err:     ErrLeaseHeld}
	}

	state, err := s.store.PageState(ctx, r.source)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		// Without validators the fetch is unconditional: slower, not wrong.
		r.log.LogAttrs(ctx, slog.LevelWarn, "page state unavailable", slog.String("error", err.Error()))
	}
	page, err := s.fetcher.Fetch(ctx, fetch.Request{URL: r.source, ETag: state.ETag, LastModified: state.LastModified, Robots: r.robots})
	if err != nil {
		return Summary{}, clientError(stopped(ctx, "page 1 not fetched", err), "")
	}
	r.sum.Pages = 1

	if err := s.store.StartRun(ctx, store.Run{ID: r.id, Source: r.source, StartedAt: r.began, Trigger: r.trigger}); err != nil {
		return Summary{}, fmt.Errorf("start run: %w", err)
	}
	if err := r.publishRun(ctx, events.ScrapeStarted{Profile: s.profile.Name(), Trigger: r.trigger}); err != nil {
		return Summary{}, clientError(err, "")
	}
	if page.NotModified {
		r.sum.Unchanged = true
		final, cancel := r.tail(outer, 9)
		defer cancel()
		if err := r.complete(final, nil); err != nil {
			return r.sum, clientError(err, r.id)
		}
		return r.sum, nil
	}

	var runErr error
	visited := map[string]bool{page.URL: true}
	for n := 1; ; n++ {
		next, err := r.page(ctx, outer, n, page)
		if err != nil {
			runErr = err
			break
		}
		if next == "" || n >= s.profile.MaxPages() {
			break
		}
		if why := r.refuseNext(next, visited); why != "" {
			r.log.LogAttrs(ctx, slog.LevelInfo, "not following next page", slog.String("url", next), slog.String("why", why))
			break
		}
		visited[next] = true
		if page, err = s.fetcher.Fetch(ctx, fetch.Request{URL: next, Robots: r.robots}); err != nil {
			runErr = stopped(ctx, fmt.Sprintf("page %d not fetched", n+1), err)
			break
		}
		r.sum.Pages++
	}
	if r.matched == 0 {
		r.sum.Warning = r.noItems()
	}
	final, cancel := r.tail(outer, 9)
	defer cancel()
	if err := r.complete(final, runErr); err != nil {
		return r.sum, clientError(err, r.id)
	}
	if runErr != nil {
		return r.sum, clientError(runErr, r.id)
	}
	// A run that matched nothing keeps no validators either: the next one
	// (with a corrected profile, say) must read the page again, not be
	// told it is unchanged.
	if r.sum.Failed == 0 && r.matched > 0 {
		r.storeValidators(final)
	}
	return r.sum, nil
}

// noItems is the Summary's warning for a run whose profile matched no
// item element.
func (r *run) noItems() string {
	p := r.svc.profile
	return fmt.Sprintf("the profile %q matched no items on %s: check the URL or the profile's items XPath %s",
		text.Clip(p.Name(), maxQuoted), text.Clip(r.source, maxQuoted), text.Clip(p.Spec().Items, maxQuoted))
}

// tail returns the context of what still has to happen once the work
// finished or was cut short: publishing the items already complete, then
// scrape.completed and the validators. It keeps outer's values but not its
// cancellation (a client that went away must not leave a run recorded by
// halves). Under a deadline it ends tenths/10 of the way from the work's
// end to the deadline, leaving the rest of the reserve to what follows and
// to the answer; without one it ends completeBudget from now.
func (r *run) tail(outer context.Context, tenths int) (context.Context, context.CancelFunc) {
	ctx := context.WithoutCancel(outer)
	end, ok := outer.Deadline()
	if !ok {
		return context.WithTimeout(ctx, completeBudget)
	}
	return context.WithDeadline(ctx, r.workEnd.Add(end.Sub(r.workEnd)*time.Duration(tenths)/10))
}

// stopped says what was left undone when the work's context ended: a
// failure err that came with the end of ctx becomes "deadline: what: …"
// (or "cancelled: …"), still matching ctx's error. Any other err comes
// back as it is.
func stopped(ctx context.Context, what string, err error) error {
	if ctx.Err() == nil {
		return err
	}
	why := "deadline"
	if errors.Is(ctx.Err(), context.Canceled) {
		why = "cancelled"
	}
	return fmt.Errorf("%s: %s: %w", why, what, ctx.Err())
}

// storeValidators keeps the first page's validators for the next run's
// conditional GET.
func (r *run) storeValidators(ctx context.Context) {
	if r.first.ETag == "" && r.first.LastModified == "" {
		return
	}
	st := store.PageState{URL: r.source, ETag: r.first.ETag, LastModified: r.first.LastModified, FetchedAt: r.began}
	if err := r.svc.store.PutPageState(ctx, st); err != nil {
		r.log.LogAttrs(ctx, slog.LevelWarn, "page state not stored", slog.String("error", err.Error()))
	}
}

// refuseNext says why the next link is not followed, or "".
func (r *run) refuseNext(next string, visited map[string]bool) string {
	u, err := url.Parse(next)
	switch {
	case err != nil:
		return "not a URL"
	case origin(u) != r.origin:
		return "another host"
	case visited[next]:
		return "already visited"
	}
	return ""
}

// page extracts one fetched page, completes its items from their detail
// pages under work and publishes those complete (under tail of outer, so
// that a page cut short still gets them out); it returns the next page's
// URL.
// The error is the failure of the stream, or the work cut short; not of
// items.
func (r *run) page(work, outer context.Context, n int, page *fetch.Page) (next string, err error) {
	s := r.svc
	if n == 1 {
		r.first = validators{ETag: page.ETag, LastModified: page.LastModified}
	}
	pageURL, err := url.Parse(page.URL)
	if err != nil {
		return "", fmt.Errorf("page %d: final URL %q: %w", n, page.URL, err)
	}
	doc, err := html.Parse(bytes.NewReader(page.Body))
	if err != nil {
		return "", fmt.Errorf("page %d: parse HTML: %w", n, err)
	}
	ext := s.profile.Extract(doc, pageURL)
	r.matched += len(ext.Items) + len(ext.Skips)
	for _, sk := range ext.Skips {
		r.skip(work, n, sk.Index, sk.Reason)
	}
	items := ext.Items
	var cut error
	if s.profile.HasDetail() {
		items, cut = r.details(work, n, items)
	}
	now := s.now()
	var recs []stream.Record
	for _, it := range items {
		ev, reason := r.event(it, page.URL, now)
		if reason != "" {
			r.skip(work, n, it.Index, reason)
			continue
		}
		data, err := events.Encode(ev)
		if err != nil {
			r.skip(work, n, it.Index, "invalid event: "+err.Error())
			continue
		}
		r.seen[ev.Subject] = n
		recs = append(recs, stream.Record{PartitionKey: ev.PartitionKey(), Data: data})
	}
	pctx, cancel := r.tail(outer, 5)
	defer cancel()
	if err := r.publish(pctx, recs); err != nil {
		return "", err
	}
	if cut != nil {
		return "", cut
	}
	return ext.Next, nil
}

// event builds the movie.observed event of an item; reason says why there
// is none.
func (r *run) event(it profile.Item, source string, now time.Time) (events.Event, string) {
	siteID, reason := r.svc.profile.ID(it)
	if reason != "" {
		return events.Event{}, reason
	}
	m := movie(it)
	id := events.MovieID(siteID, m.Title, m.Year)
	if page, dup := r.seen[id]; dup {
		return events.Event{}, fmt.Sprintf("duplicate of movie %s seen on page %d", id, page)
	}
	return events.NewMovieObserved(r.id, source, now, id, m), ""
}

// details completes items from their detail pages, at most
// Config.DetailConcurrency (or else the profile's concurrency) at a time,
// and returns those not skipped, in page order.
// When ctx ends first, the items whose detail page was not read are
// skipped, required detail fields or not (an observation without fields it
// has would overwrite what is known), and the error says how many.
func (r *run) details(ctx context.Context, n int, items []profile.Item) ([]profile.Item, error) {
	p := r.svc.profile
	reasons := make([]string, len(items))
	missed := make([]bool, len(items)) // not read: ctx ended first
	sem := make(chan struct{}, cmp.Or(r.svc.cfg.DetailConcurrency, p.DetailConcurrency()))
	var wg sync.WaitGroup
	links := 0
	for i := range items {
		link, ok := p.DetailURL(items[i])
		if !ok {
			reasons[i] = p.MissingDetail("no link")
			continue
		}
		if u, err := url.Parse(link); err != nil || origin(u) != r.origin {
			reasons[i] = p.MissingDetail("link to another host")
			continue
		}
		links++
		wg.Go(func() {
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				missed[i] = true
				return
			}
			if ctx.Err() != nil { // both were ready; select picks either
				missed[i] = true
				return
			}
			page, err := r.svc.fetcher.Fetch(ctx, fetch.Request{URL: link, Robots: r.robots})
			if err != nil && ctx.Err() != nil {
				missed[i] = true
				return
			}
			if err != nil {
				reasons[i] = p.MissingDetail(err.Error())
				if reasons[i] == "" {
					r.log.LogAttrs(ctx, slog.LevelInfo, "detail page unavailable", slog.String("url", link), slog.String("error", err.Error()))
				}
				return
			}
			doc, err := html.Parse(bytes.NewReader(page.Body))
			if err != nil {
				reasons[i] = p.MissingDetail(err.Error())
				return
			}
			pageURL, _ := url.Parse(page.URL)
			reasons[i] = p.ExtractDetail(doc, pageURL, &items[i])
		})
	}
	wg.Wait()
	kept := items[:0:0]
	notRead := 0
	for i, it := range items {
		switch {
		case missed[i]:
			notRead++
			r.skip(ctx, n, it.Index, "detail page not fetched: "+ctx.Err().Error())
		case reasons[i] != "":
			r.skip(ctx, n, it.Index, reasons[i])
		default:
			kept = append(kept, it)
		}
	}
	if notRead > 0 {
		return kept, stopped(ctx, fmt.Sprintf("page %d: %d of %d detail pages not fetched", n, notRead, links), ctx.Err())
	}
	return kept, nil
}

func (r *run) skip(ctx context.Context, page, index int, reason string) {
	r.sum.Skipped++
	key := reason
	if i := strings.IndexByte(key, ':'); i > 0 && strings.HasPrefix(key, "field ") {
		key = key[:i] // "field \"rating\"" groups the values that failed
	}
	r.reasons[key]++
	r.log.LogAttrs(ctx, slog.LevelDebug, "item skipped", slog.Int("page", page), slog.Int("index", index), slog.String("reason", reason))
}

// publish puts movie records on the stream and counts the outcome.
func (r *run) publish(ctx context.Context, recs []stream.Record) error {
	if len(recs) == 0 {
		return nil
	}
	res, err := r.svc.pub.Publish(ctx, recs)
	r.sum.Published += res.Published
	r.sum.Failed += len(res.Failed)
	for _, f := range res.Failed {
		r.log.LogAttrs(ctx, slog.LevelWarn, "event not published", slog.String("partition_key", recs[f.Index].PartitionKey),
			slog.String("code", f.Code), slog.String("message", f.Message))
	}
	if err != nil {
		return fmt.Errorf("%w: publish: %w", errStream, err)
	}
	return nil
}

// publishRun publishes a run event, which must be accepted.
func (r *run) publishRun(ctx context.Context, d events.Data) error {
	ev := events.NewRunEvent(r.id, r.source, r.svc.now(), d)
	data, err := events.Encode(ev)
	if err != nil {
		return fmt.Errorf("encode %s: %w", d.EventType(), err)
	}
	res, err := r.svc.pub.Publish(ctx, []stream.Record{{PartitionKey: ev.PartitionKey(), Data: data}})
	switch {
	case err != nil:
		return fmt.Errorf("%w: publish %s: %w", errStream, d.EventType(), err)
	case len(res.Failed) > 0:
		return fmt.Errorf("%w: publish %s: %s: %s", errStream, d.EventType(), res.Failed[0].Code, res.Failed[0].Message)
	}
	return nil
}

// complete publishes scrape.completed with the run's counts and error,
// under ctx (see tail) and within completeBudget.
func (r *run) complete(ctx context.Context, runErr error) error {
	d := events.ScrapeCompleted{
		Published:  r.sum.Published,
		Failed:     r.sum.Failed,
		Skipped:    r.sum.Skipped,
		Unchanged:  r.sum.Unchanged,
		Pages:      r.sum.Pages,
		DurationMs: r.svc.now().Sub(r.began).Milliseconds(),
	}
	if runErr != nil {
		d.Error = text.Clip(strings.TrimSpace(runErr.Error()), events.MaxErrorLen-len(text.Ellipsis)) // the event allows MaxErrorLen
	}
	// The run's outcome must reach the stream even if ctx was cancelled
	// (a client that went away), but never after ctx's deadline: past it
	// Lambda freezes or ends the function mid-call.
	stop := time.Now().Add(completeBudget)
	if dl, ok := ctx.Deadline(); ok && dl.Before(stop) {
		stop = dl
	}
	ctx, cancel := context.WithDeadline(context.WithoutCancel(ctx), stop)
	defer cancel()
	return r.publishRun(ctx, d)
}

// completeBudget is the time reserved for publishing scrape.completed: the
// most it may take, and what reserve keeps back from a deadline.
const completeBudget = 5 * time.Second

// reserve returns the context the run's work goes under. When ctx has a
// deadline (Lambda's), the work stops completeBudget before it, or halfway
// to it when less than twice the budget is left, so that publishing
// scrape.completed still fits before the deadline. Without a deadline the
// work gets ctx as it is.
func reserve(ctx context.Context) (context.Context, context.CancelFunc) {
	dl, ok := ctx.Deadline()
	if !ok {
		return context.WithCancel(ctx)
	}
	keep := min(completeBudget, time.Until(dl)/2)
	return context.WithDeadline(ctx, dl.Add(-max(keep, 0)))
}
