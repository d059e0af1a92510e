package samplesite

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzRequest feeds arbitrary paths, queries and request headers (all from
// outside) to the handler with knobs on, frozen and drifting: it must
// never panic, must answer with a status the site documents, and must not
// echo control characters into headers. The request context is already cancelled, so slow= and
// stall= return at once and huge= stops after its first write.
func FuzzRequest(f *testing.F) {
	for _, seed := range []struct{ path, query, acceptEncoding, ifNoneMatch, ifModifiedSince string }{
		{"/site/chart", "page=2", "gzip", "", ""},
		{"/site/chart", "status=429&retryAfter=3", "", "", ""},
		{"/site/chart", "flaky=2&page=3", "br, gzip;q=0.5", `"x", W/"y"`, ""},
		{"/site/chart", "huge=60000&ctype=application/json", "*;q=0", "*", ""},
		{"/site/chart", "malformed=1&redirects=3", "gzip;q=abc", "", "Sat, 01 Mar 2025 00:00:00 GMT"},
		{"/site/films/the-godfather-1972", "slow=1s&stall=1s", "x-gzip", "", "garbage"},
		{"/robots.txt", "ctype=text/plain%3Bcharset=utf-8", "", "", ""},
		{"/site/", "status=600&slow=-1s&page=%zz", "", "", ""},
		{"/site/../etc/passwd", "", "", "", ""},
	} {
		f.Add(seed.path, seed.query, seed.acceptEncoding, seed.ifNoneMatch, seed.ifModifiedSince)
	}
	now := time.Date(2026, 5, 4, 12, 34, 56, 0, time.UTC)
	sites := []http.Handler{
		New(Options{Knobs: true}),
		New(Options{Knobs: true, Drift: time.Minute, Now: func() time.Time { return now }}),
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f.Fuzz(func(t *testing.T, path, query, acceptEncoding, ifNoneMatch, ifModifiedSince string) {
		for _, h := range sites {
			serveFuzzed(t, ctx, h, path, query, acceptEncoding, ifNoneMatch, ifModifiedSince)
		}
	})
}

// serveFuzzed serves one fuzzed request and checks the answer.
func serveFuzzed(t *testing.T, ctx context.Context, h http.Handler, path, query, acceptEncoding, ifNoneMatch, ifModifiedSince string) {
	u := &url.URL{Path: "/" + strings.TrimPrefix(path, "/"), RawQuery: query}
	req, err := http.NewRequestWithContext(ctx, "GET", "http://site.test"+u.RequestURI(), nil)
	if err != nil {
		return // not a request line a client could send
	}
	req.Header.Set("Accept-Encoding", acceptEncoding)
	req.Header.Set("If-None-Match", ifNoneMatch)
	req.Header.Set("If-Modified-Since", ifModifiedSince)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	switch code := rec.Code; {
	// 301/307: ServeMux cleaning paths such as "/./robots.txt".
	case code == 200, code == 301, code == 302, code == 304, code == 307, code >= 400 && code <= 599:
	default:
		t.Fatalf("%s: status %d", u, code)
	}
	for k, vs := range rec.Header() {
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n") {
				t.Fatalf("%s: header %s has a line break: %q", u, k, v)
			}
		}
	}
	if rec.Code >= 300 && rec.Code < 400 && rec.Code != 304 {
		if loc := rec.Header().Get("Location"); !strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") {
			t.Fatalf("%s: redirect leaves the site: %q", u, loc)
		}
	}
}
