package ui

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
)

// FuzzPages sends any path and query string to the dashboard: every answer
// is an HTML page with the security headers, never a 5xx, and nothing of
// the request comes back as markup.
func FuzzPages(f *testing.F) {
	for _, s := range []string{"/?", "/ui/movies?year=1994", "/ui/movies?year=&cursor=", "/ui/runs?status=running&cursor=x",
		"/ui/movies/the-godfather-1972?cursor=abc", "/ui/errors?cursor=%zz", "/ui/static/app.js", "/ui/runs/<b>x</b>",
		"/ui/movies?year=1994&year=1995", "/ui/movies?<script>=1"} {
		f.Add(s)
	}
	st := embedded.NewMemory()
	seed(f, st)
	h := newDash(f, st, Config{})
	f.Fuzz(func(t *testing.T, target string) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n#") || !utf8.ValidString(target) {
			return // not a request target httptest would send
		}
		r, err := http.NewRequest(http.MethodGet, "http://h"+target, nil)
		if err != nil {
			return
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("GET %q = %d", target, w.Code)
		}
		if w.Header().Get("Content-Security-Policy") != ContentSecurityPolicy {
			t.Fatalf("GET %q: no CSP", target)
		}
		if strings.HasPrefix(r.URL.Path, StaticPrefix) && w.Code == 200 {
			return
		}
		if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Fatalf("GET %q: Content-Type %q", target, ct)
		}
		if strings.Contains(w.Body.String(), "<script>") {
			t.Fatalf("GET %q: a <script> element in the answer", target)
		}
	})
}

// FuzzPreview checks that a preview of any payload is valid UTF-8 text or
// hex, never longer than the limits, and shows no control character but
// newline and tab.
func FuzzPreview(f *testing.F) {
	f.Add([]byte(xss), 30)
	f.Add([]byte("ab\xc3"), 3)
	f.Add([]byte{0xff, 0, 0xfe}, 1000)
	f.Fuzz(func(t *testing.T, p []byte, size int) {
		size = max(size, len(p))
		pv := newPreview(p, size)
		// Empty only when nothing could be shown (a character cut by the
		// store's preview limit was all there was).
		if (pv.Text == "") == (pv.Hex == "") && pv.Shown > 0 || pv.Text != "" && pv.Hex != "" {
			t.Fatalf("preview of %q: text %q hex %q", p, pv.Text, pv.Hex)
		}
		if !utf8.ValidString(pv.Text) || pv.Shown > PreviewBytes || pv.Shown > len(p) || pv.Size != size {
			t.Fatalf("preview of %q: %+v", p, pv)
		}
		for _, r := range pv.Text {
			if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f || r >= 0x202a && r <= 0x202e {
				t.Fatalf("preview of %q shows %U", p, r)
			}
		}
	})
}
