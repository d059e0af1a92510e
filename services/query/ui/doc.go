// Package ui is the pipeline's dashboard: a few server-rendered web pages,
// served by the query service beside its JSON API (same origin), that show
// what the pipeline knows to people who would rather look than curl.
//
//	GET /                 overview: the latest runs (live while one is in
//	                      flight), totals, the latest failures, the stream
//	                      panel (devstack) and a way to start a scrape
//	GET /ui/movies        the films, a page at a time (?year=, ?cursor=)
//	GET /ui/movies/{id}   one film, with charts of its rating and rank over time
//	GET /ui/runs          the runs, newest first (?status=, ?cursor=)
//	GET /ui/runs/{id}     one run's counters and trigger
//	GET /ui/errors        failed records with their payload previews (?cursor=)
//	GET /ui/static/{file} the stylesheet, the script and the icon
//
// contract.DashboardRoutes lists them; the handler registers exactly these,
// and they are among the query service's routes (contract.QueryRoutes), so
// infra creates them on API Gateway like the API's.
//
// # How it is built
//
// Pages are html/template files embedded in the binary, rendered from the
// store through the small interfaces of [Store]: everything that came from
// a scraped page or a stream record is escaped as text. The pages work
// without JavaScript; one small same-origin script (static/app.js, no
// build step) adds what needs it: the progress of runs in flight (it polls
// GET /runs/{id} while a run on the page is running), the scrape button's
// answer, and devstack's stream panel (GET /_devstack/status). It writes
// text with textContent and builds rows from an inert <template>, never
// from HTML strings.
//
// Every answer carries a strict Content-Security-Policy (default-src
// 'none'; scripts, styles, images and connections from this origin only; no
// inline script or style, no frames, no <base>, forms to this origin), plus
// X-Content-Type-Options: nosniff and Referrer-Policy: no-referrer. Errors
// are HTML pages with the right status (400 for a bad parameter or cursor,
// 404, 503 with Retry-After when the store is busy, 500); the JSON API keeps
// its JSON errors.
//
// Static files are served under names that carry a hash of their content
// (style.0123abcd.css), cached for a year: a new build gets new names.
//
// # Cost
//
// A page reads one listing page, never a whole table: the overview's totals
// come from what its listings return (the latest runs, the latest failures)
// and say "≥ N" where the listing was cut. The films page lists the store's
// page of films (a DynamoDB Scan page in the table's own order, id order in
// the embedded store) and sorts that page by rank, and says so: sorting all
// 250 films by rank would read the whole table on every view.
package ui
