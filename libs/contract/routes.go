package contract

import "slices"

// Route is one HTTP route of a service, as an API Gateway route key
// ("GET /movies/{id}") and as a Go 1.22 ServeMux pattern.
type Route struct {
	Method string
	Path   string
}

// Key is the API Gateway route key, e.g. "GET /movies/{id}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// Pattern is the net/http ServeMux pattern of the route: its key, except
// that the root path "/" becomes "/{$}". API Gateway's "GET /" matches the
// root only, a ServeMux's "GET /" every GET path below it.
func (r Route) Pattern() string { return r.Method + " " + r.PathPattern() }

// PathPattern is the ServeMux pattern of the route's path for every
// method ("/movies/{id}", "/{$}"), for a router that passes each method
// on and lets the service's own mux answer 405.
func (r Route) PathPattern() string {
	if r.Path == "/" {
		return "/{$}"
	}
	return r.Path
}

// Paths that another party than the service names: the scraper's route,
// which infra authorises and throttles on its own; the sample site's chart,
// the page the scraper fetches by default when the stack deploys the site.
const (
	ScrapePath          = "/scrape"
	SampleSiteChartPath = "/site/chart"
)

// The route lists below are what each HTTP-facing service registers,
// exactly (each service's tests check it), what infra builds the API
// Gateway routes from and what devstack mounts. Each call returns a fresh
// slice: a caller may keep or change it without changing anyone else's.

// ScrapeRoute is the route that starts a scrape: infra authorises it
// (IAM unless the stack's scrapeAuth is none) and throttles it on its own,
// and the deployer policy lets an attendee invoke it.
var ScrapeRoute = Route{Method: "POST", Path: ScrapePath}

// ScraperRoutes returns the scraper's routes: POST /scrape.
func ScraperRoutes() []Route {
	return []Route{ScrapeRoute}
}

// QueryAPIRoutes returns the query service's JSON API routes.
func QueryAPIRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/movies"},
		{Method: "GET", Path: "/movies/{id}"},
		{Method: "GET", Path: "/movies/{id}/history"},
		{Method: "GET", Path: "/runs"},
		{Method: "GET", Path: "/runs/{id}"},
		{Method: "GET", Path: "/errors"},
		{Method: "GET", Path: "/errors/{id}"},
	}
}

// DashboardRoutes returns the routes of the query service's dashboard, its
// HTML pages beside the API: the overview at the root, the pages under
// /ui/ and their static files.
func DashboardRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/"},
		{Method: "GET", Path: "/ui/movies"},
		{Method: "GET", Path: "/ui/movies/{id}"},
		{Method: "GET", Path: "/ui/runs"},
		{Method: "GET", Path: "/ui/runs/{id}"},
		{Method: "GET", Path: "/ui/errors"},
		{Method: "GET", Path: "/ui/static/{file}"},
	}
}

// QueryRoutes returns every route of the query service: the API's
// (QueryAPIRoutes), then the dashboard's (DashboardRoutes).
func QueryRoutes() []Route {
	return slices.Concat(QueryAPIRoutes(), DashboardRoutes())
}

// SampleSiteRoutes returns the sample site's routes. The index is listed
// as "GET /site" because API Gateway route paths cannot end in "/" (it
// routes "/site/" to "/site"); the site serves both.
func SampleSiteRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/robots.txt"},
		{Method: "GET", Path: "/site"},
		{Method: "GET", Path: SampleSiteChartPath},
		{Method: "GET", Path: "/site/films/{id}"},
		{Method: "GET", Path: "/site/static/style.css"},
	}
}
