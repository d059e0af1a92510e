package query

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
)

// issuedOnly wraps a store and records every page token the store issued;
// a listing asked to start at any other token is a read at a key the client
// made up, which the cursors must make impossible.
type issuedOnly struct {
	store.Store
	mu     sync.Mutex
	issued map[string]bool
	forged []string
}

func (s *issuedOnly) check(token store.PageToken) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token != nil && !s.issued[string(token)] {
		s.forged = append(s.forged, string(token))
	}
}

func (s *issuedOnly) issue(token store.PageToken) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if token != nil {
		s.issued[string(token)] = true
	}
}

func (s *issuedOnly) ListMovies(ctx context.Context, f store.MovieFilter, limit int, token store.PageToken) (store.Page[store.Movie], error) {
	s.check(token)
	p, err := s.Store.ListMovies(ctx, f, limit, token)
	s.issue(p.Next)
	return p, err
}

func (s *issuedOnly) ListErrors(ctx context.Context, limit int, token store.PageToken) (store.Page[store.ErrorItem], error) {
	s.check(token)
	p, err := s.Store.ListErrors(ctx, limit, token)
	s.issue(p.Next)
	return p, err
}

func (s *issuedOnly) ListRuns(ctx context.Context, f store.RunFilter, limit int, token store.PageToken) (store.Page[store.Run], error) {
	s.check(token)
	p, err := s.Store.ListRuns(ctx, f, limit, token)
	s.issue(p.Next)
	return p, err
}

func (s *issuedOnly) ListHistory(ctx context.Context, movieID string, f store.HistoryFilter, limit int, token store.PageToken) (store.Page[store.Observation], error) {
	s.check(token)
	p, err := s.Store.ListHistory(ctx, movieID, f, limit, token)
	s.issue(p.Next)
	return p, err
}

// fuzzRoutes are the paths FuzzQuery requests; {id} takes the fuzzed id.
var fuzzRoutes = []string{"/movies", "/movies/{id}", "/runs/{id}", "/errors", "/runs", "/errors/{id}", "/movies/{id}/history"}

// FuzzQuery throws arbitrary paths ids, query strings and cursors at the
// handler: it must never panic, never answer a 5xx, always answer JSON with
// a known error code, and never let the store read from a token it did not
// issue. The query strings reach every parameter parser: limit, year,
// status, since and until, and the cursors of every listing.
func FuzzQuery(f *testing.F) {
	st := &issuedOnly{Store: embedded.NewMemory(), issued: map[string]bool{}}
	seed(f, st)
	h, err := New(st, Options{CursorKey: testKey, Logger: quietLog})
	if err != nil {
		f.Fatal(err)
	}
	next := func(target string) string {
		rec := serve(h, "GET", target)
		var b struct{ NextCursor string }
		if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil || b.NextCursor == "" {
			f.Fatalf("%s: no cursor in %s", target, rec.Body)
		}
		return b.NextCursor
	}
	movies, year, errs := next("/movies?limit=3"), next("/movies?year=1994&limit=3"), next("/errors?limit=3")
	runs, completed := next("/runs?limit=3"), next("/runs?status=completed&limit=2")
	history, since := next("/movies/"+godfather+"/history?limit=1"), next("/movies/"+godfather+"/history?limit=1&since=2026-03-01T08:00:00Z")
	f.Add(uint8(0), "", "limit=3", movies)
	f.Add(uint8(0), "", "year=1994&limit=3", year)
	f.Add(uint8(0), "", "year=1994", movies)
	f.Add(uint8(3), "", "limit=3", errs)
	f.Add(uint8(3), "", "", movies)
	f.Add(uint8(0), "", "limit=0&year=-1&x=%zz", "")
	f.Add(uint8(0), "", "limit=1&limit=2;", "AQ")
	f.Add(uint8(1), godfather, "", "")
	f.Add(uint8(1), "The Godfather/../x", "a=b", "")
	f.Add(uint8(2), runDone, "", "")
	f.Add(uint8(2), "run\x00\xff", "", "")
	f.Add(uint8(4), "", "limit=3", runs)
	f.Add(uint8(4), "", "status=completed&limit=2", completed)
	f.Add(uint8(4), "", "status=failed", completed)
	f.Add(uint8(4), "", "status=Running&limit=1", "")
	f.Add(uint8(5), errorItemAt(3).ID, "", "")
	f.Add(uint8(5), "0E4565425C9067ED9FEADC389575D2A8", "", "")
	f.Add(uint8(6), godfather, "limit=1", history)
	f.Add(uint8(6), godfather, "limit=1&since=2026-03-01T08:00:00Z", since)
	f.Add(uint8(6), godfather, "since=2026-03-01T08:00:00%2B01:00&until=2026-03-01T09:00:00.123456789Z", "")
	f.Add(uint8(6), godfather, "since=0001-01-01T00:00:00%2B00:01&until=9999-12-31T23:59:59-00:01", since)
	f.Add(uint8(6), godfather, "until=0001-01-01T00:00:00Z", "")
	f.Add(uint8(6), "film-01-1994", "since=2026-13-01T00:00:00Z", history)
	codes := []string{httpx.CodeBadRequest, httpx.CodeBadParameter, httpx.CodeBadCursor, httpx.CodeNotFound, httpx.CodeMethodNotAllowed}

	f.Fuzz(func(t *testing.T, route uint8, id, rawQuery, cursor string) {
		u := &url.URL{Path: strings.Replace(fuzzRoutes[int(route)%len(fuzzRoutes)], "{id}", id, 1), RawQuery: rawQuery}
		if cursor != "" {
			if u.RawQuery != "" {
				u.RawQuery += "&"
			}
			u.RawQuery += "cursor=" + url.QueryEscape(cursor)
		}
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.URL, r.RequestURI = u, u.RequestURI()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)

		if rec.Code >= 500 {
			t.Fatalf("GET %s: %d %s", u, rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) && rec.Code != http.StatusMovedPermanently && rec.Code != http.StatusTemporaryRedirect {
			t.Fatalf("GET %s: %d, body not JSON: %q", u, rec.Code, rec.Body)
		}
		if rec.Code >= 400 {
			var b errorBody
			_ = json.Unmarshal(rec.Body.Bytes(), &b)
			if !slices.Contains(codes, b.Error.Code) || b.Error.Message == "" {
				t.Fatalf("GET %s: %d with error %+v", u, rec.Code, b.Error)
			}
		}
		st.mu.Lock()
		forged := slices.Clone(st.forged)
		st.mu.Unlock()
		if len(forged) > 0 {
			t.Fatalf("GET %s: the store was asked to read from tokens it never issued: %q", u, forged)
		}
	})
}
