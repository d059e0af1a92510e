package scraper_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
)

// TestNoItemsWarning: a run whose profile matches nothing on the page is
// a 202 (the run exists) that says so and how to fix it, instead of a
// bare "published: 0"; it stores no validators, so the next run reads the
// page again rather than calling it unchanged.
func TestNoItemsWarning(t *testing.T) {
	const moviesItems = "//ol[@class='chart-list']/li[@class='chart-item']"
	tests := []struct {
		name    string
		cfg     func(*scraper.Config)
		path    string
		warning string // ${URL} is the scraped page
	}{
		{
			name:    "a page without the chart",
			path:    samplesite.IndexPath + "/",
			warning: `the profile "movies" matched no items on ${URL}: check the URL or the profile's items XPath ` + moviesItems,
		},
		{
			name: "a profile that does not fit the page",
			cfg: func(c *scraper.Config) {
				c.Profile = `{"name":"films","items":"//table[@id='films']//tr","id":"{siteId}","fields":[
					{"name":"siteId","xpath":"@data-id","type":"string","required":true},
					{"name":"title","xpath":"td[1]","type":"string","required":true},
					{"name":"year","xpath":"td[2]","type":"int","required":true},
					{"name":"rating","xpath":"td[3]","type":"float","required":true}]}`
			},
			path:    samplesite.ChartPageURL(1),
			warning: `the profile "films" matched no items on ${URL}: check the URL or the profile's items XPath //table[@id='films']//tr`,
		},
		{
			name: "a page whose items are all skipped is no such case",
			path: samplesite.ChartPageURL(1) + "&malformed=1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{cfg: func(c *scraper.Config) {
				c.URL = strings.TrimSuffix(c.URL, samplesite.ChartPageURL(1)) + tc.path
				if tc.cfg != nil {
					tc.cfg(c)
				}
			}})
			target := e.site.URL + tc.path
			want := strings.ReplaceAll(tc.warning, "${URL}", target)
			for i := range 2 {
				got := e.post(t, "")
				if got.Status != http.StatusAccepted {
					t.Fatalf("run %d: %+v, want 202", i+1, got)
				}
				if diff := cmp.Diff(want, got.Summary.Warning); diff != "" {
					t.Errorf("run %d: warning (-want +got):\n%s", i+1, diff)
				}
				if tc.warning != "" && (got.Summary.Published != 0 || got.Summary.Unchanged) {
					t.Errorf("run %d: %+v; want nothing published and the page read again", i+1, got.Summary)
				}
				e.clock.Advance(time.Hour)
			}
		})
	}
}

// TestAllowHint: the 400 for a host outside the allow-list ends with how
// to allow it, as configured where the scraper runs.
func TestAllowHint(t *testing.T) {
	tests := []struct {
		name, hint, want string
	}{
		{"default", "", "url: host example.org is not in the allow-list; to allow it, add it to SCRAPE_ALLOW_HOSTS (host or host:port, comma-separated)"},
		{"devstack's", "start devstack with --allow-host HOST[:PORT]", "url: host example.org is not in the allow-list; to allow it, start devstack with --allow-host HOST[:PORT]"},
		{"the stack's", "pulumi config set --path 'allowHosts[0]' HOST", "url: host example.org is not in the allow-list; to allow it, pulumi config set --path 'allowHosts[0]' HOST"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, envOpts{cfg: func(c *scraper.Config) { c.AllowHint = tc.hint }})
			got := e.post(t, `{"url": "https://example.org/chart"}`)
			want := response{Status: http.StatusBadRequest, Error: struct{ Code, Message string }{"bad_parameter", tc.want}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("POST /scrape (-want +got):\n%s", diff)
			}
		})
	}
}

// gate is a sample site whose detail pages hold each request until want
// are in flight at once (or a second has passed), then let everything
// through after a moment; it records the most in flight.
type gate struct {
	site     http.Handler
	want     int
	mu       sync.Mutex
	inFlight int
	most     int
	open     chan struct{}
	once     sync.Once
}

func newGate(want int) *gate {
	return &gate{site: samplesite.New(samplesite.Options{}), want: want, open: make(chan struct{})}
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, samplesite.FilmPathPrefix) {
		g.site.ServeHTTP(w, r)
		return
	}
	g.mu.Lock()
	g.inFlight++
	g.most = max(g.most, g.inFlight)
	if g.inFlight >= g.want {
		// Leave time for any request beyond the limit to show up.
		g.once.Do(func() { time.AfterFunc(50*time.Millisecond, func() { close(g.open) }) })
	}
	g.mu.Unlock()
	select {
	case <-g.open:
	case <-time.After(time.Second):
	}
	g.site.ServeHTTP(w, r)
	g.mu.Lock()
	g.inFlight--
	g.mu.Unlock()
}

// TestDetailConcurrency: Config.DetailConcurrency bounds the detail pages
// fetched at once, and reaches it; 0 keeps the profile's.
func TestDetailConcurrency(t *testing.T) {
	for _, tc := range []struct{ cfg, want int }{
		{0, 8}, // movies.json's detail.concurrency
		{3, 3},
		{scraper.MaxDetailConcurrency, scraper.MaxDetailConcurrency},
	} {
		t.Run(fmt.Sprint(tc.cfg), func(t *testing.T) {
			g := newGate(tc.want)
			e := newEnv(t, envOpts{site: g, cfg: func(c *scraper.Config) {
				c.DetailConcurrency = tc.cfg
			}})
			got := e.post(t, "")
			if got.Status != http.StatusAccepted || got.Summary.Published != 250 {
				t.Fatalf("POST /scrape: %+v", got)
			}
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.most != tc.want {
				t.Errorf("at most %d detail pages in flight, want %d", g.most, tc.want)
			}
		})
	}
}
