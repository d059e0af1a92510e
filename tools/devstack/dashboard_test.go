package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/services/query/ui"
)

// The dashboard in a real browser: headless Chromium driven over the
// DevTools protocol (chromedp), against a devstack in this process. One
// browser serves the whole test binary (each test opens its own tab).

// browserInstallHint is how to get the browser the tests drive.
const browserInstallHint = "apt-get install -y chromium"

// staticRef finds the static files a page loads.
var staticRef = regexp.MustCompile(`(?:href|src)="(/ui/static/[^"]+)"`)

// xss is outside text that would run script if it were written as markup.
const xss = `<img src=x onerror=alert(1)>`

var shared struct {
	once   sync.Once
	ctx    context.Context // the browser; tabs are contexts made from it
	cancel func()
	err    error
	dir    string
}

// chromiumPath finds Chromium (CHROMIUM overrides the search).
func chromiumPath() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", errors.New("no chromium, chromium-browser or google-chrome on PATH")
}

// browser returns a new tab of the shared headless Chromium, closed when
// the test ends or after timeout. Without Chromium the test skips with the
// command that installs it, or fails under CI.
func browser(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	shared.once.Do(func() {
		path, err := chromiumPath()
		if err != nil {
			shared.err = err
			return
		}
		if shared.dir, err = os.MkdirTemp("", "devstack-chromium-"); err != nil {
			shared.err = err
			return
		}
		// This machine's network is closed: Chromium's own background
		// connections (QUIC, component updates, sync) would only fail and
		// log. As root it runs without its sandbox.
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
			chromedp.Flag("disable-quic", true), chromedp.NoFirstRun, chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
			chromedp.UserDataDir(shared.dir), chromedp.WindowSize(1280, 900))
		alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancelCtx := chromedp.NewContext(alloc)
		if err := chromedp.Do(ctx); err != nil { // starts the browser, without a timeout
			cancelCtx()
			cancelAlloc()
			shared.err = fmt.Errorf("start %s: %w", path, err)
			return
		}
		shared.ctx = ctx
		shared.cancel = func() { cancelCtx(); cancelAlloc() }
	})
	if shared.err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("headless Chromium: %v (install it: %s)", shared.err, browserInstallHint)
		}
		t.Skipf("headless Chromium: %v; install it to run the browser tests: %s", shared.err, browserInstallHint)
	}
	limited, cancelTimeout := context.WithTimeout(shared.ctx, timeout)
	tab, cancelTab := chromedp.NewContext(limited)
	t.Cleanup(func() { cancelTab(); cancelTimeout() })
	return tab
}

// closeBrowser ends the shared browser (TestMain, after the tests).
func closeBrowser() {
	if shared.cancel != nil {
		shared.cancel()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}

// artifacts is the directory of the test's screenshots: TEST_ARTIFACTS, or
// a directory under os.TempDir.
func artifacts(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "scrape-pipeline-artifacts")
	}
	dir = filepath.Join(dir, "dashboard")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// pageWatch records, for a tab, what must not happen on any page: console
// errors and warnings, uncaught exceptions, browser log errors (a CSP
// violation, a failed request), and dialogs (which it dismisses); and the
// headers of every document.
type pageWatch struct {
	mu       sync.Mutex
	problems []string
	dialogs  []string
	docs     map[string]network.Headers // URL → response headers
}

func watchPage(t testing.TB, ctx context.Context) *pageWatch {
	t.Helper()
	w := &pageWatch{docs: map[string]network.Headers{}}
	err := chromedp.Listen(ctx, func(ev any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeWarning || ev.Type == runtime.ConsoleAPICalledTypeAssert {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				w.problems = append(w.problems, fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " ")))
			}
		case *runtime.EventExceptionThrown:
			w.problems = append(w.problems, "exception: "+(&chromedp.ExceptionError{ExceptionDetails: ev.ExceptionDetails}).Error())
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError || ev.Entry.Level == cdplog.EntryLevelWarning {
				w.problems = append(w.problems, fmt.Sprintf("log %s (%s): %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL))
			}
		case *page.EventJavascriptDialogOpening:
			w.dialogs = append(w.dialogs, string(ev.Type)+": "+ev.Message)
			// Dismiss it from another goroutine (Listen's func must not
			// call the browser); the test fails on w.dialogs.
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false}) //nolint:errcheck
		case *network.EventResponseReceived:
			if ev.Type == network.ResourceTypeDocument {
				w.docs[ev.Response.URL] = ev.Response.Headers
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// Runtime and Page events come without asking; the log (CSP
	// violations, failed requests) and the network need enabling.
	if _, err := chromedp.Call(ctx, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	return w
}

// check fails the test for anything recorded so far, and forgets it.
func (w *pageWatch) check(t testing.TB, where string) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, p := range w.problems {
		t.Errorf("%s: %s", where, p)
	}
	for _, d := range w.dialogs {
		t.Errorf("%s: a dialog opened: %s", where, d)
	}
	w.problems, w.dialogs = nil, nil
}

// selfTest checks that the watch sees what it must catch, on a dashboard
// page: a console error, a script the CSP refuses, and a dialog.
func (w *pageWatch) selfTest(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	do(t, ctx, "self-test", chromedp.Navigate(base+"/ui/runs"))
	eval[chromedp.Void](t, ctx, `console.error('self-test');
		const s = document.createElement('script'); s.textContent = 'window.__ran = 1'; document.body.append(s);
		setTimeout(() => alert('self-test'), 0); undefined`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		w.mu.Lock()
		all := strings.Join(w.problems, "\n")
		dialogs := len(w.dialogs)
		w.mu.Unlock()
		console, csp := strings.Contains(all, "console.error"), strings.Contains(all, "Content Security Policy")
		if console && csp && dialogs > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the page watch missed a console error (%v), a CSP violation (%v) or a dialog (%d): %s", console, csp, dialogs, all)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if eval[bool](t, ctx, `window.__ran === 1`) {
		t.Error("an inline script ran: the CSP did not hold")
	}
	w.mu.Lock()
	w.problems, w.dialogs = nil, nil
	w.mu.Unlock()
}

func (w *pageWatch) headers(url string) network.Headers {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.docs[url]
}

// screenshot writes the whole page to dir/name.png.
func screenshot(t testing.TB, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Error(err)
	}
}

// eval runs a JavaScript expression on the tab and returns its value.
func eval[T any](t testing.TB, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %.60q: %v", expr, err)
	}
	return v
}

// do runs actions on the tab.
func do(t testing.TB, ctx context.Context, where string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", where, err)
	}
}

func TestDashboardInBrowser(t *testing.T) {
	t.Parallel() // mostly waiting on Chromium and the stack
	ctx := browser(t, 60*time.Second)
	cfg := testConfig(t.TempDir())
	cfg.ScrapeInterval = time.Hour
	st := startStack(t, cfg)
	base := st.APIURL()
	dir := artifacts(t)
	t.Logf("screenshots in %s", dir)
	w := watchPage(t, ctx)
	do(t, ctx, "viewport", chromedp.EmulateViewport(1280, 900))
	w.selfTest(t, ctx, base)

	var runID string
	t.Run("overview follows a run from running to completed without a reload", func(t *testing.T) {
		do(t, ctx, "overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible("#scrape button"))
		// Record every status the runs table shows, and mark the page: a
		// reload would lose both.
		eval[chromedp.Void](t, ctx, `window.__marker = 'same page'; window.__statuses = [];
			new MutationObserver(() => {
				for (const tr of document.querySelectorAll('#runs tr[data-run]')) {
					const s = tr.dataset.run + ' ' + tr.dataset.status;
					if (tr.dataset.run && !window.__statuses.includes(s)) window.__statuses.push(s);
				}
			}).observe(document.getElementById('runs'), {subtree: true, childList: true, attributes: true, characterData: true});
			undefined`)
		do(t, ctx, "start a scrape", chromedp.Click("#scrape button"), chromedp.WaitVisible(`#runs tr[data-status="completed"]`))
		runID = eval[string](t, ctx, `document.querySelector('#runs tbody tr').dataset.run`)
		statuses := eval[[]string](t, ctx, `window.__statuses`)
		if marker := eval[string](t, ctx, `window.__marker || ''`); !strings.HasPrefix(runID, "run-") || marker != "same page" {
			t.Fatalf("run %q, page marker %q: the run is not on the page, or the page reloaded", runID, marker)
		}
		running, completed := slices.Index(statuses, runID+" running"), slices.Index(statuses, runID+" completed")
		if running < 0 || completed < running {
			t.Errorf("statuses seen %q, want %s running, then completed", statuses, runID)
		}
		processed := eval[string](t, ctx, `document.querySelector('#runs tbody tr [data-f="processed"]').textContent`)
		msg := eval[string](t, ctx, `document.getElementById('scrape-msg').textContent`)
		if processed != "250" || !strings.Contains(msg, runID) {
			t.Errorf("processed %q, message %q", processed, msg)
		}
		totals := eval[string](t, ctx, `document.getElementById('totals').innerText.replace(/\s+/g, ' ')`)
		if !strings.Contains(totals, "Films 250 in the latest completed run") || !strings.Contains(totals, "Runs 1 0 in flight") {
			t.Errorf("totals after the run: %q", totals)
		}
		// devstack's stream panel follows the records through the shards
		// (from /_devstack/status): a latest sequence number on a shard.
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`[...document.querySelectorAll('#shards td .mono')].some(e => /\d/.test(e.textContent))`,
			chromedp.WithPollingTimeout(10*time.Second))); err != nil {
			t.Errorf("the stream panel shows no sequence number: %v", err)
		}
		w.check(t, "/")
		screenshot(t, ctx, dir, "overview")
	})
	t.Run("a run started elsewhere appears without a reload", func(t *testing.T) {
		// Still the overview of the subtest before, with its marker. A
		// scheduled run's events reach the stream as a schedule's would;
		// the page was not told about it.
		other := "run-20261201-120000-5c4ed01e"
		at := time.Now().UTC()
		c := client{t, base}
		for _, e := range []events.Event{
			events.NewRunEvent(other, "http://example.org/chart", at, events.ScrapeStarted{Profile: "movies", Trigger: events.TriggerSchedule}),
			events.NewRunEvent(other, "http://example.org/chart", at.Add(time.Second), events.ScrapeCompleted{Unchanged: true, Pages: 1, DurationMs: 1000}),
		} {
			b, err := events.Encode(e)
			if err != nil {
				t.Fatal(err)
			}
			if status, _, body := c.do("POST", "/_devstack/records", map[string]string{"partitionKey": other, "data": string(b)}); status != http.StatusCreated {
				t.Fatalf("POST /_devstack/records = %d %s", status, body)
			}
		}
		do(t, ctx, "the run appears", chromedp.WaitVisible(`#runs tbody tr[data-run="`+other+`"][data-status="unchanged"]`))
		if marker := eval[string](t, ctx, `window.__marker || ''`); marker != "same page" {
			t.Fatalf("page marker %q: the page reloaded", marker)
		}
		rows := eval[[]string](t, ctx, `[...document.querySelectorAll('#runs tbody tr[data-run]')].map(tr => tr.dataset.run + ' ' + tr.querySelector('[data-f="trigger"]').textContent)`)
		if diff := cmp.Diff([]string{other + " schedule", runID + " api"}, rows); diff != "" {
			t.Errorf("runs table, newest first (-want +got):\n%s", diff)
		}
	})
	if runID == "" {
		t.FailNow()
	}

	t.Run("films page through all 250", func(t *testing.T) {
		seen := map[string]bool{}
		do(t, ctx, "films", chromedp.Navigate(base+"/ui/movies"))
		for pages := 1; ; pages++ {
			do(t, ctx, "films page", chromedp.WaitVisible(`table.movies`))
			hrefs := eval[[]string](t, ctx, `[...document.querySelectorAll('table.movies tbody th a')].map(a => a.getAttribute('href'))`)
			ranks := eval[[]int](t, ctx, `[...document.querySelectorAll('table.movies tbody tr td:first-child')].map(td => parseInt(td.textContent, 10) || 1e9)`)
			if !slices.IsSorted(ranks) {
				t.Errorf("page %d not sorted by rank: %v", pages, ranks)
			}
			for _, h := range hrefs {
				if seen[h] {
					t.Errorf("%s on two pages", h)
				}
				seen[h] = true
			}
			if pages == 1 {
				screenshot(t, ctx, dir, "movies")
			}
			// Follow the page's own next link.
			next := eval[string](t, ctx, `(document.querySelector('a[rel="next"]') || {href: ''}).href`)
			if next == "" {
				break
			}
			if pages > 10 {
				t.Fatal("more than 10 pages of films")
			}
			do(t, ctx, "next page", chromedp.Navigate(next))
		}
		if len(seen) != 250 {
			t.Errorf("%d films over the pages, want 250", len(seen))
		}
		w.check(t, "/ui/movies")
	})

	t.Run("a film's charts draw one point per change point", func(t *testing.T) {
		const id = "the-godfather-1972"
		// More history than one scrape gives: observations as later runs
		// would record them.
		bg := context.Background()
		m, err := st.tables.GetMovie(bg, id)
		if err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 4; i++ {
			if err := st.tables.RecordObservation(bg, store.Observation{MovieID: id, ObservedAt: m.LastSeen.Add(-time.Duration(i) * time.Hour),
				EventID: fmt.Sprintf("evt-browser-%d", i), RunID: runID, Rank: m.Rank + i%2, Rating: m.Rating - float64(i)/10, Votes: m.Votes - i}); err != nil {
				t.Fatal(err)
			}
		}
		hist, err := st.tables.ListHistory(bg, id, store.HistoryFilter{}, ui.HistoryPerPage, nil)
		if err != nil {
			t.Fatal(err)
		}
		ranked := 0
		for _, o := range hist.Items {
			if o.Rank > 0 {
				ranked++
			}
		}
		do(t, ctx, "film", chromedp.Navigate(base+"/ui/movies/"+id), chromedp.WaitVisible(`figure.chart svg`))
		rating := eval[int](t, ctx, `document.querySelectorAll('svg[aria-labelledby^="rating-"] circle').length`)
		rank := eval[int](t, ctx, `document.querySelectorAll('svg[aria-labelledby^="rank-"] circle').length`)
		rows := eval[int](t, ctx, `document.querySelectorAll('table.history tbody tr').length`)
		if len(hist.Items) < 4 || rating != len(hist.Items) || rank != ranked || rows != len(hist.Items) {
			t.Errorf("rating points %d, rank points %d, table rows %d; want %d, %d, %d (the history's change points)",
				rating, rank, rows, len(hist.Items), ranked, len(hist.Items))
		}
		w.check(t, "/ui/movies/"+id)
		screenshot(t, ctx, dir, "movie")
	})

	t.Run("runs", func(t *testing.T) {
		do(t, ctx, "runs", chromedp.Navigate(base+"/ui/runs"), chromedp.WaitVisible(`tr[data-run="`+runID+`"]`))
		w.check(t, "/ui/runs")
		screenshot(t, ctx, dir, "runs")
		do(t, ctx, "run", chromedp.Navigate(base+"/ui/runs/"+runID), chromedp.WaitVisible(`[data-f="status"]`))
		if status := eval[string](t, ctx, `document.querySelector('[data-f="status"]').textContent`); status != "completed" {
			t.Errorf("run page status %q", status)
		}
		w.check(t, "/ui/runs/"+runID)
		screenshot(t, ctx, dir, "run")
	})

	t.Run("outside text stays text", func(t *testing.T) {
		c := client{t, base}
		// A film whose scraped title is markup, and a poison record whose
		// payload is, both through the stream.
		const filmID = "xss-test-film-2026"
		ev := events.NewMovieObserved("run-browser", "https://films.example.org/site/chart", time.Now().UTC(), filmID,
			events.MovieObserved{Title: xss, Year: 2026, Director: xss, Rating: events.Rating{Value: 5, Votes: 1}})
		raw, err := events.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		c.json("POST", "/_devstack/records", map[string]string{"partitionKey": filmID, "data": string(raw)}, http.StatusCreated, nil)
		c.json("POST", "/_devstack/records", map[string]string{"partitionKey": "poison", "data": xss}, http.StatusCreated, nil)
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, errMovie := st.tables.GetMovie(context.Background(), filmID)
			errs, errList := st.tables.ListErrors(context.Background(), 10, nil)
			if errMovie == nil && errList == nil && slices.ContainsFunc(errs.Items, func(e store.ErrorItem) bool { return string(e.Payload) == xss }) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the film or the poison record did not arrive: %v %v", errMovie, errList)
			}
			time.Sleep(50 * time.Millisecond)
		}
		for _, p := range []string{"/ui/movies?year=2026", "/ui/movies/" + filmID, "/ui/errors", "/"} {
			do(t, ctx, p, chromedp.Navigate(base+p), chromedp.WaitReady(`main`))
			if n := eval[int](t, ctx, `document.querySelectorAll('img, script:not([src])').length`); n != 0 {
				t.Errorf("%s: %d img or inline script elements: outside text became markup", p, n)
			}
			// The overview shows failures by reason, not payload.
			if body := eval[string](t, ctx, `document.querySelector('main').textContent`); p != "/" && !strings.Contains(body, xss) {
				t.Errorf("%s: the text %q does not show", p, xss)
			}
			if csp := w.headers(base + p)["Content-Security-Policy"]; csp != ui.ContentSecurityPolicy {
				t.Errorf("%s: Content-Security-Policy %v", p, csp)
			}
			w.check(t, p)
			if p == "/ui/errors" {
				screenshot(t, ctx, dir, "errors")
			}
		}
	})

	t.Run("page weights", func(t *testing.T) {
		// Each page with the files it loads, uncompressed, after a scrape
		// of the 250-film chart.
		const budget = 150 * 1000
		c := client{t, base}
		for _, p := range []string{"/", "/ui/movies", "/ui/movies/the-godfather-1972", "/ui/runs", "/ui/runs/" + runID, "/ui/errors"} {
			status, _, body := c.do("GET", p, nil)
			if status != http.StatusOK {
				t.Fatalf("GET %s = %d", p, status)
			}
			weight := len(body)
			for _, m := range staticRef.FindAllSubmatch(body, -1) {
				_, _, b := c.do("GET", string(m[1]), nil)
				weight += len(b)
			}
			t.Logf("%-32s %7d bytes (HTML %d)", p, weight, len(body))
			if weight > budget {
				t.Errorf("%s weighs %d bytes with its files, over %d", p, weight, budget)
			}
		}
	})

	t.Run("unknown dashboard paths are its HTML 404, the API's JSON", func(t *testing.T) {
		c := client{t, base}
		for _, tc := range []struct{ path, ctype string }{{"/ui/nope", "text/html; charset=utf-8"}, {"/nope", "application/json; charset=utf-8"}} {
			status, h, _ := c.do("GET", tc.path, nil)
			if status != http.StatusNotFound || h.Get("Content-Type") != tc.ctype {
				t.Errorf("GET %s = %d %q, want 404 %q", tc.path, status, h.Get("Content-Type"), tc.ctype)
			}
		}
	})

	t.Run("keyboard", func(t *testing.T) {
		do(t, ctx, "overview", chromedp.Navigate(base+"/"), chromedp.WaitVisible(`#scrape button`), chromedp.KeyEvent(kb.Tab))
		// The first Tab shows the skip link; Enter moves to the content.
		if got := eval[string](t, ctx, `(e => e.classList.contains('skip') && e.getBoundingClientRect().left >= 0 ? 'visible skip link' : e.outerHTML)(document.activeElement)`); got != "visible skip link" {
			t.Errorf("first Tab focuses %s, want the visible skip link", got)
		}
		do(t, ctx, "skip", chromedp.KeyEvent(kb.Enter))
		if got := eval[string](t, ctx, `document.activeElement.id`); got != "main" {
			t.Errorf("Enter on the skip link focuses %q, want main", got)
		}
		// The scrape button is reached with Tab, and shows where the focus is.
		for i := 0; ; i++ {
			if i == 20 {
				t.Fatal("20 Tabs from the content do not reach the scrape button")
			}
			do(t, ctx, "tab", chromedp.KeyEvent(kb.Tab))
			if eval[bool](t, ctx, `document.activeElement.matches('#scrape button')`) {
				break
			}
		}
		if outline := eval[string](t, ctx, `getComputedStyle(document.activeElement).outlineStyle`); outline == "none" {
			t.Error("the focused button has no outline")
		}
		w.check(t, "keyboard")
	})

	t.Run("phone width", func(t *testing.T) {
		do(t, ctx, "phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile), chromedp.Navigate(base+"/"), chromedp.WaitVisible(`#runs`))
		// Wide tables scroll inside their box; the page itself does not.
		if eval[bool](t, ctx, `document.documentElement.scrollWidth > window.innerWidth + 1`) {
			t.Error("the overview is wider than a phone's screen")
		}
		w.check(t, "/ at phone width")
		screenshot(t, ctx, dir, "overview-phone")
	})
}

// BenchmarkDashboardOverview measures, in headless Chromium against a
// devstack with one completed run, the time from navigation to the
// overview's first contentful paint (fcp-ms, the browser's own paint
// timing, from the navigation's start) and to the end of the navigation
// action, load event included (ns/op).
func BenchmarkDashboardOverview(b *testing.B) {
	ctx := browser(b, 10*time.Minute)
	st, err := New(testConfig(b.TempDir()), slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(runCtx) }()
	b.Cleanup(func() {
		stop()
		<-done
		st.Close()
	})
	resp, err := http.Post(st.APIURL()+"/scrape", "application/json", nil)
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	do(b, ctx, "first view", chromedp.Navigate(st.APIURL()+"/"), chromedp.WaitVisible(`#runs tr[data-status="completed"]`))
	var fcpTotal, ttfbTotal, htmlTotal, dclTotal float64
	for b.Loop() {
		do(b, ctx, "overview", chromedp.Navigate(st.APIURL()+"/"))
		// The paint entry can come after the load event.
		fcp, err := chromedp.Run(ctx, chromedp.Poll[float64](`(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime`,
			chromedp.WithPollingTimeout(5*time.Second)))
		if err != nil {
			b.Fatalf("first-contentful-paint: %v", err)
		}
		fcpTotal += fcp
		nav := eval[[]float64](b, ctx, `(e => [e.responseStart, e.responseEnd, e.domContentLoadedEventEnd])(performance.getEntriesByType('navigation')[0])`)
		ttfbTotal += nav[0]
		htmlTotal += nav[1]
		dclTotal += nav[2]
	}
	b.ReportMetric(fcpTotal/float64(b.N), "fcp-ms")
	// Where the time goes: the first byte of the page, its last byte, the
	// DOM ready (the stylesheet and the deferred script loaded).
	b.ReportMetric(ttfbTotal/float64(b.N), "ttfb-ms")
	b.ReportMetric(htmlTotal/float64(b.N), "html-ms")
	b.ReportMetric(dclTotal/float64(b.N), "dcl-ms")
}
