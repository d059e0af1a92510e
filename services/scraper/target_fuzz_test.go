package scraper

import (
	"cmp"
	"net"
	"strings"
	"testing"
)

// FuzzCheckTarget feeds URLs and allow-list entries to checkTarget and
// hostAllowed. An accepted URL is absolute http(s) with a host and no
// credentials, and so is its String(), the form readTarget hands on:
// Scrape checks that string again and the fetcher parses it again, so it
// must be accepted again and name the same host, allowed or not alike. An
// allow-list entry lets a URL through only for its own host, without case,
// and its own port (without one, the scheme's default port).
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
		defaultPort := map[string]string{"http": "80", "https": "443"}[u.Scheme]
		host, port := allow, defaultPort
		if h, p, err := net.SplitHostPort(allow); err == nil {
			host, port = h, p
		}
		if !strings.EqualFold(strings.Trim(host, "[]"), u.Hostname()) {
			t.Fatalf("allow-list %q let through %q, host %q", list, raw, u.Hostname())
		}
		if got := cmp.Or(u.Port(), defaultPort); got != port {
			t.Fatalf("allow-list %q let through %q, port %s", list, raw, got)
		}
	})
}

func TestHostAllowed(t *testing.T) {
	allow := []string{"films.test", "other.test:8443", "[::1]:8080", "[2001:db8::1]"}
	for _, tc := range []struct {
		url  string
		want bool
	}{
		{"http://films.test/chart", true},
		{"https://films.test/chart", true},
		{"http://films.test:80/chart", true},
		{"https://FILMS.test:443/chart", true},
		{"http://films.test:8080/chart", false}, // no port named: only the default one
		{"https://films.test:22/", false},
		{"http://films.test:443/", false}, // https's port under http
		{"https://other.test:8443/", true},
		{"https://other.test/", false},
		{"http://[::1]:8080/", true},
		{"http://[::1]/", false},
		{"https://[2001:db8::1]/", true},
		{"https://[2001:db8::1]:8443/", false},
		{"https://evil.test/", false},
		{"https://films.test.evil.test/", false},
	} {
		u, err := checkTarget(tc.url)
		if err != nil {
			t.Fatalf("checkTarget(%q): %v", tc.url, err)
		}
		if got := hostAllowed(allow, u); got != tc.want {
			t.Errorf("hostAllowed(%q) = %v, want %v", tc.url, got, tc.want)
		}
	}
}
