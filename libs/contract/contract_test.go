package contract

import (
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
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

// TestRoutesAreFresh: each call returns a slice of its own, so no caller
// can change another's routes.
func TestRoutesAreFresh(t *testing.T) {
	for name, routes := range map[string]func() []Route{
		"ScraperRoutes": ScraperRoutes, "QueryAPIRoutes": QueryAPIRoutes, "DashboardRoutes": DashboardRoutes,
		"QueryRoutes": QueryRoutes, "SampleSiteRoutes": SampleSiteRoutes,
	} {
		a := routes()
		want := a[0]
		a[0] = Route{"DELETE", "/changed"}
		if got := routes()[0]; got != want {
			t.Errorf("%s()[0] = %v after a caller changed its copy, want %v", name, got, want)
		}
	}
}

// TestRoutesAreAPIGatewayRoutes: every route is a valid API Gateway route
// key, and no key belongs to two services (API Gateway routes a key to one
// integration).
func TestRoutesAreAPIGatewayRoutes(t *testing.T) {
	apiPath := regexp.MustCompile(`^/$|^(/[A-Za-z0-9._-]+|/\{[a-z]+\})+$`)
	owner := map[string]string{}
	for name, routes := range map[string][]Route{
		"scraper": ScraperRoutes(), "query": QueryRoutes(), "sample site": SampleSiteRoutes(),
	} {
		for _, r := range routes {
			if !slices.Contains([]string{"GET", "POST"}, r.Method) || !apiPath.MatchString(r.Path) {
				t.Errorf("%s route %q is not an API Gateway route key", name, r.Key())
			}
			if o, ok := owner[r.Key()]; ok {
				t.Errorf("route %s is both the %s's and the %s's", r.Key(), o, name)
			}
			owner[r.Key()] = name
		}
	}
	if diff := cmp.Diff(slices.Concat(QueryAPIRoutes(), DashboardRoutes()), QueryRoutes()); diff != "" {
		t.Errorf("QueryRoutes (-API and dashboard +got):\n%s", diff)
	}
}

// TestScheduleInputKeys ties ScheduleInput's JSON tags to the key names
// the scraper parses with.
func TestScheduleInputKeys(t *testing.T) {
	var got []string
	for f := range reflect.TypeFor[ScheduleInput]().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		got = append(got, name)
	}
	if diff := cmp.Diff(ScheduleKeys(), got); diff != "" {
		t.Errorf("ScheduleInput's JSON keys (-ScheduleKeys +tags):\n%s", diff)
	}
}

func TestScheduledScrapeJSON(t *testing.T) {
	tests := []struct{ url, want string }{
		{"", `{"scrape-pipeline":"schedule","scheduledTime":"<aws.scheduler.scheduled-time>","executionId":"<aws.scheduler.execution-id>"}`},
		{"https://films.example/chart?a=1&b=2", `{"scrape-pipeline":"schedule","url":"https://films.example/chart?a=1&b=2","scheduledTime":"<aws.scheduler.scheduled-time>","executionId":"<aws.scheduler.execution-id>"}`},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, ScheduledScrape(tc.url).JSON()); diff != "" {
			t.Errorf("ScheduledScrape(%q).JSON() (-want +got):\n%s", tc.url, diff)
		}
	}
}
