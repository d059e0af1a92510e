package query

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

const testOrigin = "https://app.example"

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

func newTestHandler(t testing.TB, st Store, origins ...string) *Handler {
	t.Helper()
	h, err := New(st, Options{CursorKey: testKey, CORSOrigins: origins, Logger: quietLog})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// serve sends one request through h; headers come in name, value pairs.
func serve(h http.Handler, method, target string, headers ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// checkJSON fails unless rec is a JSON response with status.
func checkJSON(t *testing.T, rec *httptest.ResponseRecorder, status int) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status = %d, want %d; body %s", rec.Code, status, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if !json.Valid(rec.Body.Bytes()) {
		t.Errorf("body is not JSON: %q", rec.Body)
	}
}

// jsonDiff compares JSON texts by value.
func jsonDiff(t *testing.T, want string, got []byte) {
	t.Helper()
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want: %v", err)
	}
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got %q: %v", got, err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
}

type listBody struct {
	Items      []map[string]any `json:"items"`
	NextCursor *string          `json:"nextCursor"`
}

// walk follows nextCursor from target to the last page and returns the ids
// of every page.
func walk(t *testing.T, h http.Handler, target string, limit int) [][]string {
	t.Helper()
	return walkKey(t, h, target, limit, "id")
}

// walkKey is walk for items whose identity is field key.
func walkKey(t *testing.T, h http.Handler, target string, limit int, key string) [][]string {
	t.Helper()
	var pages [][]string
	next := target
	for range 100 {
		rec := serve(h, "GET", next)
		checkJSON(t, rec, 200)
		var b listBody
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
			t.Fatal(err)
		}
		if b.Items == nil {
			t.Fatalf("%s: items is %s, want an array", next, rec.Body)
		}
		if len(b.Items) > limit {
			t.Fatalf("%s: %d items, limit %d", next, len(b.Items), limit)
		}
		var ids []string
		for _, it := range b.Items {
			ids = append(ids, it[key].(string))
		}
		if len(ids) > 0 {
			pages = append(pages, ids)
		}
		if b.NextCursor == nil {
			return pages
		}
		if *b.NextCursor == "" {
			t.Fatalf("%s: empty nextCursor", next)
		}
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		next = target + sep + "cursor=" + url.QueryEscape(*b.NextCursor)
	}
	t.Fatalf("%s: more than 100 pages", target)
	return nil
}

func flatten(pages [][]string) []string {
	var all []string
	for _, p := range pages {
		all = append(all, p...)
	}
	return all
}

// cursorOf returns the nextCursor of the first page of target.
func cursorOf(t *testing.T, h http.Handler, target string) string {
	t.Helper()
	rec := serve(h, "GET", target)
	checkJSON(t, rec, 200)
	var b listBody
	if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.NextCursor == nil {
		t.Fatalf("%s: no nextCursor in %s (%v)", target, rec.Body, err)
	}
	return *b.NextCursor
}

// runHandlerSuite tests every route and every error case over st, which
// must be empty: the fixture is seeded into it.
func runHandlerSuite(t *testing.T, st store.Store) {
	fx := seed(t, st)
	h := newTestHandler(t, st)

	t.Run("movie", func(t *testing.T) {
		rec := serve(h, "GET", "/movies/"+godfather)
		checkJSON(t, rec, 200)
		jsonDiff(t, `{
			"id": "the-godfather-1972", "title": "The Godfather", "year": 1972, "rank": 2, "rating": 9.2,
			"votes": 2000000, "director": "Francis Ford Coppola", "genres": ["Crime", "Drama"],
			"runtimeMinutes": 175, "detailUrl": "https://sample.example/movies/the-godfather-1972",
			"source": "https://sample.example/chart", "firstSeen": "2026-03-01T12:00:00Z",
			"lastSeen": "2026-03-01T12:00:00Z", "lastRunId": "run-20260301-110000-00000002"
		}`, rec.Body.Bytes())
		if got := rec.Header().Get("Cache-Control"); got != "no-cache" {
			t.Errorf("Cache-Control = %q", got)
		}
	})

	t.Run("minimal movie omits empty fields", func(t *testing.T) {
		rec := serve(h, "GET", "/movies/film-03-1994")
		checkJSON(t, rec, 200)
		jsonDiff(t, `{
			"id": "film-03-1994", "title": "Film 3", "year": 1994, "rating": 7, "source": "https://sample.example/chart",
			"firstSeen": "2026-03-01T12:00:03Z", "lastSeen": "2026-03-01T12:00:03Z", "lastRunId": "run-20260301-110000-00000002"
		}`, rec.Body.Bytes())
	})

	t.Run("runs", func(t *testing.T) {
		rec := serve(h, "GET", "/runs/"+runDone)
		checkJSON(t, rec, 200)
		jsonDiff(t, `{
			"id": "run-20260301-110000-00000002", "source": "https://sample.example/chart", "trigger": "api", "status": "completed",
			"startedAt": "2026-03-01T11:00:00Z", "finishedAt": "2026-03-01T11:00:02Z", "completed": true,
			"published": 3, "publishFailed": 1, "skipped": 2, "pages": 1, "unchanged": false,
			"processed": 2, "failed": 1, "durationMs": 2000
		}`, rec.Body.Bytes())
		rec = serve(h, "GET", "/runs/"+runRunning)
		checkJSON(t, rec, 200)
		jsonDiff(t, `{
			"id": "run-20260301-120000-00000001", "source": "https://sample.example/chart", "trigger": "schedule", "status": "running",
			"startedAt": "2026-03-01T12:00:00Z", "completed": false,
			"published": 0, "publishFailed": 0, "skipped": 0, "pages": 0, "unchanged": false, "processed": 0, "failed": 0
		}`, rec.Body.Bytes())
		for id, want := range fx.runStatuses {
			rec := serve(h, "GET", "/runs/"+id)
			checkJSON(t, rec, 200)
			var b struct{ Status string }
			_ = json.Unmarshal(rec.Body.Bytes(), &b)
			if b.Status != want {
				t.Errorf("run %s: status %q, want %q", id, b.Status, want)
			}
		}
		rec = serve(h, "GET", "/runs/"+runFailed)
		if !strings.Contains(rec.Body.String(), `"error":"fetch: 503 Service Unavailable"`) {
			t.Errorf("failed run without its error: %s", rec.Body)
		}
		// A run stored before triggers were recorded has none.
		if rec := serve(h, "GET", "/runs/"+runSame); strings.Contains(rec.Body.String(), `"trigger"`) {
			t.Errorf("run without a trigger: %s", rec.Body)
		}
	})

	t.Run("runs newest first", func(t *testing.T) {
		for _, limit := range []int{1, 4, DefaultLimit} {
			target := fmt.Sprintf("/runs?limit=%d", limit)
			if diff := cmp.Diff(fx.runIDs, flatten(walk(t, h, target, limit))); diff != "" {
				t.Errorf("%s (-want +got):\n%s", target, diff)
			}
		}
		for _, status := range []string{"running", "completed", "unchanged", "failed"} {
			var want []string
			for _, id := range fx.runIDs {
				if fx.runStatuses[id] == status {
					want = append(want, id)
				}
			}
			target := "/runs?limit=2&status=" + status
			if diff := cmp.Diff(want, flatten(walk(t, h, target, 2))); diff != "" {
				t.Errorf("%s (-want +got):\n%s", target, diff)
			}
		}
		// Each run as GET /runs/{id} answers it.
		rec := serve(h, "GET", "/runs?limit=100")
		checkJSON(t, rec, 200)
		var b struct {
			Items      []json.RawMessage
			NextCursor *string
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
			t.Fatal(err)
		}
		if len(b.Items) != len(fx.runIDs) || b.NextCursor != nil {
			t.Fatalf("/runs?limit=100: %d items, nextCursor %v; want %d and none", len(b.Items), b.NextCursor, len(fx.runIDs))
		}
		for i, id := range fx.runIDs {
			one := serve(h, "GET", "/runs/"+id)
			jsonDiff(t, one.Body.String(), b.Items[i])
		}
	})

	t.Run("movies, every page", func(t *testing.T) {
		for _, limit := range []int{1, 7, 20, 100} {
			target := "/movies"
			if limit != DefaultLimit {
				target += fmt.Sprintf("?limit=%d", limit)
			}
			pages := walk(t, h, target, limit)
			got := flatten(pages)
			sorted := append([]string(nil), got...)
			slices.Sort(sorted)
			if diff := cmp.Diff(fx.movieIDs, sorted); diff != "" {
				t.Errorf("limit %d: movies over all pages (-want +got):\n%s", limit, diff)
			}
			if want := (len(fx.movieIDs) + limit - 1) / limit; len(pages) != want {
				t.Errorf("limit %d: %d non-empty pages, want %d", limit, len(pages), want)
			}
			// Stable order: a second walk gives the same sequence.
			if diff := cmp.Diff(got, flatten(walk(t, h, target, limit))); diff != "" {
				t.Errorf("limit %d: order changed between walks:\n%s", limit, diff)
			}
		}
	})

	t.Run("movies by year", func(t *testing.T) {
		got := walk(t, h, "/movies?year=1994&limit=10", 10)
		if diff := cmp.Diff(fx.byYear[1994], flatten(got)); diff != "" {
			t.Errorf("1994 in id order (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([][]string{{godfather}}, walk(t, h, "/movies?year=1972", 20)); diff != "" {
			t.Errorf("1972 (-want +got):\n%s", diff)
		}
		if got := walk(t, h, "/movies?year=1800", 20); len(got) != 0 {
			t.Errorf("1800: %v, want no movies", got)
		}
		rec := serve(h, "GET", "/movies?year=1800")
		jsonDiff(t, `{"items": []}`, rec.Body.Bytes())
	})

	t.Run("errors newest first", func(t *testing.T) {
		got := walk(t, h, "/errors?limit=5", 5)
		if diff := cmp.Diff(fx.errorIDs, flatten(got)); diff != "" {
			t.Errorf("error ids (-want +got):\n%s", diff)
		}
		rec := serve(h, "GET", "/errors?limit=4")
		checkJSON(t, rec, 200)
		var b listBody
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
			t.Fatal(err)
		}
		// Items 11, 10, 9, 8: split character, long text, binary, short JSON.
		e11, e9 := errorItemAt(11), errorItemAt(9)
		want := []map[string]any{
			{"id": e11.ID, "stage": "decode", "reason": "malformed: record 11", "runId": runDone, "shardId": shard,
				"sequenceNumber": e11.SequenceNumber, "partitionKey": "movie-11", "attempts": 1.0,
				"firstFailure": "2026-03-01T12:11:00Z", "lastFailure": "2026-03-01T12:11:01Z",
				"payloadSize": float64(PreviewBytes + 3), "payloadPreview": strings.Repeat("a", PreviewBytes-1),
				"payloadEncoding": "utf-8", "payloadTruncated": true},
			{"payloadSize": 1000.0, "payloadPreview": strings.Repeat("x", PreviewBytes), "payloadEncoding": "utf-8", "payloadTruncated": true,
				"resolved": fx.resolved[errorItemAt(resolvedError).ID]},
			{"payloadSize": 403.0, "payloadPreview": base64.StdEncoding.EncodeToString(e9.Payload[:PreviewBytes]), "payloadEncoding": "base64", "payloadTruncated": true},
			{"payloadSize": float64(len(errorPayload(8))), "payloadPreview": string(errorPayload(8)), "payloadEncoding": "utf-8", "payloadTruncated": false},
		}
		if len(b.Items) != len(want) {
			t.Fatalf("%d items, want %d", len(b.Items), len(want))
		}
		for i, w := range want {
			got := map[string]any{}
			for k := range w {
				if v, ok := b.Items[i][k]; ok {
					got[k] = v
				}
			}
			if diff := cmp.Diff(w, got); diff != "" {
				t.Errorf("item %d (-want +got):\n%s", i, diff)
			}
		}
		for _, it := range b.Items {
			if _, ok := it["resolved"]; ok != (fx.resolved[it["id"].(string)] != "") {
				t.Errorf("item %s: resolved %v, want it only on %v", it["id"], it["resolved"], fx.resolved)
			}
		}
	})

	t.Run("error item with its payload", func(t *testing.T) {
		rec := serve(h, "GET", "/errors?limit=100")
		checkJSON(t, rec, 200)
		var list listBody
		if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != nErrors {
			t.Fatalf("%d items listed, want %d", len(list.Items), nErrors)
		}
		for _, listed := range list.Items {
			id := listed["id"].(string)
			rec := serve(h, "GET", "/errors/"+id)
			checkJSON(t, rec, 200)
			var got map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			payload, _ := got["payload"].(string)
			var raw []byte
			switch got["payloadEncoding"] {
			case "utf-8":
				raw = []byte(payload)
			case "base64":
				var err error
				if raw, err = base64.StdEncoding.DecodeString(payload); err != nil {
					t.Fatalf("%s: payload: %v", id, err)
				}
			default:
				t.Fatalf("%s: payloadEncoding %v", id, got["payloadEncoding"])
			}
			if !bytes.Equal(raw, fx.errorByID[id]) {
				t.Errorf("%s: payload %q, want %q", id, raw, fx.errorByID[id])
			}
			// Everything the listing has (the fixture's payloads are text
			// or binary from their first bytes, so one encoding fits both).
			delete(got, "payload")
			if diff := cmp.Diff(listed, got); diff != "" {
				t.Errorf("%s: GET /errors/{id} beside its listing item (-listed +got):\n%s", id, diff)
			}
		}
		rec = serve(h, "GET", "/errors/"+errorItemAt(8).ID)
		e8 := errorItemAt(8)
		jsonDiff(t, fmt.Sprintf(`{
			"id": %q, "stage": "decode", "reason": "malformed: record 8", "runId": "run-20260301-110000-00000002",
			"shardId": "shardId-000000000000", "sequenceNumber": %q, "partitionKey": "movie-8", "attempts": 1,
			"firstFailure": "2026-03-01T12:08:00Z", "lastFailure": "2026-03-01T12:08:01Z",
			"payloadSize": %d, "payloadPreview": %q, "payloadEncoding": "utf-8", "payloadTruncated": false, "payload": %q
		}`, e8.ID, e8.SequenceNumber, len(e8.Payload), e8.Payload, e8.Payload), rec.Body.Bytes())
	})

	t.Run("history", func(t *testing.T) {
		target := "/movies/" + godfather + "/history"
		rec := serve(h, "GET", target+"?limit=2")
		checkJSON(t, rec, 200)
		var b listBody
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
			t.Fatal(err)
		}
		want := []map[string]any{
			{"observedAt": "2026-03-01T12:00:00Z", "runId": "run-h-5", "eventId": "evt-h-5", "rank": 2.0, "rating": 9.2, "votes": 2000000.0},
			{"observedAt": "2026-03-01T10:00:00Z", "runId": "run-h-3", "eventId": "evt-h-3", "rank": 2.0, "rating": 9.2, "votes": 1100.0},
		}
		if diff := cmp.Diff(want, b.Items); diff != "" || b.NextCursor == nil {
			t.Errorf("first page (-want +got):\n%s\nnextCursor %v", diff, b.NextCursor)
		}
		for _, limit := range []int{1, 3, DefaultLimit} {
			got := flatten(walkKey(t, h, fmt.Sprintf("%s?limit=%d", target, limit), limit, "eventId"))
			if diff := cmp.Diff(fx.history, got); diff != "" {
				t.Errorf("limit %d (-want +got):\n%s", limit, diff)
			}
		}
		stamp := func(i int) string { return url.QueryEscape(historyAt(i).Format(time.RFC3339)) }
		filters := []struct {
			query string
			want  []string
		}{
			{"since=" + stamp(2), []string{"evt-h-5", "evt-h-3", "evt-h-2"}},
			{"until=" + stamp(3), []string{"evt-h-3", "evt-h-2", "evt-h-0"}},
			{"since=" + stamp(1) + "&until=" + stamp(4), []string{"evt-h-3", "evt-h-2"}},
			{"since=" + stamp(3) + "&until=" + stamp(3), []string{"evt-h-3"}},
			// The same instant in another offset.
			{"since=" + url.QueryEscape(historyAt(3).In(time.FixedZone("", 3600)).Format(time.RFC3339)), []string{"evt-h-5", "evt-h-3"}},
			{"since=" + url.QueryEscape(historyAt(4).Format(time.RFC3339Nano)) + "&until=" + url.QueryEscape(historyAt(4).Add(time.Minute).Format(time.RFC3339Nano)), nil},
			{"until=2020-01-01T00:00:00Z", nil},
		}
		for _, tt := range filters {
			got := flatten(walkKey(t, h, target+"?limit=1&"+tt.query, 1, "eventId"))
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.query, diff)
			}
		}
		rec = serve(h, "GET", "/movies/film-01-1994/history")
		checkJSON(t, rec, 200)
		jsonDiff(t, `{"items": []}`, rec.Body.Bytes())
	})

	t.Run("ETag and If-None-Match", func(t *testing.T) {
		for _, target := range []string{"/movies/" + godfather, "/runs/" + runDone, "/movies?year=1994", "/errors",
			"/runs", "/errors/" + errorItemAt(1).ID, "/movies/" + godfather + "/history"} {
			rec := serve(h, "GET", target)
			checkJSON(t, rec, 200)
			tag := rec.Header().Get("ETag")
			if tag != etag(rec.Body.Bytes()) {
				t.Fatalf("%s: ETag %q is not the hash of the body", target, tag)
			}
			if again := serve(h, "GET", target).Header().Get("ETag"); again != tag {
				t.Errorf("%s: ETag changed from %s to %s without a change", target, tag, again)
			}
			for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, "*"} {
				rec := serve(h, "GET", target, "If-None-Match", inm)
				if rec.Code != 304 || rec.Body.Len() != 0 || rec.Header().Get("ETag") != tag {
					t.Errorf("%s If-None-Match %s: %d %q ETag %q, want 304 without a body", target, inm, rec.Code, rec.Body, rec.Header().Get("ETag"))
				}
			}
			if rec := serve(h, "GET", target, "If-None-Match", `"stale"`); rec.Code != 200 || rec.Body.Len() == 0 {
				t.Errorf("%s stale If-None-Match: %d", target, rec.Code)
			}
		}
		if serve(h, "GET", "/movies/"+godfather).Header().Get("ETag") == serve(h, "GET", "/movies/film-01-1994").Header().Get("ETag") {
			t.Error("two movies, one ETag")
		}
	})

	t.Run("client errors", func(t *testing.T) {
		moviesCursor := cursorOf(t, h, "/movies?limit=2")
		yearCursor := cursorOf(t, h, "/movies?year=1994&limit=2")
		errorsCursor := cursorOf(t, h, "/errors?limit=2")
		runsCursor := cursorOf(t, h, "/runs?limit=2")
		completedCursor := cursorOf(t, h, "/runs?status=completed&limit=2")
		historyTarget := "/movies/" + godfather + "/history"
		historyCursor := cursorOf(t, h, historyTarget+"?limit=1")
		sinceCursor := cursorOf(t, h, historyTarget+"?limit=1&since=2026-03-01T07:00:00Z")
		forgedRuns := h.cursors.seal("GET /runs", store.PageToken("\x00\x01garbage"))
		forgedHistory := h.cursors.seal("GET /movies/"+godfather+"/history", store.PageToken("\x00\x01garbage"))
		raw, _ := cursorEncoding.DecodeString(moviesCursor)
		raw[2] ^= 0x20
		altered := cursorEncoding.EncodeToString(raw)
		// Signed with the right key, but not a token the store issued.
		forged := h.cursors.seal("GET /movies", store.PageToken(`{"id":"zzz"}`))
		forgedErrors := h.cursors.seal("GET /errors", store.PageToken("\x00\x01garbage"))
		otherKey, _ := New(st, Options{CursorKey: []byte(strings.Repeat("k", CursorKeySize)), Logger: quietLog})
		foreign := cursorOf(t, otherKey, "/movies?limit=2")

		tests := []struct {
			name, method, target string
			status               int
			code, message        string // message: a substring
		}{
			{"unknown movie", "GET", "/movies/no-such-movie-1999", 404, httpx.CodeNotFound, `no movie with id "no-such-movie-1999"`},
			{"malformed movie id", "GET", "/movies/The%20Godfather", 400, httpx.CodeBadParameter, "id: "},
			{"movie id too long", "GET", "/movies/" + strings.Repeat("a", 101), 400, httpx.CodeBadParameter, "id: "},
			{"unknown run", "GET", "/runs/run-19990101-000000-00000000", 404, httpx.CodeNotFound, "no run with id"},
			{"run id with space", "GET", "/runs/run%201", 400, httpx.CodeBadParameter, "id: "},
			{"run id with control", "GET", "/runs/run%00", 400, httpx.CodeBadParameter, "id: "},
			{"run id too long", "GET", "/runs/" + strings.Repeat("r", 129), 400, httpx.CodeBadParameter, "id: longer than 128"},
			{"limit zero", "GET", "/movies?limit=0", 400, httpx.CodeBadParameter, "limit: must be an integer from 1 to 100"},
			{"limit too big", "GET", "/errors?limit=101", 400, httpx.CodeBadParameter, "limit: "},
			{"limit negative", "GET", "/movies?limit=-1", 400, httpx.CodeBadParameter, "limit: "},
			{"limit with sign", "GET", "/movies?limit=%2B5", 400, httpx.CodeBadParameter, "limit: "},
			{"limit not a number", "GET", "/movies?limit=ten", 400, httpx.CodeBadParameter, `got "ten"`},
			{"limit fraction", "GET", "/movies?limit=1.5", 400, httpx.CodeBadParameter, "limit: "},
			{"limit huge", "GET", "/movies?limit=99999999999999999999", 400, httpx.CodeBadParameter, "limit: "},
			{"limit empty", "GET", "/movies?limit=", 400, httpx.CodeBadParameter, "limit: must not be empty"},
			{"limit twice", "GET", "/movies?limit=5&limit=6", 400, httpx.CodeBadParameter, "limit: given more than once"},
			{"year zero", "GET", "/movies?year=0", 400, httpx.CodeBadParameter, "year: must be an integer from 1 to 9999"},
			{"year too big", "GET", "/movies?year=10000", 400, httpx.CodeBadParameter, "year: "},
			{"year not a number", "GET", "/movies?year=nineteen", 400, httpx.CodeBadParameter, "year: "},
			{"year on errors", "GET", "/errors?year=1994", 400, httpx.CodeBadParameter, `"year": unknown parameter; allowed: limit, cursor`},
			{"unknown parameter", "GET", "/movies?yaer=1994", 400, httpx.CodeBadParameter, `"yaer": unknown parameter; allowed: limit, cursor, year`},
			{"parameter on a movie", "GET", "/movies/" + godfather + "?limit=5", 400, httpx.CodeBadParameter, "this route takes none"},
			{"parameter on a run", "GET", "/runs/" + runDone + "?x", 400, httpx.CodeBadParameter, "this route takes none"},
			{"malformed query", "GET", "/movies?limit=%zz", 400, httpx.CodeBadRequest, "malformed query string"},
			{"semicolon query", "GET", "/movies?limit=5;year=1994", 400, httpx.CodeBadRequest, "malformed query string"},
			{"cursor empty", "GET", "/movies?cursor=", 400, httpx.CodeBadParameter, "cursor: must not be empty"},
			{"cursor garbage", "GET", "/movies?cursor=garbage", 400, httpx.CodeBadCursor, "cursor: "},
			{"cursor altered", "GET", "/movies?cursor=" + altered, 400, httpx.CodeBadCursor, "cursor: "},
			{"cursor truncated", "GET", "/movies?cursor=" + moviesCursor[:len(moviesCursor)-4], 400, httpx.CodeBadCursor, "cursor: "},
			{"cursor of another key", "GET", "/movies?cursor=" + foreign, 400, httpx.CodeBadCursor, "cursor: "},
			{"movies cursor on errors", "GET", "/errors?cursor=" + moviesCursor, 400, httpx.CodeBadCursor, "cursor: "},
			{"errors cursor on movies", "GET", "/movies?cursor=" + errorsCursor, 400, httpx.CodeBadCursor, "cursor: "},
			{"year cursor without year", "GET", "/movies?cursor=" + yearCursor, 400, httpx.CodeBadCursor, "cursor: "},
			{"year cursor on another year", "GET", "/movies?year=1995&cursor=" + yearCursor, 400, httpx.CodeBadCursor, "cursor: "},
			{"plain cursor with a year", "GET", "/movies?year=1994&cursor=" + moviesCursor, 400, httpx.CodeBadCursor, "cursor: "},
			{"signed token the store refuses", "GET", "/movies?cursor=" + forged, 400, httpx.CodeBadCursor, "cursor: not valid for this listing"},
			{"signed errors token the store refuses", "GET", "/errors?cursor=" + forgedErrors, 400, httpx.CodeBadCursor, "cursor: not valid for this listing"},
			{"status unknown", "GET", "/runs?status=done", 400, httpx.CodeBadParameter, `status: must be one of running, completed, unchanged, failed, got "done"`},
			{"status in capitals", "GET", "/runs?status=FAILED", 400, httpx.CodeBadParameter, "status: "},
			{"status twice", "GET", "/runs?status=failed&status=running", 400, httpx.CodeBadParameter, "status: given more than once"},
			{"status empty", "GET", "/runs?status=", 400, httpx.CodeBadParameter, "status: must not be empty"},
			{"status on errors", "GET", "/errors?status=failed", 400, httpx.CodeBadParameter, `"status": unknown parameter`},
			{"year on runs", "GET", "/runs?year=1994", 400, httpx.CodeBadParameter, `"year": unknown parameter; allowed: limit, cursor, status`},
			{"runs limit too big", "GET", "/runs?limit=101", 400, httpx.CodeBadParameter, "limit: "},
			{"runs cursor of another status", "GET", "/runs?status=failed&cursor=" + completedCursor, 400, httpx.CodeBadCursor, "cursor: "},
			{"status cursor without status", "GET", "/runs?cursor=" + completedCursor, 400, httpx.CodeBadCursor, "cursor: "},
			{"runs cursor with a status", "GET", "/runs?status=completed&cursor=" + runsCursor, 400, httpx.CodeBadCursor, "cursor: "},
			{"errors cursor on runs", "GET", "/runs?cursor=" + errorsCursor, 400, httpx.CodeBadCursor, "cursor: "},
			{"runs cursor on errors", "GET", "/errors?cursor=" + runsCursor, 400, httpx.CodeBadCursor, "cursor: "},
			{"signed runs token the store refuses", "GET", "/runs?cursor=" + forgedRuns, 400, httpx.CodeBadCursor, "cursor: not valid for this listing"},
			{"unknown error id", "GET", "/errors/" + strings.Repeat("0", 32), 404, httpx.CodeNotFound, `no error item with id "000`},
			{"error id in capitals", "GET", "/errors/" + strings.ToUpper(errorItemAt(1).ID), 400, httpx.CodeBadParameter, "id: "},
			{"error id too short", "GET", "/errors/abc", 400, httpx.CodeBadParameter, `id: "abc" is not an error id (32 lowercase hexadecimal digits)`},
			{"error id too long", "GET", "/errors/" + errorItemAt(1).ID + "0", 400, httpx.CodeBadParameter, "id: "},
			{"error id not hex", "GET", "/errors/" + strings.Repeat("g", 32), 400, httpx.CodeBadParameter, "id: "},
			{"parameter on an error", "GET", "/errors/" + errorItemAt(1).ID + "?limit=1", 400, httpx.CodeBadParameter, "this route takes none"},
			{"history of an unknown movie", "GET", "/movies/no-such-movie-1999/history", 404, httpx.CodeNotFound, `no movie with id "no-such-movie-1999"`},
			{"history of a malformed movie id", "GET", "/movies/The%20Godfather/history", 400, httpx.CodeBadParameter, "id: "},
			{"since not a time", "GET", historyTarget + "?since=yesterday", 400, httpx.CodeBadParameter, `since: must be an RFC 3339 time such as 2026-03-01T12:00:00Z, got "yesterday"`},
			{"since without a zone", "GET", historyTarget + "?since=2026-03-01T12:00:00", 400, httpx.CodeBadParameter, "since: must be an RFC 3339 time"},
			{"since a date", "GET", historyTarget + "?since=2026-03-01", 400, httpx.CodeBadParameter, "since: "},
			{"since with an unescaped +", "GET", historyTarget + "?since=2026-03-01T12:00:00+01:00", 400, httpx.CodeBadParameter, "(escape + as %2B)"},
			{"since too long", "GET", historyTarget + "?since=2026-03-01T12:00:00.0000000000000000000000000Z", 400, httpx.CodeBadParameter, "since: "},
			{"until in year 0", "GET", historyTarget + "?until=0000-12-31T23:00:00Z", 400, httpx.CodeBadParameter, "until: "},
			{"since in year 0 in UTC", "GET", historyTarget + "?since=0001-01-01T00:00:00%2B01:00", 400, httpx.CodeBadParameter, "since: must fall within years 1 to 9999 in UTC"},
			{"until past year 9999 in UTC", "GET", historyTarget + "?until=9999-12-31T23:00:00-02:00", 400, httpx.CodeBadParameter, "until: must fall within years"},
			{"until at the zero time", "GET", historyTarget + "?until=0001-01-01T00:00:00Z", 400, httpx.CodeBadParameter, "until: must be later than"},
			{"since after until", "GET", historyTarget + "?since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z", 400, httpx.CodeBadParameter, "since: 2026-03-02T00:00:00Z is after until 2026-03-01T00:00:00Z"},
			{"since twice", "GET", historyTarget + "?since=2026-03-01T00:00:00Z&since=2026-03-01T00:00:00Z", 400, httpx.CodeBadParameter, "since: given more than once"},
			{"year on history", "GET", historyTarget + "?year=1972", 400, httpx.CodeBadParameter, `"year": unknown parameter; allowed: limit, cursor, since, until`},
			{"history cursor of another movie", "GET", "/movies/film-01-1994/history?cursor=" + historyCursor, 400, httpx.CodeBadCursor, "cursor: "},
			{"history cursor of another filter", "GET", historyTarget + "?cursor=" + sinceCursor, 400, httpx.CodeBadCursor, "cursor: "},
			{"history cursor with a filter", "GET", historyTarget + "?since=2026-03-01T07:00:00Z&cursor=" + historyCursor, 400, httpx.CodeBadCursor, "cursor: "},
			{"movies cursor on history", "GET", historyTarget + "?cursor=" + moviesCursor, 400, httpx.CodeBadCursor, "cursor: "},
			{"signed history token the store refuses", "GET", historyTarget + "?cursor=" + forgedHistory, 400, httpx.CodeBadCursor, "cursor: not valid for this listing"},
			{"bad cursor on an unknown movie's history", "GET", "/movies/no-such-movie-1999/history?cursor=" + historyCursor, 400, httpx.CodeBadCursor, "cursor: "},
			{"post runs", "POST", "/runs", 405, httpx.CodeMethodNotAllowed, "method POST not allowed"},
			{"delete an error", "DELETE", "/errors/" + errorItemAt(1).ID, 405, httpx.CodeMethodNotAllowed, ""},
			{"history, trailing path", "GET", historyTarget + "/x", 404, httpx.CodeNotFound, ""},
			{"wrong method", "POST", "/movies", 405, httpx.CodeMethodNotAllowed, "method POST not allowed"},
			{"delete a movie", "DELETE", "/movies/" + godfather, 405, httpx.CodeMethodNotAllowed, ""},
			{"options without CORS", "OPTIONS", "/movies", 405, httpx.CodeMethodNotAllowed, ""},
			{"unknown path", "GET", "/films", 404, httpx.CodeNotFound, "no route for GET /films"},
			{"trailing slash", "GET", "/movies/", 404, httpx.CodeNotFound, ""},
			{"nested path", "GET", "/movies/a/b", 404, httpx.CodeNotFound, ""},
			{"post to the dashboard's root", "POST", "/", 405, httpx.CodeMethodNotAllowed, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				rec := serve(h, tt.method, tt.target)
				checkJSON(t, rec, tt.status)
				var b errorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
					t.Fatal(err)
				}
				if b.Error.Code != tt.code || !strings.Contains(b.Error.Message, tt.message) {
					t.Errorf("error = %+v, want code %q and a message containing %q", b.Error, tt.code, tt.message)
				}
				if rec.Header().Get("ETag") != "" {
					t.Errorf("an error with an ETag")
				}
				if tt.status == 405 && rec.Header().Get("Allow") == "" {
					t.Errorf("405 without Allow")
				}
			})
		}
	})

	t.Run("store failures", func(t *testing.T) {
		tests := []struct {
			name       string
			err        error
			status     int
			code       string
			retryAfter string
		}{
			{"throttled", fmt.Errorf("dynamodb: ProvisionedThroughputExceededException: %w", store.ErrTransient), 503, httpx.CodeUnavailable, "1"},
			{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 503, httpx.CodeUnavailable, "1"},
			{"broken", errors.New("dynamodb: arn:aws:dynamodb:eu-west-1:123456789012:table/movies-x: AccessDenied"), 500, httpx.CodeInternal, ""},
		}
		for _, tt := range tests {
			fh := newTestHandler(t, failing{st, tt.err})
			for _, target := range []string{"/movies", "/movies?year=1994", "/movies/" + godfather, "/runs/" + runDone, "/errors",
				"/runs", "/runs?status=failed", "/errors/" + errorItemAt(1).ID, "/movies/" + godfather + "/history"} {
				t.Run(tt.name+" "+target, func(t *testing.T) {
					rec := serve(fh, "GET", target)
					checkJSON(t, rec, tt.status)
					var b errorBody
					_ = json.Unmarshal(rec.Body.Bytes(), &b)
					if b.Error.Code != tt.code {
						t.Errorf("code = %q, want %q", b.Error.Code, tt.code)
					}
					if got := rec.Header().Get("Retry-After"); got != tt.retryAfter {
						t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
					}
					for _, secret := range []string{"arn:", "dynamodb", "123456789012", "Exception"} {
						if strings.Contains(rec.Body.String(), secret) {
							t.Errorf("body leaks %q: %s", secret, rec.Body)
						}
					}
				})
			}
		}
	})

	t.Run("CORS", func(t *testing.T) { runCORS(t, st) })
}

// failing is a store whose every read fails with err.
type failing struct {
	store.Store
	err error
}

func (f failing) GetMovie(context.Context, string) (store.Movie, error) { return store.Movie{}, f.err }
func (f failing) GetRun(context.Context, string) (store.Run, error)     { return store.Run{}, f.err }
func (f failing) ListMovies(context.Context, store.MovieFilter, int, store.PageToken) (store.Page[store.Movie], error) {
	return store.Page[store.Movie]{}, f.err
}
func (f failing) ListErrors(context.Context, int, store.PageToken) (store.Page[store.ErrorItem], error) {
	return store.Page[store.ErrorItem]{}, f.err
}
func (f failing) GetError(context.Context, string) (store.ErrorItem, error) {
	return store.ErrorItem{}, f.err
}
func (f failing) ListRuns(context.Context, store.RunFilter, int, store.PageToken) (store.Page[store.Run], error) {
	return store.Page[store.Run]{}, f.err
}
func (f failing) ListHistory(context.Context, string, store.HistoryFilter, int, store.PageToken) (store.Page[store.Observation], error) {
	return store.Page[store.Observation]{}, f.err
}

func runCORS(t *testing.T, st store.Store) {
	h := newTestHandler(t, st, testOrigin, "http://localhost:5173")
	const other = "https://evil.example"
	tests := []struct {
		name, method, target string
		headers              []string
		status               int
		want                 map[string]string // headers; "" = absent
	}{
		{"allowed origin", "GET", "/movies/" + godfather, []string{"Origin", testOrigin}, 200, map[string]string{
			"Access-Control-Allow-Origin": testOrigin, "Access-Control-Expose-Headers": "ETag, Retry-After", "Vary": "Origin"}},
		{"second allowed origin", "GET", "/errors", []string{"Origin", "http://localhost:5173"}, 200, map[string]string{
			"Access-Control-Allow-Origin": "http://localhost:5173"}},
		{"allowed origin, error", "GET", "/movies/nope-1999", []string{"Origin", testOrigin}, 404, map[string]string{
			"Access-Control-Allow-Origin": testOrigin}},
		{"other origin", "GET", "/movies/" + godfather, []string{"Origin", other}, 200, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Expose-Headers": "", "Vary": "Origin"}},
		{"origin differing in case", "GET", "/movies", []string{"Origin", "https://APP.example"}, 200, map[string]string{
			"Access-Control-Allow-Origin": ""}},
		{"no origin", "GET", "/movies", nil, 200, map[string]string{"Access-Control-Allow-Origin": ""}},
		{"preflight", "OPTIONS", "/movies/" + godfather, []string{"Origin", testOrigin, "Access-Control-Request-Method", "GET",
			"Access-Control-Request-Headers", "if-none-match"}, 204, map[string]string{
			"Access-Control-Allow-Origin": testOrigin, "Access-Control-Allow-Methods": "GET, HEAD",
			"Access-Control-Allow-Headers": "If-None-Match", "Access-Control-Max-Age": "600"}},
		{"preflight of a listing", "OPTIONS", "/errors?limit=5", []string{"Origin", testOrigin, "Access-Control-Request-Method", "GET"}, 204, map[string]string{
			"Access-Control-Allow-Origin": testOrigin}},
		{"preflight, other origin", "OPTIONS", "/movies", []string{"Origin", other, "Access-Control-Request-Method", "GET"}, 405, map[string]string{
			"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""}},
		{"preflight, unknown path", "OPTIONS", "/films", []string{"Origin", testOrigin, "Access-Control-Request-Method", "GET"}, 404, map[string]string{
			"Access-Control-Allow-Methods": ""}},
		{"OPTIONS that is no preflight", "OPTIONS", "/movies", []string{"Origin", testOrigin}, 405, map[string]string{
			"Access-Control-Allow-Methods": ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, tt.method, tt.target, tt.headers...)
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d; body %s", rec.Code, tt.status, rec.Body)
			}
			got := map[string]string{}
			for k := range tt.want {
				got[k] = strings.Join(rec.Header().Values(k), ", ")
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("headers (-want +got):\n%s", diff)
			}
			if tt.status == 204 && rec.Body.Len() != 0 {
				t.Errorf("preflight with a body: %q", rec.Body)
			}
		})
	}

	t.Run("wildcard", func(t *testing.T) {
		h := newTestHandler(t, st, "*")
		rec := serve(h, "GET", "/movies", "Origin", other)
		if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "*" {
			t.Errorf("Access-Control-Allow-Origin = %q, want *", got)
		}
	})
	t.Run("default none", func(t *testing.T) {
		h := newTestHandler(t, st)
		rec := serve(h, "OPTIONS", "/movies", "Origin", testOrigin, "Access-Control-Request-Method", "GET")
		if rec.Code != 405 || rec.Header().Get("Access-Control-Allow-Origin") != "" || rec.Header().Get("Vary") != "" {
			t.Errorf("without origins: %d %v", rec.Code, rec.Header())
		}
	})
}
