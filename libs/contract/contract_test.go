package contract

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRoutePattern checks that a route's pattern matches on a ServeMux
// exactly the paths API Gateway sends to the route: the root route only
// the root, the others their own paths.
func TestRoutePattern(t *testing.T) {
	tests := []struct {
		route         Route
		pattern, path string
		matches       []string
		misses        []string
	}{
		{Route{"GET", "/"}, "GET /{$}", "/{$}", []string{"/"}, []string{"/movies", "/ui/x"}},
		{Route{"GET", "/movies"}, "GET /movies", "/movies", []string{"/movies"}, []string{"/movies/x", "/"}},
		{Route{"GET", "/movies/{id}"}, "GET /movies/{id}", "/movies/{id}", []string{"/movies/x"}, []string{"/movies", "/movies/x/y"}},
	}
	for _, tt := range tests {
		t.Run(tt.route.Key(), func(t *testing.T) {
			if got := tt.route.Pattern(); got != tt.pattern {
				t.Errorf("Pattern() = %q, want %q", got, tt.pattern)
			}
			if got := tt.route.PathPattern(); got != tt.path {
				t.Errorf("PathPattern() = %q, want %q", got, tt.path)
			}
			mux := http.NewServeMux()
			mux.HandleFunc(tt.route.Pattern(), func(http.ResponseWriter, *http.Request) {})
			for _, p := range tt.matches {
				if _, pat := mux.Handler(httptest.NewRequest(tt.route.Method, p, nil)); pat != tt.route.Pattern() {
					t.Errorf("%s does not match %s", tt.route.Pattern(), p)
				}
			}
			for _, p := range tt.misses {
				if _, pat := mux.Handler(httptest.NewRequest(tt.route.Method, p, nil)); pat != "" {
					t.Errorf("%s matches %s", tt.route.Pattern(), p)
				}
			}
		})
	}
}
