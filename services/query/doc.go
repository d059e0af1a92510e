// Package query is the read side of the pipeline's HTTP API: a plain
// net/http handler serving the projections (movies and their history, runs,
// errors) as JSON.
// The same handler runs in Lambda (adapted from API Gateway HTTP API
// payload 2.0 events by aws-lambda-go-api-proxy, see cmd/lambda), in
// devstack and under httptest.
//
// # Routes
//
// contract.QueryRoutes lists them (the API's, contract.QueryAPIRoutes, and
// the dashboard's); the handler registers exactly these on a Go 1.22
// ServeMux, infra builds the API Gateway route keys from the same list and
// devstack mounts it.
// The OpenAPI 3.1 document api/openapi.json at the repository root describes
// every field; a test keeps it equal to the registered routes.
//
//	GET /movies?limit=&cursor=&year=                      a page of movies
//	GET /movies/{id}                                      one movie
//	GET /movies/{id}/history?since=&until=&limit=&cursor= its changes, newest first
//	GET /runs?limit=&cursor=&status=                      scrape runs, newest first
//	GET /runs/{id}                                        a scrape run's progress
//	GET /errors?limit=&cursor=                            failed records, newest first
//	GET /errors/{id}                                      one failed record, with its payload
//
// # Parameters
//
// limit is an integer from 1 to 100 (default 20); year an integer from 1 to
// 9999; status one of running, completed, unchanged and failed; since and
// until RFC 3339 times with a zone, within years 1 to 9999 in UTC, since
// not after until (both inclusive). A parameter the route does not know, a
// parameter given twice or an empty value is a 400 bad_parameter naming
// the parameter and the reason: a typo such as ?yaer=1994 must not
// silently return the unfiltered list.
//
// GET /movies/{id}/history lists the change points of the movie's
// observations (those whose rank, rating or votes differ from the one
// before): a known movie without history is an empty list, an unknown
// movie a 404. GET /runs with a status reads on, up to a bound of store
// calls, to fill the page that the filter leaves short; where runs of that
// status are rare a page may still be short, even empty, with a
// nextCursor: only a page without one ends the listing.
//
// # Cursors
//
// A listing that has more items answers nextCursor. The cursor wraps the
// store's PageToken, which is not authenticated, in an HMAC-SHA256 over a
// version byte, the listing (route and filter, e.g. "GET /movies?year=1994")
// and the token, keyed with CURSOR_KEY, base64url without padding. A cursor
// that does not verify for the listing it is sent to (malformed, truncated,
// altered, made up, or issued for another route, year, status, movie or
// bounds) is a 400
// bad_cursor and the store is never asked to read from it. The limit is not
// part of the listing: a client may change it from page to page.
//
// # Responses
//
// Bodies are JSON with camelCase fields (Content-Type application/json;
// charset=utf-8). Successful responses carry a strong ETag (a hash of the
// body) and Cache-Control: no-cache; a request whose If-None-Match matches
// gets 304 without a body. Errors are {"error":{"code","message"}} (package
// httpx): 400 bad_parameter / bad_cursor / bad_request, 404 not_found, 405
// method_not_allowed, 503 unavailable with Retry-After when the store is
// throttled or out of time, 500 internal without internals.
//
// In GET /errors the raw payload is not returned whole: payloadPreview holds
// its first PreviewBytes bytes, as text when they are valid UTF-8 (a
// multi-byte character cut by the limit is dropped) and else base64
// (payloadEncoding says which), with payloadSize the full size. The listing
// reads only the store's previews (store.PreviewBytes bytes an item), so
// its cost does not grow with the payloads. GET /errors/{id} (an id is 32
// lowercase hex digits, what store.ErrorID makes) adds payload, the whole
// payload the store kept, by the same rule: payloadEncoding is then the
// payload's, and the preview is given in it too. resolved, in both, is when
// a redrive of the record succeeded.
//
// # CORS
//
// Allowed origins are configured (CORS_ORIGINS, default none). A request from
// an allowed origin gets Access-Control-Allow-Origin and the ETag and
// Retry-After headers exposed; a preflight (OPTIONS with Origin and
// Access-Control-Request-Method) from an allowed origin on a known path gets
// 204 with the allowed methods and headers. Other origins get no CORS
// headers, and their preflight is answered like any OPTIONS request: 405.
package query
