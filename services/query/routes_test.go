package query

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
)

// TestRoutesRegistered checks that the handler serves exactly
// contract.QueryRoutes: each route's pattern is what the mux matches for a
// request of that route, and the patterns are unique (so none is
// registered twice or left out).
func TestRoutesRegistered(t *testing.T) {
	h := newTestHandler(t, embedded.NewMemory())
	seen := map[string]bool{}
	for _, r := range contract.QueryRoutes() {
		if (r.Pattern() != r.Method+" "+r.Path && r.Path != "/") || !strings.HasPrefix(r.Path, "/") {
			t.Errorf("route %+v: pattern %q is not its route key", r, r.Pattern())
		}
		if seen[r.Key()] {
			t.Errorf("route %s listed twice", r.Key())
		}
		seen[r.Key()] = true
		path := strings.NewReplacer("{id}", "some-id").Replace(r.Path)
		_, pattern := h.mux.Handler(httptest.NewRequest(r.Method, path, nil))
		if pattern != r.Pattern() {
			t.Errorf("%s %s is served by pattern %q, want %q", r.Method, path, pattern, r.Pattern())
		}
	}
	if want := 7 + len(contract.DashboardRoutes()); len(contract.QueryRoutes()) != want {
		t.Errorf("%d routes, want the 7 of the query API and the %d of the dashboard", len(contract.QueryRoutes()), len(contract.DashboardRoutes()))
	}
}

func TestNewRefuses(t *testing.T) {
	st := embedded.NewMemory()
	tests := []struct {
		name string
		st   Store
		opts Options
	}{
		{"nil store", nil, Options{CursorKey: testKey}},
		{"short key", st, Options{CursorKey: testKey[:31]}},
		{"long key", st, Options{CursorKey: append(testKey, 0)}},
		{"bad origin", st, Options{CursorKey: testKey, CORSOrigins: []string{"https://a.example/path"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h, err := New(tt.st, tt.opts); err == nil {
				t.Errorf("New = %v, nil; want an error", h)
			}
		})
	}
}

// TestRandomCursorKey checks that without a key the handler still signs
// cursors (with a per-process key) and warns about it.
func TestRandomCursorKey(t *testing.T) {
	var logs strings.Builder
	st := embedded.NewMemory()
	seed(t, st)
	h, err := New(st, Options{Logger: slogTo(&logs)})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "CURSOR_KEY") {
		t.Errorf("no warning about the missing key: %q", logs.String())
	}
	cur := cursorOf(t, h, "/movies?limit=2")
	if rec := serve(h, "GET", "/movies?limit=2&cursor="+cur); rec.Code != 200 {
		t.Errorf("own cursor: %d %s", rec.Code, rec.Body)
	}
	other, _ := New(st, Options{Logger: quietLog})
	if rec := serve(other, "GET", "/movies?limit=2&cursor="+cur); rec.Code != 400 {
		t.Errorf("cursor of another process's random key: %d, want 400", rec.Code)
	}
}

func slogTo(w io.Writer) *slog.Logger { return slog.New(slog.NewTextHandler(w, nil)) }
