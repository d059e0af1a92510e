package samplesite

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/antchfx/htmlquery"
	"github.com/google/go-cmp/cmp"
)

// clock is a test clock that tests move by hand; safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock(t time.Time) *clock {
	c := &clock{}
	c.set(t)
	return c
}

func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) set(t time.Time)     { c.ns.Store(t.UnixNano()) }
func (c *clock) add(d time.Duration) { c.ns.Add(int64(d)) }

// driftStart is the start of an hourly and a per-minute period.
var driftStart = time.Date(2026, time.May, 4, 12, 0, 0, 0, time.UTC)

// TestDriftingPagesAgreeWithTheChart serves every chart page, the index
// and every detail page of two periods: each shows exactly ChartAt's
// films for the request's time, and says which period it is.
func TestDriftingPagesAgreeWithTheChart(t *testing.T) {
	tests := []struct {
		name  string
		drift time.Duration
		seed  int64
		at    time.Time
		every int // check the detail page of every n-th film
	}{
		{"hourly, at the start of a period", time.Hour, 0, driftStart, 1},
		{"hourly, the next period", time.Hour, 0, driftStart.Add(time.Hour + 59*time.Minute), 7},
		{"every minute, seed 5, mid-period", time.Minute, 5, driftStart.Add(90 * time.Second), 7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := New(Options{Drift: tc.drift, Seed: tc.seed, Now: newClock(tc.at).Now})
			films := ChartAt(tc.at, tc.drift, tc.seed)
			d := Drift{Every: tc.drift, Seed: tc.seed}
			start := d.Start(d.Period(tc.at))
			wantStamp := []string{start.Format(time.RFC3339), start.Format("2 January 2006, 15:04 UTC")}

			var got, want []chartRow
			for p := 1; p <= Pages; p++ {
				doc := parseHTML(t, body(t, do(t, h, "GET", ChartPageURL(p), nil)))
				got = append(got, extractChart(t, doc)...)
				stamp := []string{xpathText(t, doc, "//p[@class='footer-updated']/time/@datetime"), xpathText(t, doc, "//p[@class='footer-updated']/time")}
				if diff := cmp.Diff(wantStamp, stamp); diff != "" {
					t.Errorf("page %d: period stamp (-want +got):\n%s", p, diff)
				}
			}
			for _, f := range films {
				want = append(want, wantRow(f))
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("chart rows (-ChartAt +served):\n%s", diff)
			}
			if cmp.Equal(films, Films()) {
				t.Error("the drifting chart is the frozen one")
			}

			for i, f := range films {
				if i%tc.every != 0 {
					continue
				}
				doc := parseHTML(t, body(t, do(t, h, "GET", f.Path(), nil)))
				if diff := cmp.Diff(wantFilmRow(f), extractFilm(t, doc)); diff != "" {
					t.Errorf("%s: detail page (-chart +served):\n%s", f.ID, diff)
				}
			}

			doc := parseHTML(t, body(t, do(t, h, "GET", "/site/", nil)))
			var teaser, top []string
			for _, n := range htmlquery.Find(doc, "//li[@class='teaser-item']/@data-film-id") {
				teaser = append(teaser, htmlquery.InnerText(n))
			}
			for _, f := range films[:5] {
				top = append(top, f.ID)
			}
			if diff := cmp.Diff(top, teaser); diff != "" {
				t.Errorf("index teaser (-chart +served):\n%s", diff)
			}
		})
	}
}

// TestDriftingValidators crosses a period boundary: within a period the
// validators stay and conditional requests get 304; the next period has a
// new ETag and a Last-Modified at its start, and the old validators get
// the new page. Cache-Control never lets a cache keep a page past its
// period.
func TestDriftingValidators(t *testing.T) {
	clk := newClock(driftStart.Add(10 * time.Second))
	h := New(Options{Drift: time.Minute, Now: clk.Now})
	paths := []string{ChartPageURL(1), ChartPageURL(5), "/site/", "/site/films/the-godfather-1972"}

	type validators struct{ etag, gzipETag, lastModified string }
	get := func(path string) validators {
		resp := do(t, h, "GET", path, nil)
		gz := do(t, h, "GET", path, map[string]string{"Accept-Encoding": "gzip"})
		if resp.StatusCode != 200 || gz.StatusCode != 200 {
			t.Fatalf("%s: status %d, gzip %d", path, resp.StatusCode, gz.StatusCode)
		}
		if resp.Header.Get("Last-Modified") != gz.Header.Get("Last-Modified") {
			t.Errorf("%s: Last-Modified differs between encodings", path)
		}
		return validators{resp.Header.Get("ETag"), gz.Header.Get("ETag"), resp.Header.Get("Last-Modified")}
	}
	status := func(path string, header map[string]string) (int, http.Header) {
		resp := do(t, h, "GET", path, header)
		body(t, resp)
		return resp.StatusCode, resp.Header
	}

	first := map[string]validators{}
	for _, p := range paths {
		first[p] = get(p)
		if want := "Mon, 04 May 2026 12:00:00 GMT"; first[p].lastModified != want {
			t.Errorf("%s: Last-Modified %q, want the period's start %q", p, first[p].lastModified, want)
		}
	}

	clk.add(49 * time.Second) // 12:00:59, still the same period
	for _, p := range paths {
		if got := get(p); got != first[p] {
			t.Errorf("%s: validators changed within a period: %+v, then %+v", p, first[p], got)
		}
		for _, hdr := range []map[string]string{
			{"If-None-Match": first[p].etag},
			{"If-None-Match": first[p].gzipETag, "Accept-Encoding": "gzip"},
			{"If-Modified-Since": first[p].lastModified},
			{"If-Modified-Since": "Mon, 04 May 2026 12:00:30 GMT"},
		} {
			if code, resp := status(p, hdr); code != http.StatusNotModified {
				t.Errorf("%s with %v: status %d, want 304", p, hdr, code)
			} else if got := resp.Get("Cache-Control"); got != "public, max-age=1" {
				t.Errorf("%s: 304 Cache-Control %q, want max-age=1 (the period ends in 1s)", p, got)
			}
		}
	}

	clk.add(time.Second) // 12:01:00, the next period
	for _, p := range paths {
		got := get(p)
		if got.etag == first[p].etag || got.gzipETag == first[p].gzipETag {
			t.Errorf("%s: ETag unchanged across a period boundary", p)
		}
		if want := "Mon, 04 May 2026 12:01:00 GMT"; got.lastModified != want {
			t.Errorf("%s: Last-Modified %q, want the new period's start %q", p, got.lastModified, want)
		}
		for _, hdr := range []map[string]string{
			{"If-None-Match": first[p].etag},
			{"If-Modified-Since": first[p].lastModified},
		} {
			if code, resp := status(p, hdr); code != http.StatusOK {
				t.Errorf("%s with the last period's %v: status %d, want 200", p, hdr, code)
			} else if got := resp.Get("Cache-Control"); got != "public, max-age=60" {
				t.Errorf("%s: Cache-Control %q at a period's start, want max-age=60", p, got)
			}
		}
		if code, _ := status(p, map[string]string{"If-None-Match": got.etag}); code != http.StatusNotModified {
			t.Errorf("%s with the new ETag: status %d, want 304", p, code)
		}
	}

	// Static files do not drift.
	for _, p := range []string{RobotsPath, StylePath} {
		resp := do(t, h, "GET", p, nil)
		if got := resp.Header.Get("Last-Modified"); got != "Sat, 01 Mar 2025 00:00:00 GMT" {
			t.Errorf("%s: Last-Modified %q, want the dataset date", p, got)
		}
	}
}

// TestCacheControlCountsDown: a drifting page may be cached until its
// period ends, and for at most five minutes.
func TestCacheControlCountsDown(t *testing.T) {
	tests := []struct {
		drift   time.Duration
		elapsed time.Duration
		want    string
	}{
		{time.Hour, 0, "public, max-age=300"},
		{time.Hour, 59*time.Minute + 30*time.Second, "public, max-age=30"},
		{time.Minute, 0, "public, max-age=60"},
		{time.Minute, 59*time.Second + 999*time.Millisecond, "public, max-age=0"},
		{time.Second, 0, "public, max-age=1"},
		{0, 0, cachePage},
	}
	for _, tc := range tests {
		clk := newClock(driftStart.Add(tc.elapsed))
		resp := do(t, New(Options{Drift: tc.drift, Now: clk.Now}), "GET", ChartPath, nil)
		if got := resp.Header.Get("Cache-Control"); got != tc.want {
			t.Errorf("drift %s, %s into the period: Cache-Control %q, want %q", tc.drift, tc.elapsed, got, tc.want)
		}
	}
	if maxAgeCacheControl[pageMaxAge] != cachePage {
		t.Errorf("the longest max-age %q is not cachePage %q", maxAgeCacheControl[pageMaxAge], cachePage)
	}
}

// TestOneViewPerPeriod: the chart of a period is computed once and its
// pages rendered once, whatever the number of requests; a request that
// arrived just before a boundary still gets its period's view, cached.
func TestOneViewPerPeriod(t *testing.T) {
	clk := newClock(driftStart)
	s := New(Options{Drift: time.Minute, Now: clk.Now}).(*site)
	_, v1 := s.request()
	page := v1.chartPage(2)
	for range 5 {
		clk.add(10 * time.Second)
		if _, v := s.request(); v != v1 || v.chartPage(2) != page {
			t.Fatalf("at %s: another view or page within the period", clk.Now())
		}
	}
	clk.add(10 * time.Second)
	_, v2 := s.request()
	if v2 == v1 || v2.period != v1.period+1 {
		t.Fatalf("next period: view of period %d, want a new one for %d", v2.period, v1.period+1)
	}
	if got := s.views.get(s.drift, v1.period); got != v1 {
		t.Error("the previous period's view was rebuilt: late requests would recompute the chart")
	}
	if got := s.views.get(s.drift, v2.period); got != v2 {
		t.Error("the current view was rebuilt after a late request")
	}
}

// TestDriftingConcurrency serves requests from many goroutines while the
// clock crosses boundaries (run with -race): every answer is one
// period's page, whole.
func TestDriftingConcurrency(t *testing.T) {
	clk := newClock(driftStart)
	h := New(Options{Drift: time.Second, Now: clk.Now})
	want := map[string]bool{}
	for i := range 5 { // goroutine 0 moves the clock 4 times
		d := Drift{Every: time.Second}
		for p := range []int{1, 2} {
			want[string(renderChart(d.chart(d.Period(driftStart)+int64(i)), p+1, periodAsOf(driftStart.Add(time.Duration(i)*time.Second))))] = true
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				if g == 0 && i%5 == 4 {
					clk.add(time.Second)
				}
				p := ChartPageURL(1 + (g+i)%2)
				resp := do(t, h, "GET", p, map[string]string{"Accept-Encoding": []string{"", "gzip"}[i%2]})
				if b := body(t, resp); !want[string(b)] {
					errs <- p + " at " + strconv.Itoa(i)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("%s: not one period's page", e)
	}
}

func TestFrozenSiteNeverReadsTheClock(t *testing.T) {
	h := New(Options{Knobs: true, Now: func() time.Time { panic("a frozen site read the clock") }})
	for _, p := range allPaths() {
		if resp := do(t, h, "GET", p, nil); resp.StatusCode != 200 {
			t.Errorf("%s: status %d", p, resp.StatusCode)
		}
	}
	do(t, h, "GET", "/nowhere", nil)
	do(t, h, "GET", ChartPath+"?malformed=1", nil)
}

func TestNewRefusesBadDrift(t *testing.T) {
	for _, d := range []time.Duration{-time.Hour, -1, 1, 999 * time.Millisecond} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New accepted Drift %s", d)
				}
			}()
			New(Options{Drift: d})
		}()
	}
}

// TestDriftingKnobs: the knobs serve the request's period too.
func TestDriftingKnobs(t *testing.T) {
	clk := newClock(driftStart)
	h := New(Options{Knobs: true, Drift: time.Hour, Seed: 2, Now: clk.Now})
	films := ChartAt(driftStart, time.Hour, 2)

	doc := parseHTML(t, body(t, do(t, h, "GET", ChartPageURL(2)+"&malformed=1", nil)))
	items := htmlquery.Find(doc, xItems)
	if len(items) != PageSize {
		t.Fatalf("malformed page: %d items", len(items))
	}
	for i, li := range items {
		if got, want := xpathText(t, li, xItemID), films[PageSize+i].ID; got != want {
			t.Errorf("malformed page 2 item %d: %s, want the period's %s", i, got, want)
		}
	}

	chart1 := body(t, do(t, h, "GET", ChartPath, nil))
	smallest := newHugePage(chart1).min()
	resp := do(t, h, "GET", ChartPath+"?huge="+strconv.FormatInt(smallest+1000, 10), nil)
	huge := body(t, resp)
	if resp.StatusCode != 200 || int64(len(huge)) != smallest+1000 {
		t.Fatalf("huge page: status %d, %d bytes, want %d", resp.StatusCode, len(huge), smallest+1000)
	}
	got := extractChart(t, parseHTML(t, huge))
	if diff := cmp.Diff(extractChart(t, parseHTML(t, chart1)), got); diff != "" {
		t.Errorf("huge page rows differ from the period's chart page 1 (-chart +huge):\n%s", diff)
	}
}

// TestDriftingInstancesAgree: two handlers (two Lambda instances, or a
// restart) serve the same bytes and validators at the same time.
func TestDriftingInstancesAgree(t *testing.T) {
	at := driftStart.Add(42 * time.Minute)
	a := New(Options{Drift: time.Hour, Seed: 1, Now: newClock(at).Now})
	b := New(Options{Drift: time.Hour, Seed: 1, Now: newClock(at.Add(17 * time.Minute)).Now})
	for _, p := range []string{ChartPageURL(3), "/site/films/city-of-god-2002", "/site/"} {
		for _, enc := range []string{"", "gzip"} {
			hdr := map[string]string{"Accept-Encoding": enc}
			ra, rb := do(t, a, "GET", p, hdr), do(t, b, "GET", p, hdr)
			ba, bb := body(t, ra), body(t, rb)
			if string(ba) != string(bb) || ra.Header.Get("ETag") != rb.Header.Get("ETag") ||
				ra.Header.Get("Last-Modified") != rb.Header.Get("Last-Modified") {
				t.Errorf("%s (Accept-Encoding %q): two instances in one period serve different pages", p, enc)
			}
		}
	}
}
