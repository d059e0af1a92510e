package ui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"golang.org/x/net/html"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// pages are one address of each page, over the fixture.
var pages = []string{
	"/",
	"/ui/movies",
	"/ui/movies?year=1972",
	"/ui/movies/" + godfather,
	"/ui/movies/" + xssMovie,
	"/ui/runs",
	"/ui/runs?status=running",
	"/ui/runs/" + runDone,
	"/ui/runs/" + runFailed,
	"/ui/errors",
}

// checkHeaders fails unless rec carries the security headers.
func checkHeaders(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	want := map[string]string{
		"Content-Security-Policy": ContentSecurityPolicy,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
		"X-Frame-Options":         "DENY",
	}
	for k, v := range want {
		if got := rec.Header().Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

// checkPage fails unless rec is an HTML page with status whose markup
// keeps to the CSP and to the page conventions; it returns the document.
func checkPage(t *testing.T, rec *httptest.ResponseRecorder, status int) *html.Node {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %.300s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	checkHeaders(t, rec)
	doc := parse(t, rec.Body.Bytes())
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		for _, a := range n.Attr {
			if a.Key == "style" || strings.HasPrefix(a.Key, "on") {
				t.Errorf("<%s %s=%q>: inline style or handler (refused by the CSP)", n.Data, a.Key, a.Val)
			}
			if (a.Key == "href" || a.Key == "src" || a.Key == "action") && strings.HasPrefix(strings.ToLower(a.Val), "javascript:") {
				t.Errorf("<%s %s=%q>: script URL", n.Data, a.Key, a.Val)
			}
		}
		switch n.Data {
		case "script":
			if src := attr(n, "src"); !strings.HasPrefix(src, StaticPrefix) || n.FirstChild != nil {
				t.Errorf("<script src=%q> with content %v: only the dashboard's own script file", src, n.FirstChild != nil)
			}
		case "style", "iframe", "object", "embed", "base", "img":
			t.Errorf("<%s> on the page", n.Data)
		case "link":
			if href := attr(n, "href"); !strings.HasPrefix(href, StaticPrefix) {
				t.Errorf("<link href=%q>: not this origin's static file", href)
			}
		case "table":
			if len(findAll(n, tag("caption"))) == 0 {
				t.Errorf("a table without a caption")
			}
			for _, th := range findAll(n, tag("th")) {
				if attr(th, "scope") == "" {
					t.Errorf("<th>%s</th> without scope", textOf(th))
				}
			}
		}
	}
	if h1 := findAll(doc, tag("h1")); len(h1) != 1 {
		t.Errorf("%d <h1>, want 1", len(h1))
	}
	if skip := findAll(doc, func(n *html.Node) bool { return n.Data == "a" && attr(n, "href") == "#main" }); len(skip) != 1 {
		t.Errorf("no skip link")
	}
	if len(findAll(doc, func(n *html.Node) bool { return n.Data == "main" && attr(n, "id") == "main" })) != 1 {
		t.Errorf("no <main id=main>")
	}
	return doc
}

func TestPages(t *testing.T) {
	h := newDash(t, seeded(t), Config{StatusPath: "/_devstack/status"})
	for _, p := range pages {
		t.Run(p, func(t *testing.T) {
			rec := get(h, p)
			checkPage(t, rec, http.StatusOK)
			if cc := rec.Header().Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control = %q", cc)
			}
		})
	}
}

// TestOutsideTextIsText checks that text from scraped pages and stream
// records (a title, a director, a genre, a reason, a partition key, a
// payload, a run's error) is written as text wherever it shows: the
// document has no element it did not put there itself, and the text reads
// as it came.
func TestOutsideTextIsText(t *testing.T) {
	h := newDash(t, seeded(t), Config{})
	for _, p := range []string{"/", "/ui/movies?year=2026", "/ui/movies/" + xssMovie, "/ui/errors", "/ui/runs/" + runFailed} {
		t.Run(p, func(t *testing.T) {
			rec := get(h, p)
			doc := checkPage(t, rec, http.StatusOK)
			if n := strings.Count(textOf(doc), xss); n == 0 {
				t.Errorf("the text %q does not show on the page", xss)
			}
			if strings.Contains(rec.Body.String(), xss) {
				t.Errorf("the markup holds %q unescaped", xss)
			}
		})
	}
	doc := parse(t, get(h, "/ui/movies/"+xssMovie).Body.Bytes())
	for _, a := range findAll(doc, tag("a")) {
		if strings.Contains(attr(a, "href"), "alert") {
			t.Errorf("a link to %q from a scraped URL", attr(a, "href"))
		}
	}
}

func TestErrorPages(t *testing.T) {
	st := seeded(t)
	h := newDash(t, st, Config{})
	otherListing := fakeCursors{}.Seal("ui errors", store.PageToken("x"))
	tests := []struct {
		target string
		status int
		says   string
	}{
		{"/ui/nope", 404, "No such page"},
		{"/ui/", 404, "No such page"},
		{"/ui/movies/no-such-film-1999", 404, "no film with this id"},
		{"/ui/movies/The%20Godfather", 404, "no film with this id"},
		{"/ui/runs/run-19990101-000000-00000000", 404, "no run with this id"},
		{"/ui/runs/" + strings.Repeat("r", 300), 404, "no run with this id"},
		{"/ui/movies?year=0", 400, `"year" of this address must be a year`},
		{"/ui/movies?year=10000", 400, `"year"`},
		{"/ui/movies?year=%2B1994", 400, `"year"`},
		{"/ui/movies?yaer=1994", 400, `"yaer" of this address is not known`},
		{"/ui/movies?year=1994&year=1995", 400, "more than once"},
		{"/ui/movies?year=%zz", 400, "malformed"},
		{"/ui/runs?status=done", 400, `"status"`},
		{"/ui/movies?cursor=garbage", 400, "cursor is not valid"},
		{"/ui/movies?cursor=" + otherListing, 400, "cursor is not valid"},
		{"/ui/movies?year=1994&cursor=" + fakeCursors{}.Seal("ui movies", store.PageToken("x")), 400, "cursor is not valid"},
		{"/ui/movies?cursor=" + fakeCursors{}.Seal("ui movies", store.PageToken("forged")), 400, "does not belong to this list"},
		{"/?x=1", 400, `"x"`},
		{"/ui/runs/" + runDone + "?x=1", 400, `"x"`},
		{"/ui/static/app.0000000000000000.js", 404, "No such file"},
		{"/ui/static/nope.css", 404, "No such file"},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			rec := get(h, tt.target)
			doc := checkPage(t, rec, tt.status)
			if !strings.Contains(words(doc), tt.says) {
				t.Errorf("page does not say %q:\n%s", tt.says, textOf(doc))
			}
		})
	}
	t.Run("POST", func(t *testing.T) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/ui/movies", nil))
		checkPage(t, w, http.StatusMethodNotAllowed)
		if w.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("Allow = %q", w.Header().Get("Allow"))
		}
	})
}

func TestStoreFailures(t *testing.T) {
	for _, tt := range []struct {
		name       string
		err        error
		status     int
		retryAfter string
	}{
		{"throttled", fmt.Errorf("list: %w", store.ErrTransient), 503, "1"},
		{"deadline", context.DeadlineExceeded, 503, "1"},
		{"other", errors.New("secret internal detail"), 500, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newDash(t, failing{seeded(t), tt.err}, Config{})
			for _, p := range []string{"/", "/ui/movies", "/ui/runs"} {
				rec := get(h, p)
				checkPage(t, rec, tt.status)
				if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
					t.Errorf("%s: Retry-After = %q, want %q", p, got, tt.retryAfter)
				}
				if strings.Contains(rec.Body.String(), "secret") {
					t.Errorf("%s: the page shows the internal error", p)
				}
			}
		})
	}
	t.Run("history fails, the film shows", func(t *testing.T) {
		h := newDash(t, failing{seeded(t), errors.New("no history table")}, Config{})
		doc := checkPage(t, get(h, "/ui/movies/"+godfather), http.StatusOK)
		if !strings.Contains(textOf(doc), "history could not be read") || !strings.Contains(textOf(doc), "Francis Ford Coppola") {
			t.Errorf("page:\n%s", textOf(doc))
		}
	})
}

// nextLink is the href of the page's rel=next link, "" if none.
func nextLink(doc *html.Node) string {
	for _, a := range findAll(doc, tag("a")) {
		if attr(a, "rel") == "next" {
			return attr(a, "href")
		}
	}
	return ""
}

func TestMoviesPages(t *testing.T) {
	h := newDash(t, seeded(t), Config{})
	seen := map[string]int{}
	next, pages := "/ui/movies", 0
	for next != "" {
		pages++
		if pages > 10 {
			t.Fatal("more than 10 pages")
		}
		doc := checkPage(t, get(h, next), http.StatusOK)
		var ranks []int
		for _, tr := range findAll(doc, tag("tr")) {
			as := findAll(tr, func(n *html.Node) bool { return n.Data == "a" && strings.HasPrefix(attr(n, "href"), MoviesPath+"/") })
			if len(as) == 0 {
				continue
			}
			seen[strings.TrimPrefix(attr(as[0], "href"), MoviesPath+"/")]++
			cells := findAll(tr, tag("td"))
			r, err := strconv.Atoi(textOf(cells[0]))
			if err != nil {
				r = 1 << 30 // unranked: last
			}
			ranks = append(ranks, r)
		}
		if len(ranks) > MoviesPerPage {
			t.Errorf("page %d: %d films, want at most %d", pages, len(ranks), MoviesPerPage)
		}
		if !slices.IsSorted(ranks) {
			t.Errorf("page %d not sorted by rank: %v", pages, ranks)
		}
		next = nextLink(doc)
	}
	if want := nMovies + 2; len(seen) != want {
		t.Errorf("%d films over %d pages, want %d", len(seen), pages, want)
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s listed %d times", id, n)
		}
	}
	t.Run("year", func(t *testing.T) {
		doc := checkPage(t, get(h, "/ui/movies?year=1972"), http.StatusOK)
		var titles []string
		for _, th := range findAll(doc, func(n *html.Node) bool { return n.Data == "th" && attr(n, "scope") == "row" }) {
			titles = append(titles, textOf(th))
		}
		if diff := cmp.Diff([]string{"The Godfather", "Film 072", "Film 022"}, titles); diff != "" {
			t.Errorf("films of 1972 by rank (-want +got):\n%s", diff)
		}
	})
	t.Run("empty year field", func(t *testing.T) {
		checkPage(t, get(h, "/ui/movies?year="), http.StatusOK)
	})
}

func TestRunsPages(t *testing.T) {
	h := newDash(t, seeded(t), Config{})
	ids := func(doc *html.Node) []string {
		var out []string
		for _, tr := range findAll(doc, func(n *html.Node) bool { return n.Data == "tr" && attr(n, "data-run") != "" }) {
			out = append(out, attr(tr, "data-run")+" "+attr(tr, "data-status"))
		}
		return out
	}
	for _, tt := range []struct {
		target string
		want   []string
	}{
		{"/ui/runs", []string{runRunning + " running", runDone + " completed", runFailed + " failed"}},
		{"/ui/runs?status=completed", []string{runDone + " completed"}},
		{"/ui/runs?status=failed", []string{runFailed + " failed"}},
		{"/ui/runs?status=unchanged", nil},
		{"/", []string{runRunning + " running", runDone + " completed", runFailed + " failed"}},
	} {
		doc := checkPage(t, get(h, tt.target), http.StatusOK)
		if diff := cmp.Diff(tt.want, ids(doc)); diff != "" {
			t.Errorf("%s runs (-want +got):\n%s", tt.target, diff)
		}
	}
	doc := checkPage(t, get(h, "/ui/runs/"+runRunning), http.StatusOK)
	live := findAll(doc, func(n *html.Node) bool {
		return attr(n, "data-run") == runRunning && attr(n, "data-status") == "running"
	})
	if len(live) != 1 {
		t.Errorf("the running run's page has %d live panels, want 1", len(live))
	}
}

// TestRunsSparse checks that a filtered runs page reads on through short
// pages, a bounded number of store calls, and links on from where it
// stopped.
func TestRunsSparse(t *testing.T) {
	st := embedded.NewMemory()
	ctx := context.Background()
	const n = 3000 // the embedded store examines a bounded number of runs per call
	for i := range n {
		id := fmt.Sprintf("run-%05d", i)
		r := store.Run{ID: id, Source: source, StartedAt: base.Add(time.Duration(i) * time.Second)}
		if err := st.StartRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		if i%10 != 0 { // every tenth stays running
			r.FinishedAt = r.StartedAt
			if err := st.CompleteRun(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	calls := &countingRuns{Store: st}
	h := newDash(t, calls, Config{})
	seen := 0
	next := "/ui/runs?status=running"
	for i := 0; next != ""; i++ {
		if i > n {
			t.Fatal("runs pages do not end")
		}
		calls.n = 0
		doc := checkPage(t, get(h, next), http.StatusOK)
		if calls.n > runsCallsPerPage {
			t.Errorf("a page made %d store calls, want at most %d", calls.n, runsCallsPerPage)
		}
		seen += len(findAll(doc, func(n *html.Node) bool { return n.Data == "tr" && attr(n, "data-status") == "running" }))
		next = nextLink(doc)
	}
	if seen != n/10 {
		t.Errorf("%d running runs over the pages, want %d", seen, n/10)
	}
}

type countingRuns struct {
	store.Store
	n int
}

func (c *countingRuns) ListRuns(ctx context.Context, f store.RunFilter, limit int, t store.PageToken) (store.Page[store.Run], error) {
	c.n++
	return c.Store.ListRuns(ctx, f, limit, t)
}

func TestOverview(t *testing.T) {
	st := seeded(t)
	t.Run("devstack", func(t *testing.T) {
		doc := checkPage(t, get(newDash(t, st, Config{StatusPath: "/_devstack/status"}), "/"), http.StatusOK)
		body := words(doc)
		for _, want := range []string{
			"Films 2 in the latest completed run",
			"Runs 3 1 in flight",
			fmt.Sprintf("Open errors ≥ %d 0 resolved, counted among the latest %d", OverviewErrors, OverviewErrors),
		} {
			if nErrors < OverviewErrors {
				want = strings.Replace(want, fmt.Sprintf("≥ %d 0 resolved, counted among the latest %d", OverviewErrors, OverviewErrors),
					fmt.Sprintf("%d 0 resolved", nErrors), 1)
			}
			if !strings.Contains(body, want) {
				t.Errorf("overview does not say %q:\n%s", want, body)
			}
		}
		if len(findAll(doc, func(n *html.Node) bool {
			return attr(n, "id") == "stream" && attr(n, "data-src") == "/_devstack/status"
		})) != 1 {
			t.Error("no stream panel reading /_devstack/status")
		}
		if len(findAll(doc, func(n *html.Node) bool { return n.Data == "form" && attr(n, "action") == "/scrape" })) != 1 {
			t.Error("no scrape button")
		}
		tpl := findAll(doc, func(n *html.Node) bool { return n.Data == "template" && attr(n, "id") == "run-row" })
		if len(tpl) != 1 {
			t.Error("no run row template")
		}
	})
	t.Run("AWS with IAM", func(t *testing.T) {
		cmd := `sh -c 'curl -sS -X POST --aws-sigv4 "aws:amz:eu-west-2:execute-api" https://x.example/scrape'`
		doc := checkPage(t, get(newDash(t, st, Config{ScrapeCommand: cmd}), "/"), http.StatusOK)
		if !strings.Contains(textOf(doc), cmd) {
			t.Errorf("the scrape command does not show")
		}
		if len(findAll(doc, tag("form"))) != 0 || len(findAll(doc, func(n *html.Node) bool { return attr(n, "id") == "stream" })) != 0 {
			t.Error("a scrape button or a stream panel on AWS with IAM")
		}
	})
	t.Run("more runs than shown", func(t *testing.T) {
		st := embedded.NewMemory()
		for i := range OverviewRuns + 1 {
			if err := st.StartRun(context.Background(), store.Run{ID: fmt.Sprintf("run-%d", i), StartedAt: base.Add(time.Duration(i) * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		doc := checkPage(t, get(newDash(t, st, Config{}), "/"), http.StatusOK)
		if body := words(doc); !strings.Contains(body, fmt.Sprintf("Runs ≥ %d", OverviewRuns)) {
			t.Errorf("overview does not say ≥ %d runs:\n%s", OverviewRuns, body)
		}
	})
}

func TestMovieHistory(t *testing.T) {
	h := newDash(t, seeded(t), Config{})
	doc := checkPage(t, get(h, "/ui/movies/"+godfather), http.StatusOK)
	svgs := findAll(doc, tag("svg"))
	if len(svgs) != 2 {
		t.Fatalf("%d charts, want rating and rank", len(svgs))
	}
	for _, svg := range svgs {
		if got := len(findAll(svg, tag("circle"))); got != nHistory {
			t.Errorf("chart %s: %d points, want one per change point (%d)", attr(svg, "aria-labelledby"), got, nHistory)
		}
		if attr(svg, "role") != "img" || len(findAll(svg, tag("title"))) == 0 || len(findAll(svg, tag("desc"))) != 1 {
			t.Errorf("chart %s lacks role=img, a title or a desc", attr(svg, "aria-labelledby"))
		}
		for _, id := range strings.Fields(attr(svg, "aria-labelledby")) {
			if len(findAll(doc, func(n *html.Node) bool { return attr(n, "id") == id })) != 1 {
				t.Errorf("aria-labelledby names %q, which is not one element", id)
			}
		}
	}
	rows := findAll(doc, func(n *html.Node) bool { return n.Data == "tr" && len(findAll(n, tag("time"))) > 0 })
	if len(rows) != nHistory {
		t.Errorf("history table has %d rows, want %d", len(rows), nHistory)
	}
	if first := textOf(rows[0]); !strings.Contains(first, "2026-03-01 18:00:00 UTC") || !strings.Contains(first, "9.6") {
		t.Errorf("first row is not the newest change point: %q", first)
	}
}

// TestHistoryPages checks the link to older change points of a film with
// more than a page of them.
func TestHistoryPages(t *testing.T) {
	st := seeded(t)
	ctx := context.Background()
	for i := range HistoryPerPage + 5 {
		if err := st.RecordObservation(ctx, store.Observation{MovieID: godfather, ObservedAt: base.Add(-time.Duration(i+1) * time.Minute),
			EventID: fmt.Sprintf("evt-old%d", i), Rank: 1 + i%2, Rating: 8, Votes: i}); err != nil {
			t.Fatal(err)
		}
	}
	h := newDash(t, st, Config{})
	total := 0
	next := "/ui/movies/" + godfather
	for next != "" {
		doc := checkPage(t, get(h, next), http.StatusOK)
		for _, svg := range findAll(doc, tag("svg")) {
			if attr(svg, "aria-labelledby") == "rating-title rating-desc" {
				total += len(findAll(svg, tag("circle")))
			}
		}
		next = nextLink(doc)
	}
	if want := nHistory + HistoryPerPage + 5; total != want {
		t.Errorf("%d points over the pages, want %d", total, want)
	}
}

func TestErrorsPage(t *testing.T) {
	h := newDash(t, seeded(t), Config{})
	doc := checkPage(t, get(h, "/ui/errors"), http.StatusOK)
	rows := findAll(doc, func(n *html.Node) bool { return n.Data == "tr" && len(findAll(n, tag("pre"))) > 0 })
	if len(rows) != ErrorsPerPage {
		t.Fatalf("%d failures, want a page of %d", len(rows), ErrorsPerPage)
	}
	// Newest first: failure 29 (JSON), 28 (binary), 27 (the xss text).
	for i, want := range []string{`{"n":29}`, "ff 00 fe 1c 1c", xss} {
		if got := textOf(findAll(rows[i], tag("pre"))[0]); !strings.HasPrefix(got, want) {
			t.Errorf("row %d payload %q, want it to start with %q", i, got, want)
		}
	}
	links := findAll(rows[0], func(n *html.Node) bool { return n.Data == "a" && strings.HasPrefix(attr(n, "href"), "/errors/") })
	if len(links) != 1 {
		t.Errorf("no link to the JSON of the failure")
	}
	next := nextLink(doc)
	if next == "" {
		t.Fatal("no next page")
	}
	doc = checkPage(t, get(h, next), http.StatusOK)
	if n := len(findAll(doc, tag("pre"))); n != nErrors-ErrorsPerPage {
		t.Errorf("second page has %d failures, want %d", n, nErrors-ErrorsPerPage)
	}
}

func TestStatic(t *testing.T) {
	h := newDash(t, embedded.NewMemory(), Config{})
	for name, ctype := range map[string]string{"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8", "icon.svg": "image/svg+xml"} {
		t.Run(name, func(t *testing.T) {
			u, err := assetURL(name)
			if err != nil {
				t.Fatal(err)
			}
			rec := get(h, u)
			if rec.Code != 200 || rec.Header().Get("Content-Type") != ctype || rec.Header().Get("Cache-Control") != "public, max-age=31536000, immutable" {
				t.Errorf("GET %s = %d %q %q", u, rec.Code, rec.Header().Get("Content-Type"), rec.Header().Get("Cache-Control"))
			}
			checkHeaders(t, rec)
			if rec.Body.Len() == 0 {
				t.Error("empty body")
			}
			plain := get(h, StaticPrefix+name)
			if plain.Code != 200 || plain.Header().Get("Cache-Control") != "no-cache" || plain.Body.String() != rec.Body.String() {
				t.Errorf("GET %s%s = %d %q", StaticPrefix, name, plain.Code, plain.Header().Get("Cache-Control"))
			}
			r := httptest.NewRequest(http.MethodGet, u, nil)
			r.Header.Set("If-None-Match", rec.Header().Get("ETag"))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusNotModified || w.Body.Len() != 0 {
				t.Errorf("revalidation = %d with %d bytes, want 304", w.Code, w.Body.Len())
			}
		})
	}
}

// TestPageWeight holds every page, with everything it loads, to 150 KB
// uncompressed, with full listings (a page of films, a page of change
// points, a page of failures with long payloads).
func TestPageWeight(t *testing.T) {
	const budget = 150 * 1000
	st := seeded(t)
	for i := range HistoryPerPage {
		if err := st.RecordObservation(context.Background(), store.Observation{MovieID: godfather,
			ObservedAt: base.Add(-time.Duration(i+1) * time.Minute), EventID: fmt.Sprintf("evt-w%d", i),
			RunID: runDone, Rank: 100 + i%2, Rating: 8.1, Votes: 1234567 + i}); err != nil {
			t.Fatal(err)
		}
	}
	h := newDash(t, st, Config{StatusPath: "/_devstack/status"})
	for _, p := range pages {
		rec := get(h, p)
		weight := rec.Body.Len()
		for _, n := range findAll(parse(t, rec.Body.Bytes()), func(n *html.Node) bool { return n.Data == "script" || n.Data == "link" }) {
			u := attr(n, "src") + attr(n, "href")
			weight += get(h, u).Body.Len()
		}
		t.Logf("%-40s %6d bytes with its static files (%d of HTML)", p, weight, rec.Body.Len())
		if weight > budget {
			t.Errorf("%s weighs %d bytes, over the %d budget", p, weight, budget)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"empty", Config{}, true},
		{"devstack", Config{StatusPath: "/_devstack/status"}, true},
		{"command", Config{ScrapeCommand: `sh -c 'curl -X POST https://a.example/scrape'`}, true},
		{"command with newline", Config{ScrapeCommand: "curl\nrm -rf /"}, false},
		{"command too long", Config{ScrapeCommand: strings.Repeat("x", 2001)}, false},
		{"status path of another origin", Config{StatusPath: "//evil.example/status"}, false},
		{"status URL", Config{StatusPath: "https://evil.example/status"}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.cfg.Validate(); (err == nil) != tt.ok {
				t.Errorf("Validate() = %v, want ok %v", err, tt.ok)
			}
			if _, err := New(embedded.NewMemory(), Options{Config: tt.cfg, Cursors: fakeCursors{}}); (err == nil) != tt.ok {
				t.Errorf("New: %v, want ok %v", err, tt.ok)
			}
		})
	}
	if _, err := New(embedded.NewMemory(), Options{}); err == nil {
		t.Error("New without Cursors succeeded")
	}
	if _, err := New(nil, Options{Cursors: fakeCursors{}}); err == nil {
		t.Error("New without a store succeeded")
	}
}

// TestRoutes checks that the handler serves each of
// contract.DashboardRoutes with the route's pattern.
func TestRoutes(t *testing.T) {
	h := newDash(t, embedded.NewMemory(), Config{})
	for _, r := range contract.DashboardRoutes() {
		path := strings.NewReplacer("{id}", "x", "{file}", "app.js").Replace(r.Path)
		_, pattern := h.mux.Handler(httptest.NewRequest(r.Method, path, nil))
		if pattern != r.Pattern() {
			t.Errorf("%s %s is served by %q, want %q", r.Method, path, pattern, r.Pattern())
		}
	}
	if _, pattern := h.mux.Handler(httptest.NewRequest("GET", "/other", nil)); pattern != "/" {
		t.Errorf("GET /other is served by %q, want the 404 page's \"/\": the overview's pattern must match / only", pattern)
	}
}

func TestPageURL(t *testing.T) {
	got := pageURL(MoviesPath, paramYear, "1994", paramCursor, "a+b/c", "empty", "")
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if u.Path != MoviesPath || u.Query().Get("cursor") != "a+b/c" || u.Query().Get("year") != "1994" || u.Query().Has("empty") {
		t.Errorf("pageURL = %q", got)
	}
}

// TestScriptWritesTextOnly keeps the script to text: no HTML parsing of
// strings, no eval (the CSP would refuse eval, but not innerHTML).
func TestScriptWritesTextOnly(t *testing.T) {
	js := string(assets["app.js"].body)
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setTimeout('", "setTimeout(\"", "createContextualFragment", "DOMParser"} {
		if strings.Contains(js, bad) {
			t.Errorf("app.js uses %s", bad)
		}
	}
	if !strings.Contains(js, "textContent") {
		t.Error("app.js writes no textContent: is this the script?")
	}
}
