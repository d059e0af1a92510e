package fetch_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/fetch"
)

func TestBlocked(t *testing.T) {
	tests := []struct {
		addr         string
		want         string // Blocked
		allowPrivate string // Allowed(…, true)
	}{
		{"127.0.0.1", "loopback", ""},
		{"127.8.9.10", "loopback", ""},
		{"::1", "loopback", ""},
		{"10.1.2.3", "private", ""},
		{"172.16.0.1", "private", ""},
		{"192.168.1.1", "private", ""},
		{"fd00::1", "private", ""},
		{"100.64.0.1", "carrier-grade NAT", ""},
		{"169.254.169.254", "link-local", "link-local"},
		{"fe80::1", "link-local", "link-local"},
		{"fe80::1%eth0", "link-local", "link-local"},
		{"0.0.0.0", "unspecified", "unspecified"},
		{"::", "unspecified", "unspecified"},
		{"0.1.2.3", "this-network", "this-network"},
		{"224.0.0.1", "multicast", "multicast"},
		{"ff02::1", "multicast", "multicast"},
		{"255.255.255.255", "reserved", "reserved"},
		{"::ffff:127.0.0.1", "loopback", ""},
		{"::ffff:169.254.169.254", "link-local", "link-local"},
		{"64:ff9b::a9fe:a9fe", "NAT64 of a link-local", "NAT64 of a link-local"},
		{"2002:7f00:1::", "6to4 of a loopback", "6to4 of a loopback"},
		{"192.0.2.1", "documentation", "documentation"},
		{"93.184.216.34", "", ""},
		{"8.8.8.8", "", ""},
		{"2606:4700::1111", "", ""},
		{"64:ff9b::808:808", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			a := netip.MustParseAddr(tc.addr)
			if got := fetch.Blocked(a); got != tc.want {
				t.Errorf("Blocked(%s) = %q, want %q", tc.addr, got, tc.want)
			}
			if got := fetch.Allowed(a, true); got != tc.allowPrivate {
				t.Errorf("Allowed(%s, true) = %q, want %q", tc.addr, got, tc.allowPrivate)
			}
		})
	}
}

// site serves the sample site with its test knobs, counting requests per
// path and recording the last User-Agent and Accept-Encoding.
type site struct {
	*httptest.Server
	hits   map[string]*atomic.Int64
	ua, ae atomic.Value
}

func newSite(t *testing.T, extra func(mux *http.ServeMux)) *site {
	t.Helper()
	s := &site{hits: map[string]*atomic.Int64{}}
	for _, p := range []string{"/robots.txt", samplesite.ChartPath, "/other"} {
		s.hits[p] = &atomic.Int64{}
	}
	mux := http.NewServeMux()
	if extra != nil {
		extra(mux)
	}
	mux.Handle("/", samplesite.New(samplesite.Options{Knobs: true}))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := s.hits[r.URL.Path]; c != nil {
			c.Add(1)
		}
		if r.URL.Path != "/robots.txt" {
			s.ua.Store(r.Header.Get("User-Agent"))
			s.ae.Store(r.Header.Get("Accept-Encoding"))
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *site) chart(query string) string {
	u := s.URL + samplesite.ChartPath
	if query != "" {
		u += "?" + query
	}
	return u
}

// fast are options for loopback tests: private addresses allowed, short
// backoffs.
func fast(mod ...func(*fetch.Options)) fetch.Options {
	o := fetch.Options{AllowPrivate: true, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, MaxRetryAfter: 3 * time.Second}
	for _, m := range mod {
		m(&o)
	}
	return o
}

func newFetcher(t *testing.T, o fetch.Options) *fetch.Fetcher {
	t.Helper()
	f, err := fetch.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// errSummary is what the tests compare of a failed fetch.
type errSummary struct {
	Kind     string
	Status   int
	Attempts int
}

func summarize(err error) errSummary {
	var fe *fetch.Error
	if !errors.As(err, &fe) {
		if err == nil {
			return errSummary{}
		}
		return errSummary{Kind: "not an *fetch.Error: " + err.Error()}
	}
	return errSummary{Kind: fe.Kind.Error(), Status: fe.Status, Attempts: fe.Attempts}
}

// TestHostile runs every hostile case against the sample site's knobs and
// small handlers of its own.
func TestHostile(t *testing.T) {
	s := newSite(t, func(mux *http.ServeMux) {
		mux.HandleFunc("/to-metadata", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		})
		mux.HandleFunc("/to-ftp", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "ftp://example.org/file", http.StatusFound)
		})
		mux.HandleFunc("/to-mapped", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://[::ffff:169.254.169.254]/", http.StatusFound)
		})
		mux.HandleFunc("/no-type", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil
			w.Write([]byte("<html></html>"))
		})
	})
	port := s.Listener.Addr().(*net.TCPAddr).Port
	metadataName := func(ctx context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "evil.test":
			return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
		case "metadata.test":
			return []netip.Addr{netip.MustParseAddr("169.254.169.254")}, nil
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
	tests := []struct {
		name string
		opts fetch.Options
		url  string
		want errSummary
	}{
		{"loopback refused by default", fetch.Options{MaxAttempts: 1}, s.chart(""), errSummary{Kind: "address not allowed", Attempts: 1}},
		{"a DNS name resolving to 127.0.0.1 refused by default", fetch.Options{Resolve: metadataName, MaxAttempts: 1},
			fmt.Sprintf("http://evil.test:%d/site/chart", port), errSummary{Kind: "address not allowed", Attempts: 1}},
		{"a DNS name resolving to the metadata address refused even with private allowed", fast(func(o *fetch.Options) { o.Resolve = metadataName }),
			"http://metadata.test/latest/meta-data/", errSummary{Kind: "address not allowed", Attempts: 1}},
		{"redirect to 169.254.169.254 refused", fast(), s.URL + "/to-metadata", errSummary{Kind: "address not allowed", Attempts: 1}},
		{"redirect to an IPv4-mapped metadata address refused", fast(), s.URL + "/to-mapped", errSummary{Kind: "address not allowed", Attempts: 1}},
		{"redirect to ftp refused", fast(), s.URL + "/to-ftp", errSummary{Kind: "bad redirect", Attempts: 1}},
		{"six redirects are too many", fast(), s.chart("redirects=6"), errSummary{Kind: "bad redirect", Attempts: 1}},
		{"robots.txt disallows the path", fast(), s.URL + samplesite.DisallowedPrefix + "x", errSummary{Kind: "disallowed by robots.txt"}},
		{"robots.txt disallows everything for BadBot", fast(func(o *fetch.Options) { o.UserAgent = "BadBot/2.0" }), s.chart(""), errSummary{Kind: "disallowed by robots.txt"}},
		{"a page over the cap is too large", fast(), s.chart("huge=11000000"), errSummary{Kind: "page too large", Status: 200, Attempts: 1}},
		{"a page over a small cap is too large", fast(func(o *fetch.Options) { o.MaxBytes = 1000 }), s.chart(""), errSummary{Kind: "page too large", Status: 200, Attempts: 1}},
		{"JSON is not HTML", fast(), s.chart("ctype=application/json"), errSummary{Kind: "not an HTML page", Status: 200, Attempts: 1}},
		{"no content type is not HTML", fast(), s.URL + "/no-type", errSummary{Kind: "not an HTML page", Status: 200, Attempts: 1}},
		{"a persistent 500 is retried, then fails", fast(), s.chart("status=500"), errSummary{Kind: "error status", Status: 500, Attempts: 3}},
		{"a 404 is not retried", fast(), s.URL + "/site/films/nope", errSummary{Kind: "error status", Status: 404, Attempts: 1}},
		{"a Retry-After over the limit ends at once", fast(), s.chart("status=429&retryAfter=3600"), errSummary{Kind: "error status", Status: 429, Attempts: 1}},
		{"slow headers time out", fast(func(o *fetch.Options) { o.HeaderTimeout = 50 * time.Millisecond; o.MaxAttempts = 2 }),
			s.chart("slow=3s"), errSummary{Kind: "unreachable", Attempts: 2}},
		{"a stalled body times out", fast(func(o *fetch.Options) { o.RequestTimeout = 200 * time.Millisecond; o.MaxAttempts = 1 }),
			s.chart("stall=3s"), errSummary{Kind: "unreachable", Attempts: 1}},
		{"bad URL", fast(), "ftp://example.org/", errSummary{Kind: "bad URL"}},
		{"credentials in the URL", fast(), "http://user:pw@example.org/", errSummary{Kind: "bad URL"}},
		{"relative URL", fast(), "/site/chart", errSummary{Kind: "bad URL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFetcher(t, tc.opts)
			page, err := f.Fetch(t.Context(), fetch.Request{URL: tc.url})
			if page != nil {
				t.Errorf("got a page: status %d, %d bytes", page.Status, len(page.Body))
			}
			if diff := cmp.Diff(tc.want, summarize(err)); diff != "" {
				t.Errorf("error %v (-want +got):\n%s", err, diff)
			}
		})
	}
}

func TestFetchPolitely(t *testing.T) {
	s := newSite(t, nil)
	f := newFetcher(t, fast())
	robots := fetch.NewRobots()
	var pages []*fetch.Page
	for p := 1; p <= 3; p++ {
		page, err := f.Fetch(t.Context(), fetch.Request{URL: s.chart(fmt.Sprintf("page=%d", p)), Robots: robots})
		if err != nil {
			t.Fatalf("page %d: %v", p, err)
		}
		pages = append(pages, page)
	}
	if n := s.hits["/robots.txt"].Load(); n != 1 {
		t.Errorf("robots.txt fetched %d times in one run, want 1", n)
	}
	if ua := s.ua.Load(); ua != fetch.DefaultUserAgent {
		t.Errorf("User-Agent %q, want %q", ua, fetch.DefaultUserAgent)
	}
	if ae := s.ae.Load(); ae != "gzip" {
		t.Errorf("Accept-Encoding %q, want gzip", ae)
	}
	p1 := pages[0]
	if !strings.Contains(string(p1.Body), "The Shawshank Redemption") || p1.ETag == "" || p1.LastModified == "" || p1.Attempts != 1 {
		t.Errorf("page 1: status %d, etag %q, last-modified %q, attempts %d, body %.80q", p1.Status, p1.ETag, p1.LastModified, p1.Attempts, p1.Body)
	}
	// A new run fetches robots.txt again.
	if _, err := f.Fetch(t.Context(), fetch.Request{URL: s.chart(""), Robots: fetch.NewRobots()}); err != nil {
		t.Fatal(err)
	}
	if n := s.hits["/robots.txt"].Load(); n != 2 {
		t.Errorf("robots.txt fetched %d times in two runs, want 2", n)
	}

	t.Run("conditional GET", func(t *testing.T) {
		for name, req := range map[string]fetch.Request{
			"etag":          {URL: p1.URL, ETag: p1.ETag},
			"last-modified": {URL: p1.URL, LastModified: p1.LastModified},
		} {
			got, err := f.Fetch(t.Context(), req)
			if err != nil || !got.NotModified || len(got.Body) != 0 {
				t.Errorf("%s: %+v, %v; want NotModified", name, got, err)
			}
		}
		got, err := f.Fetch(t.Context(), fetch.Request{URL: p1.URL, ETag: `"stale"`})
		if err != nil || got.NotModified || len(got.Body) == 0 {
			t.Errorf("stale etag: %+v, %v; want the page", got, err)
		}
	})
	t.Run("five redirects are fine", func(t *testing.T) {
		got, err := f.Fetch(t.Context(), fetch.Request{URL: s.chart("redirects=5&page=2")})
		if err != nil {
			t.Fatal(err)
		}
		if want := s.chart("page=2"); got.URL != want {
			t.Errorf("final URL %s, want %s", got.URL, want)
		}
	})
	t.Run("flaky pages are retried", func(t *testing.T) {
		got, err := f.Fetch(t.Context(), fetch.Request{URL: s.chart("flaky=2&page=4")})
		if err != nil || got.Attempts != 3 {
			t.Fatalf("%v, %v; want success on attempt 3", got, err)
		}
	})
	t.Run("malformed HTML is still HTML", func(t *testing.T) {
		if _, err := f.Fetch(t.Context(), fetch.Request{URL: s.chart("malformed=1")}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRetryAfterIsHonoured: the wait before the second attempt is at least
// the server's Retry-After (a lower bound, not a timing benchmark).
func TestRetryAfterIsHonoured(t *testing.T) {
	s := newSite(t, nil)
	f := newFetcher(t, fast())
	began := time.Now()
	page, err := f.Fetch(t.Context(), fetch.Request{URL: s.chart("flaky=1&status=429&retryAfter=1&page=5")})
	if err != nil || page.Attempts != 2 {
		t.Fatalf("%v, %v; want success on attempt 2", page, err)
	}
	if took := time.Since(began); took < time.Second {
		t.Errorf("second attempt after %v, before Retry-After: 1", took)
	}
}

// TestDeadline: a fetch never outlives its context, retries included,
// whether the headers are late or the body stops half way: the per-attempt
// timeouts (30s by default) draw on the context's deadline.
func TestDeadline(t *testing.T) {
	s := newSite(t, nil)
	f := newFetcher(t, fast(func(o *fetch.Options) { o.MaxAttempts = 10 }))
	for _, knob := range []string{"slow=10s", "stall=10s"} {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		began := time.Now()
		_, err := f.Fetch(ctx, fetch.Request{URL: s.chart(knob)})
		took := time.Since(began)
		cancel()
		if err == nil {
			t.Fatalf("%s: fetch of a 10s page succeeded within 300ms", knob)
		}
		if took > 3*time.Second {
			t.Errorf("%s: fetch returned after %v, past its 300ms deadline", knob, took)
		}
	}
}

func TestRobotsUnavailable(t *testing.T) {
	tests := []struct {
		name   string
		status int
		want   errSummary
	}{
		{"404 means no rules", http.StatusNotFound, errSummary{}},
		{"403 means no rules", http.StatusForbidden, errSummary{}},
		{"503 means nothing may be fetched", http.StatusServiceUnavailable, errSummary{Kind: "error status", Status: 503, Attempts: 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/robots.txt" {
					w.WriteHeader(tc.status)
					return
				}
				w.Header().Set("Content-Type", "text/html")
				w.Write([]byte("<p>hello</p>"))
			}))
			defer srv.Close()
			_, err := newFetcher(t, fast()).Fetch(t.Context(), fetch.Request{URL: srv.URL + "/page"})
			if diff := cmp.Diff(tc.want, summarize(err)); diff != "" {
				t.Errorf("error %v (-want +got):\n%s", err, diff)
			}
		})
	}
}

// TestRedirectTargetRobots: a redirect to a path robots.txt disallows is
// refused.
func TestRedirectTargetRobots(t *testing.T) {
	s := newSite(t, func(mux *http.ServeMux) {
		mux.HandleFunc("/other", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, samplesite.DisallowedPrefix+"secret", http.StatusFound)
		})
	})
	_, err := newFetcher(t, fast()).Fetch(t.Context(), fetch.Request{URL: s.URL + "/other"})
	if !errors.Is(err, fetch.ErrRobots) {
		t.Errorf("error %v, want ErrRobots", err)
	}
}

func TestProductToken(t *testing.T) {
	for ua, want := range map[string]string{
		fetch.DefaultUserAgent:       "scrape-pipeline",
		"BadBot/2.0":                 "badbot",
		"  Mozilla/5.0 (X11; Linux)": "mozilla",
		"my crawler":                 "my",
		"":                           "",
	} {
		if got := fetch.ProductToken(ua); got != want {
			t.Errorf("ProductToken(%q) = %q, want %q", ua, got, want)
		}
	}
	if _, err := fetch.New(fetch.Options{UserAgent: "/1.0"}); err == nil {
		t.Error("New accepted a user agent without a product token")
	}
}

// TestAllowAddrs lets exactly one loopback listener through (devstack's
// sample site) and keeps every other loopback port refused.
func TestAllowAddrs(t *testing.T) {
	allowed := newSite(t, nil)
	other := newSite(t, nil)
	ap := netip.MustParseAddrPort(allowed.Listener.Addr().String())
	f := newFetcher(t, fetch.Options{AllowAddrs: []netip.AddrPort{ap}, MaxAttempts: 1})
	if _, err := f.Fetch(t.Context(), fetch.Request{URL: allowed.chart("")}); err != nil {
		t.Errorf("fetch from the allowed listener: %v", err)
	}
	_, err := f.Fetch(t.Context(), fetch.Request{URL: other.chart("")})
	if diff := cmp.Diff(errSummary{Kind: "address not allowed", Attempts: 1}, summarize(err)); diff != "" {
		t.Errorf("fetch from another loopback port (-want +got):\n%s", diff)
	}
}
