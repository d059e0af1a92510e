package query

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
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

var fuzzRoutes = []string{"/movies", "/movies/", "/runs/", "/errors"}

// FuzzQuery throws arbitrary paths ids, query strings and cursors at the
// handler: it must never panic, never answer a 5xx, always answer JSON with
// a known error code, and never let the store read from a token it did not
// issue.
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
	codes := []string{httpx.CodeBadRequest, httpx.CodeBadParameter, httpx.CodeBadCursor, httpx.CodeNotFound, httpx.CodeMethodNotAllowed}

	f.Fuzz(func(t *testing.T, route uint8, id, rawQuery, cursor string) {
		u := &url.URL{Path: fuzzRoutes[int(route)%len(fuzzRoutes)], RawQuery: rawQuery}
		if u.Path[len(u.Path)-1] == '/' {
			u.Path += id
		}
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
