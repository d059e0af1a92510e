package ui

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkPages measures the server's share of a page view: routing,
// the store's listing (in-memory embedded store, the test fixture) and
// rendering the template.
func BenchmarkPages(b *testing.B) {
	h := newDash(b, seeded(b), Config{StatusPath: "/_devstack/status"})
	for _, p := range []string{"/", "/ui/movies", "/ui/movies/" + godfather, "/ui/runs", "/ui/errors"} {
		b.Run(p, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, p, nil)
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
			}
		})
	}
}
