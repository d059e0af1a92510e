package fetch_test

import (
	"strings"
	"testing"

	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/fetch"
)

func TestRobots(t *testing.T) {
	const txt = `# example
User-agent: BadBot
Disallow: /

User-agent: scrape-pipeline
User-agent: other
Disallow: /private/
Allow: /private/open
Disallow: /*.pdf$
Disallow: /search?q=*secret
Sitemap: https://example.org/sitemap.xml

user-agent: *
disallow: /tmp
Disallow:
`
	tests := []struct {
		token string
		path  string
		want  bool
	}{
		{"scrape-pipeline", "/", true},
		{"scrape-pipeline", "/private/x", false},
		{"scrape-pipeline", "/private/open", true},        // longer allow wins
		{"scrape-pipeline", "/private/opener/file", true}, // prefix
		{"scrape-pipeline", "/doc.pdf", false},
		{"scrape-pipeline", "/doc.pdf?x=1", true}, // $ anchors the end
		{"scrape-pipeline", "/search?q=top-secret", false},
		{"scrape-pipeline", "/search?q=public", true},
		{"scrape-pipeline", "/tmp/x", true}, // the * group does not apply
		{"other", "/private/x", false},      // groups with several agents
		{"BADBOT", "/anything", false},      // case-insensitive
		{"badbot", "/robots.txt", true},     // always allowed
		{"unknown", "/tmp/x", false},        // falls back to *
		{"unknown", "/private/x", true},
	}
	for _, tc := range tests {
		got := fetch.ParseRobots([]byte(txt), tc.token).Allowed(tc.path)
		if got != tc.want {
			t.Errorf("Allowed(%s, %s) = %v, want %v", tc.token, tc.path, got, tc.want)
		}
	}
}

func TestRobotsEdgeCases(t *testing.T) {
	tests := []struct {
		name, txt, path string
		want            bool
	}{
		{"empty file", "", "/x", true},
		{"no group for anyone", "Disallow: /", "/x", true},
		{"rules before any agent are ignored", "Disallow: /\nUser-agent: *\nAllow: /", "/x", true},
		{"tie goes to allow", "User-agent: *\nDisallow: /a\nAllow: /a", "/a", true},
		{"star in the middle", "User-agent: *\nDisallow: /a*z", "/a/b/c/z/more", false},
		{"star then dollar", "User-agent: *\nDisallow: /*.gif$", "/x.gif", false},
		{"dollar only matches the end", "User-agent: *\nDisallow: /x$", "/x/y", true},
		{"CRLF line ends", "User-agent: *\r\nDisallow: /x\r\n", "/x", false},
		{"comment after a rule", "User-agent: * # all\nDisallow: /x # no", "/x", false},
		{"version after the token", "User-agent: scrape-pipeline/2.0\nDisallow: /", "/x", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := fetch.ParseRobots([]byte(tc.txt), "scrape-pipeline").Allowed(tc.path); got != tc.want {
				t.Errorf("Allowed(%s) = %v, want %v", tc.path, got, tc.want)
			}
		})
	}
}

// FuzzRobots: ParseRobots and Allowed never panic or hang on any input, and
// /robots.txt is always allowed.
func FuzzRobots(f *testing.F) {
	f.Add([]byte("User-agent: *\nDisallow: /private/\nAllow: /*.html$\n"), "/private/a.html")
	f.Add([]byte("User-agent: scrape-pipeline\nDisallow: /**********************a$"), "/"+strings.Repeat("*", 200))
	f.Add([]byte("user-agent:*\ndisallow:*"), "")
	f.Fuzz(func(t *testing.T, data []byte, path string) {
		if len(data) > 1<<20 || len(path) > 4096 {
			return // larger than a fuzz input needs to be
		}
		r := fetch.ParseRobots(data, "scrape-pipeline")
		r.Allowed(path)
		if !r.Allowed("/robots.txt") {
			t.Error("/robots.txt disallowed")
		}
	})
}
