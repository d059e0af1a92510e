package query

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/services/query/ui"
)

// TestDashboardMounted checks that the handler serves the dashboard beside
// the API: its pages as HTML with the security headers, its errors as HTML
// pages, while the API's errors stay JSON.
func TestDashboardMounted(t *testing.T) {
	st := embedded.NewMemory()
	seed(t, st)
	for i := range ui.MoviesPerPage { // more 1994 films than one dashboard page shows
		m := godfatherMovie()
		m.ID, m.Year, m.LastEventID = fmt.Sprintf("extra-%02d-1994", i), 1994, fmt.Sprintf("evt-extra-%d", i)
		if _, err := st.ApplyMovie(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	h := newTestHandler(t, st)
	html := func(t *testing.T, method, target string, status int) string {
		t.Helper()
		rec := serve(h, method, target)
		if rec.Code != status || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("%s %s = %d %q, want an HTML %d", method, target, rec.Code, rec.Header().Get("Content-Type"), status)
		}
		if rec.Header().Get("Content-Security-Policy") != ui.ContentSecurityPolicy {
			t.Errorf("%s %s: CSP %q", method, target, rec.Header().Get("Content-Security-Policy"))
		}
		return rec.Body.String()
	}
	for _, p := range []string{"/", "/ui/movies", "/ui/movies?year=1994", "/ui/movies/" + godfather, "/ui/runs", "/ui/runs/" + runDone, "/ui/errors"} {
		html(t, "GET", p, http.StatusOK)
	}
	html(t, "GET", "/ui/nope", http.StatusNotFound)
	html(t, "GET", "/ui/movies/no-such-film-1999", http.StatusNotFound)
	html(t, "POST", "/ui/movies", http.StatusMethodNotAllowed)

	// The dashboard's next-page links carry signed cursors, which it opens
	// again; the API's cursors, or altered ones, are refused.
	page := html(t, "GET", "/ui/movies?year=1994", http.StatusOK)
	i := strings.Index(page, `rel="next" href="`)
	if i < 0 {
		t.Fatal("no next page of the 1994 films")
	}
	next := strings.ReplaceAll(page[i+len(`rel="next" href="`):][:strings.Index(page[i+len(`rel="next" href="`):], `"`)], "&amp;", "&")
	html(t, "GET", next, http.StatusOK)
	html(t, "GET", next+"x", http.StatusBadRequest)
	apiCursor := cursorOf(t, h, "/movies?year=1994&limit=2")
	html(t, "GET", "/ui/movies?year=1994&cursor="+apiCursor, http.StatusBadRequest)

	// The API keeps its JSON errors, on paths outside the dashboard too.
	for _, tc := range []struct {
		method, target string
		status         int
	}{{"GET", "/nope", 404}, {"GET", "/movies/no-such-film-1999", 404}, {"POST", "/", 405}} {
		rec := serve(h, tc.method, tc.target)
		checkJSON(t, rec, tc.status)
	}
	var b errorBody
	rec := serve(h, "GET", "/movies?cursor=x")
	checkJSON(t, rec, 400)
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.Error.Code != httpx.CodeBadCursor {
		t.Errorf("GET /movies?cursor=x = %s", rec.Body)
	}
}

func TestDashboardConfig(t *testing.T) {
	env := map[string]string{contract.EnvMoviesTable: "m", contract.EnvRunsTable: "r", contract.EnvErrorsTable: "e", contract.EnvHistoryTable: "h",
		contract.EnvScrapeCommand: `sh -c 'curl -sS -X POST --aws-sigv4 "aws:amz:eu-west-2:execute-api" https://a.example/scrape'` + "\n"}
	cfg := LoadConfig(envOf(env))
	opts, err := cfg.Options(quietLog)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.TrimSpace(env[contract.EnvScrapeCommand]); opts.Dashboard.ScrapeCommand != want {
		t.Errorf("Dashboard.ScrapeCommand = %q, want %q", opts.Dashboard.ScrapeCommand, want)
	}
	h, err := New(embedded.NewMemory(), Options{CursorKey: testKey, Logger: quietLog, Dashboard: opts.Dashboard})
	if err != nil {
		t.Fatal(err)
	}
	if body := serve(h, "GET", "/").Body.String(); !strings.Contains(body, "--aws-sigv4") || strings.Contains(body, `action="/scrape"`) {
		t.Errorf("the overview does not show the scrape command instead of the button")
	}
	env[contract.EnvScrapeCommand] = "curl -X POST https://a.example/scrape\nrm -rf ~"
	if err := LoadConfig(envOf(env)).Validate(); err == nil || !strings.Contains(err.Error(), contract.EnvScrapeCommand) {
		t.Errorf("Validate = %v, want an error about %s", err, contract.EnvScrapeCommand)
	}
}

// TestDashboardInLambda sends the dashboard's pages through the api-proxy
// adapter as API Gateway HTTP API events, as the query function receives
// them: HTML and the static files come back as text with their headers.
func TestDashboardInLambda(t *testing.T) {
	st := embedded.NewMemory()
	seed(t, st)
	proxy := httpx.LambdaV2(newTestHandler(t, st))
	css := string(regexp.MustCompile(`/ui/static/style\.[0-9a-f]+\.css`).Find(serve(newTestHandler(t, st), "GET", "/").Body.Bytes()))
	for _, tc := range []struct {
		routeKey, path, ctype, body string
		status                      int
	}{
		{"GET /", "/", "text/html; charset=utf-8", "<h1>Pipeline overview</h1>", 200},
		{"GET /ui/movies/{id}", "/ui/movies/" + godfather, "text/html; charset=utf-8", "The Godfather", 200},
		{"GET /ui/static/{file}", css, "text/css; charset=utf-8", "prefers-color-scheme", 200},
		{"$default", "/ui/nope", "text/html; charset=utf-8", "No such page", 404},
	} {
		t.Run(tc.path, func(t *testing.T) {
			ev := events.APIGatewayV2HTTPRequest{Version: "2.0", RouteKey: tc.routeKey, RawPath: tc.path,
				Headers: map[string]string{"accept": "text/html", "host": "abcdef1234.execute-api.eu-west-2.amazonaws.com"},
				RequestContext: events.APIGatewayV2HTTPRequestContext{Stage: "$default", RouteKey: tc.routeKey,
					HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: tc.path, Protocol: "HTTP/1.1", SourceIP: "203.0.113.7"}}}
			res, err := proxy(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != tc.status || res.Headers["Content-Type"] != tc.ctype || res.IsBase64Encoded ||
				res.Headers["Content-Security-Policy"] != ui.ContentSecurityPolicy || !strings.Contains(res.Body, tc.body) {
				t.Errorf("%s = %d %q base64 %v CSP %q, body has %q: %v", tc.path, res.StatusCode, res.Headers["Content-Type"],
					res.IsBase64Encoded, res.Headers["Content-Security-Policy"], tc.body, strings.Contains(res.Body, tc.body))
			}
		})
	}
}
