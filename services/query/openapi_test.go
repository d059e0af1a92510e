package query

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
)

// openAPIPath is the OpenAPI document of the whole HTTP API, at the root of
// the repository.
var openAPIPath = filepath.Join("..", "..", "api", "openapi.json")

// oaDoc is the document as generic JSON.
type oaDoc map[string]any

func loadOpenAPI(t testing.TB) oaDoc {
	t.Helper()
	b, err := os.ReadFile(openAPIPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc oaDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", openAPIPath, err)
	}
	return doc
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	var documented []string
	for path, item := range obj(doc["paths"]) {
		for method := range obj(item) {
			if slices.Contains(httpMethods, method) {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	var registered []string
	// The dashboard's pages (package ui) are HTML for people, not API.
	for _, r := range slices.Concat(contract.QueryAPIRoutes(), contract.ScraperRoutes()) {
		registered = append(registered, r.Key())
	}
	slices.Sort(documented)
	slices.Sort(registered)
	if diff := cmp.Diff(registered, documented); diff != "" {
		t.Errorf("%s paths and methods (-registered +documented):\n%s", openAPIPath, diff)
	}
}

// TestOpenAPIValid checks the document's structure against OpenAPI 3.1:
// the required fields, that every $ref resolves, that every path parameter
// is declared, that every operation has responses with a description.
func TestOpenAPIValid(t *testing.T) {
	doc := loadOpenAPI(t)
	if v, _ := doc["openapi"].(string); !regexp.MustCompile(`^3\.1\.\d+$`).MatchString(v) {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	info := obj(doc["info"])
	for _, k := range []string{"title", "version"} {
		if s, _ := info[k].(string); s == "" {
			t.Errorf("info.%s missing", k)
		}
	}
	// Every $ref resolves.
	var walkRefs func(path string, v any)
	walkRefs = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if _, err := doc.resolve(ref); err != nil {
					t.Errorf("%s: %v", path, err)
				}
			}
			for k, c := range v {
				walkRefs(path+"/"+k, c)
			}
		case []any:
			for i, c := range v {
				walkRefs(path+"/"+strconv.Itoa(i), c)
			}
		}
	}
	walkRefs("#", map[string]any(doc))

	ids := map[string]bool{}
	templ := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range obj(doc["paths"]) {
		if !strings.HasPrefix(path, "/") {
			t.Errorf("path %q does not start with /", path)
		}
		for method, op := range obj(item) {
			if !slices.Contains(httpMethods, method) {
				continue
			}
			where := strings.ToUpper(method) + " " + path
			op := obj(op)
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s: operationId %q missing or not unique", where, id)
			}
			ids[id] = true
			declared := map[string]bool{}
			for _, p := range arr(op["parameters"]) {
				p := doc.deref(t, p)
				in, _ := p["in"].(string)
				name, _ := p["name"].(string)
				if name == "" || !slices.Contains([]string{"query", "header", "path", "cookie"}, in) || p["schema"] == nil {
					t.Errorf("%s: parameter %v needs name, in and schema", where, p)
				}
				if in == "path" {
					if p["required"] != true {
						t.Errorf("%s: path parameter %s must be required", where, name)
					}
					declared[name] = true
				}
			}
			for _, m := range templ.FindAllStringSubmatch(path, -1) {
				if !declared[m[1]] {
					t.Errorf("%s: path parameter %s not declared", where, m[1])
				}
				delete(declared, m[1])
			}
			if len(declared) > 0 {
				t.Errorf("%s: path parameters %v not in the path", where, declared)
			}
			responses := obj(op["responses"])
			if len(responses) == 0 {
				t.Errorf("%s: no responses", where)
			}
			for status, r := range responses {
				if _, err := strconv.Atoi(status); err != nil && status != "default" {
					t.Errorf("%s: response key %q", where, status)
				}
				if d, _ := doc.deref(t, r)["description"].(string); d == "" {
					t.Errorf("%s %s: response without a description", where, status)
				}
			}
		}
	}
}

// TestOpenAPIDescribesResponses sends requests for every query route and
// outcome and checks each answer against the document: the status is
// documented for the operation, the body validates against its schema
// (field names, types, required fields, no undocumented fields) and the
// documented headers are there.
func TestOpenAPIDescribesResponses(t *testing.T) {
	doc := loadOpenAPI(t)
	st := embedded.NewMemory()
	seed(t, st)
	h := newTestHandler(t, st)
	ok := newTestHandler(t, st)
	moviesCursor := cursorOf(t, h, "/movies?limit=2")
	errorsCursor := cursorOf(t, h, "/errors?limit=2")
	runsCursor := cursorOf(t, h, "/runs?status=completed&limit=2")
	history := "/movies/" + godfather + "/history"
	historyCursor := cursorOf(t, h, history+"?limit=1")
	tag := serve(h, "GET", "/movies/"+godfather).Header().Get("ETag")
	transient := newTestHandler(t, failing{st, fmt.Errorf("x: %w", errTransientForTest)})
	broken := newTestHandler(t, failing{st, errBrokenForTest})
	// A record that starts as text and turns binary, and one cut by the
	// store inside a character.
	mixed := store.ErrorItem{ID: store.ErrorID(store.StageValidate, shard, "1", ""), Stage: store.StageValidate, Reason: "r",
		Payload: append([]byte(strings.Repeat("t", 300)), 0xff), PayloadSize: 301, FirstFailure: base, LastFailure: base,
		ExpiresAt: time.Now().Add(time.Hour).Truncate(time.Second)}
	cut := mixed
	cut.ID, cut.Payload, cut.PayloadSize = store.ErrorID(store.StageValidate, shard, "2", ""), []byte("x€"[:3]), 1<<20
	for _, e := range []store.ErrorItem{mixed, cut} {
		if err := st.PutError(t.Context(), e); err != nil {
			t.Fatal(err)
		}
	}
	type req struct {
		pattern, target string
		handler         http.Handler
		headers         []string
	}
	reqs := []req{
		{"/movies", "/movies", ok, nil},
		{"/movies", "/movies?limit=2&cursor=" + moviesCursor, ok, nil},
		{"/movies", "/movies?year=1994&limit=100", ok, nil},
		{"/movies", "/movies?limit=0", ok, nil},
		{"/movies", "/movies?cursor=x", ok, nil},
		{"/movies", "/movies", newTestHandler(t, failing{st, fmt.Errorf("x: %w", errTransientForTest)}), nil},
		{"/movies", "/movies", newTestHandler(t, failing{st, errBrokenForTest}), nil},
		{"/movies/{id}", "/movies/" + godfather, ok, nil},
		{"/movies/{id}", "/movies/film-01-1994", ok, nil},
		{"/movies/{id}", "/movies/" + godfather, ok, []string{"If-None-Match", tag}},
		{"/movies/{id}", "/movies/nope-1999", ok, nil},
		{"/movies/{id}", "/movies/NOPE", ok, nil},
		{"/movies/{id}", "/movies/" + godfather, newTestHandler(t, failing{st, fmt.Errorf("x: %w", errTransientForTest)}), nil},
		{"/runs/{id}", "/runs/" + runDone, ok, nil},
		{"/runs/{id}", "/runs/" + runRunning, ok, nil},
		{"/runs/{id}", "/runs/" + runFailed, ok, nil},
		{"/runs/{id}", "/runs/nope", ok, nil},
		{"/runs/{id}", "/runs/a%20b", ok, nil},
		{"/runs/{id}", "/runs/" + runDone, newTestHandler(t, failing{st, errBrokenForTest}), nil},
		{"/errors", "/errors", ok, nil},
		{"/errors", "/errors?limit=3&cursor=" + errorsCursor, ok, nil},
		{"/errors", "/errors?limit=x", ok, nil},
		{"/errors", "/errors", newTestHandler(t, failing{st, fmt.Errorf("x: %w", errTransientForTest)}), nil},
		{"/errors/{id}", "/errors/" + errorItemAt(resolvedError).ID, ok, nil},
		{"/errors/{id}", "/errors/" + errorItemAt(9).ID, ok, nil},
		{"/errors/{id}", "/errors/" + mixed.ID, ok, nil},
		{"/errors/{id}", "/errors/" + cut.ID, ok, nil},
		{"/errors/{id}", "/errors/" + errorItemAt(1).ID, ok, []string{"If-None-Match", serve(h, "GET", "/errors/"+errorItemAt(1).ID).Header().Get("ETag")}},
		{"/errors/{id}", "/errors/" + strings.Repeat("0", 32), ok, nil},
		{"/errors/{id}", "/errors/nope", ok, nil},
		{"/errors/{id}", "/errors/" + errorItemAt(1).ID, transient, nil},
		{"/errors/{id}", "/errors/" + errorItemAt(1).ID, broken, nil},
		{"/runs", "/runs", ok, nil},
		{"/runs", "/runs?status=completed&limit=2&cursor=" + runsCursor, ok, nil},
		{"/runs", "/runs?status=failed&limit=100", ok, nil},
		{"/runs", "/runs?status=done", ok, nil},
		{"/runs", "/runs?cursor=" + runsCursor, ok, nil},
		{"/runs", "/runs", transient, nil},
		{"/runs", "/runs?status=running", broken, nil},
		{"/movies/{id}/history", history, ok, nil},
		{"/movies/{id}/history", history + "?limit=1&cursor=" + historyCursor, ok, nil},
		{"/movies/{id}/history", history + "?since=2026-03-01T09:00:00Z&until=2026-03-01T11:00:00.5%2B01:00", ok, nil},
		{"/movies/{id}/history", "/movies/film-01-1994/history", ok, nil},
		{"/movies/{id}/history", "/movies/nope-1999/history", ok, nil},
		{"/movies/{id}/history", history + "?since=yesterday", ok, nil},
		{"/movies/{id}/history", history, transient, nil},
		{"/movies/{id}/history", history, broken, nil},
	}
	for _, r := range reqs {
		t.Run(r.target, func(t *testing.T) {
			rec := serve(r.handler, "GET", r.target, r.headers...)
			op := obj(obj(obj(doc["paths"])[r.pattern])["get"])
			resp, ok := obj(op["responses"])[strconv.Itoa(rec.Code)]
			if !ok {
				t.Fatalf("status %d not documented for GET %s", rec.Code, r.pattern)
			}
			rs := doc.deref(t, resp)
			for name := range obj(rs["headers"]) {
				if rec.Header().Get(name) == "" {
					t.Errorf("documented header %s missing", name)
				}
			}
			content := obj(rs["content"])
			if len(content) == 0 {
				if rec.Body.Len() != 0 {
					t.Errorf("undocumented body %q", rec.Body)
				}
				return
			}
			schema := obj(obj(content["application/json"])["schema"])
			var body any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body: %v", err)
			}
			for _, err := range doc.validate(schema, body, "body") {
				t.Error(err)
			}
		})
	}
}

// TestOpenAPIScrape checks the scraper's side: its 202 body validates
// against ScrapeResult and the documented error codes are exactly those of
// libs/httpx and the scraper.
func TestOpenAPIScrape(t *testing.T) {
	doc := loadOpenAPI(t)
	b, err := json.Marshal(scraper.Summary{RunID: "run-20260301-120000-00000001", Source: "https://sample.example/chart", Trigger: "api",
		Published: 3, Failed: 1, Skipped: 2, Pages: 1, DurationMs: 1500})
	if err != nil {
		t.Fatal(err)
	}
	var body any
	_ = json.Unmarshal(b, &body)
	schema := obj(obj(obj(doc.deref(t, obj(obj(obj(obj(doc["paths"])["/scrape"])["post"])["responses"])["202"])["content"])["application/json"])["schema"])
	for _, err := range doc.validate(schema, body, "202 body") {
		t.Error(err)
	}

	codes := []string{
		httpx.CodeBadRequest, httpx.CodeBadParameter, httpx.CodeBadCursor, httpx.CodeNotFound, httpx.CodeMethodNotAllowed,
		httpx.CodeConflict, httpx.CodeTooLarge, httpx.CodeRateLimited, httpx.CodeUnavailable, httpx.CodeInternal,
		scraper.CodeTargetUnreachable, scraper.CodeTargetError, scraper.CodeTargetRateLimited, scraper.CodePageTooLarge,
		scraper.CodeNotHTML, scraper.CodeUnsupportedCharset, scraper.CodeBadRedirect, scraper.CodeRobotsDisallowed, scraper.CodeTargetForbidden,
		scraper.CodeStreamUnavailable,
	}
	var documented []string
	for _, c := range arr(obj(obj(obj(obj(obj(obj(doc["components"])["schemas"])["Error"])["properties"])["error"])["properties"])["code"].(map[string]any)["enum"]) {
		documented = append(documented, c.(string))
	}
	slices.Sort(codes)
	slices.Sort(documented)
	if diff := cmp.Diff(codes, documented); diff != "" {
		t.Errorf("error codes (-code +documented):\n%s", diff)
	}
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func arr(v any) []any          { a, _ := v.([]any); return a }

// resolve follows a local JSON pointer.
func (d oaDoc) resolve(ref string) (map[string]any, error) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, fmt.Errorf("$ref %q is not local", ref)
	}
	var cur any = map[string]any(d)
	for _, p := range strings.Split(ref[2:], "/") {
		p = strings.NewReplacer("~1", "/", "~0", "~").Replace(p)
		next, ok := obj(cur)[p]
		if !ok {
			return nil, fmt.Errorf("$ref %q does not resolve", ref)
		}
		cur = next
	}
	m := obj(cur)
	if m == nil {
		return nil, fmt.Errorf("$ref %q is not an object", ref)
	}
	return m, nil
}

// deref follows $ref chains.
func (d oaDoc) deref(t testing.TB, v any) map[string]any {
	m := obj(v)
	for range 10 {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var err error
		if m, err = d.resolve(ref); err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("$ref loop at %v", v)
	return nil
}

// validate checks v against the subset of JSON Schema 2020-12 the document
// uses: $ref, type, const, enum, required, properties,
// additionalProperties: false, items, maxItems, minimum, maximum,
// maxLength, pattern and format date-time/uri.
func (d oaDoc) validate(s map[string]any, v any, at string) []error {
	if ref, ok := s["$ref"].(string); ok {
		r, err := d.resolve(ref)
		if err != nil {
			return []error{err}
		}
		return d.validate(r, v, at)
	}
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(at+": "+format, args...)) }
	if typ, ok := s["type"].(string); ok && !hasType(v, typ) {
		fail("%v is not of type %s", v, typ)
		return errs
	}
	if c, ok := s["const"]; ok && !cmp.Equal(c, v) {
		fail("%v, want %v", v, c)
	}
	if e, ok := s["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return cmp.Equal(x, v) }) {
		fail("%v not in %v", v, e)
	}
	switch v := v.(type) {
	case map[string]any:
		props := obj(s["properties"])
		for _, r := range arr(s["required"]) {
			if _, ok := v[r.(string)]; !ok {
				fail("required field %s missing", r)
			}
		}
		for k, fv := range v {
			ps, ok := props[k]
			if !ok {
				if s["additionalProperties"] == false {
					fail("field %s is not documented", k)
				}
				continue
			}
			errs = append(errs, d.validate(obj(ps), fv, at+"."+k)...)
		}
	case []any:
		if n, ok := s["maxItems"].(float64); ok && float64(len(v)) > n {
			fail("%d items, at most %v", len(v), n)
		}
		if is := obj(s["items"]); is != nil {
			for i, iv := range v {
				errs = append(errs, d.validate(is, iv, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	case float64:
		if n, ok := s["minimum"].(float64); ok && v < n {
			fail("%v < minimum %v", v, n)
		}
		if n, ok := s["maximum"].(float64); ok && v > n {
			fail("%v > maximum %v", v, n)
		}
	case string:
		if n, ok := s["maxLength"].(float64); ok && float64(len([]rune(v))) > n {
			fail("longer than %v", n)
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(v) {
			fail("%q does not match %s", v, p)
		}
		switch s["format"] {
		case "date-time":
			if _, err := time.Parse(time.RFC3339, v); err != nil {
				fail("%q is not a date-time", v)
			}
		case "uri":
			if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
				fail("%q is not an http(s) URI", v)
			}
		}
	}
	return errs
}

func hasType(v any, typ string) bool {
	switch typ {
	case "object":
		_, ok := v.(map[string]any)
		return ok
	case "array":
		_, ok := v.([]any)
		return ok
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "null":
		return v == nil
	}
	return false
}

var (
	errTransientForTest = fmt.Errorf("throttled: %w", store.ErrTransient)
	errBrokenForTest    = errors.New("broken store")
)
