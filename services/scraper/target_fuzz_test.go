package scraper

import (
	"net"
	"strings"
	"testing"
)

// FuzzCheckTarget feeds URLs and allow-list entries to checkTarget and
// hostAllowed. An accepted URL is absolute http(s) with a host and no
// credentials, and so is its String(), the form readTarget hands on:
// Scrape checks that string again and the fetcher parses it again, so it
// must be accepted again and name the same host, allowed or not alike. An
// allow-list entry lets a URL through only for its own host, without case.
func FuzzCheckTarget(f *testing.F) {
	for _, tc := range []struct{ raw, allow string }{
		{"http://films.test/site/chart?page=1", "films.test"},
		{"https://FILMS.test:8443/a?b#c", "films.test:8443"},
		{"https://other.test/", "other.test:443"},
		{"http://[::1]:8080/", "[::1]:8080"},
		{"http://[::1%25eth0]:8080/", "[::1]:8080"},
		{"https://example.org/chart", "films.test"},
		{"file:///etc/passwd", "films.test"},
		{"http://a:b@films.test/", "films.test"},
		{"//films.test/x", "films.test"},
		{"http:films.test", "films.test"},
		{"http://films.test%2eevil/", "films.test"},
		{"http://films.test:99999/", "films.test"},
		{"HTTP://films.test", "films.test:80"},
	} {
		f.Add(tc.raw, tc.allow)
	}
	f.Fuzz(func(t *testing.T, raw, allow string) {
		u, err := checkTarget(raw)
		if err != nil {
			if u != nil {
				t.Errorf("checkTarget(%q) returned a URL with its error", raw)
			}
			return
		}
		if !u.IsAbs() || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil || len(raw) > 2048 {
			t.Fatalf("checkTarget accepted %q: want an absolute http(s) URL of at most 2048 bytes with a host and no credentials", raw)
		}
		s := u.String()
		again, err := checkTarget(s)
		if err != nil {
			t.Fatalf("checkTarget accepted %q but not its String() %q: %v", raw, s, err)
		}
		if again.Scheme != u.Scheme || again.Host != u.Host {
			t.Fatalf("%q names %s://%s; its String() %q names %s://%s", raw, u.Scheme, u.Host, s, again.Scheme, again.Host)
		}
		if checkHostPattern(allow) != nil {
			return // Config.Validate refuses such an entry
		}
		list := []string{allow}
		ok := hostAllowed(list, u)
		if hostAllowed(list, again) != ok {
			t.Fatalf("allow-list %q: %q allowed %v, its String() %q allowed %v", list, raw, ok, s, !ok)
		}
		if hostAllowed([]string{strings.ToUpper(allow)}, u) != ok {
			t.Fatalf("allow-list %q: %q allowed %v, but not alike with the entry in upper case", list, raw, ok)
		}
		if !ok {
			return
		}
		host := allow
		if h, _, err := net.SplitHostPort(allow); err == nil {
			host = h
		}
		if !strings.EqualFold(strings.Trim(host, "[]"), u.Hostname()) {
			t.Fatalf("allow-list %q let through %q, host %q", list, raw, u.Hostname())
		}
	})
}
