// Package storetest is the contract suite of store.Store: every
// implementation (embedded, in memory and on bbolt; dynamo, on moto_server)
// runs it from its own tests:
//
//	func TestContract(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return embedded.NewMemory() })
//	}
//
// Each subtest asks newStore for a fresh, empty store. The suite reads the
// real clock only for TTL: items it expects to see expire years ahead, and
// items it expects to be hidden expired an hour ago.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// NewStore returns a fresh, empty store for one subtest; the store is
// cleaned up through t.
type NewStore func(t *testing.T) store.Store

// t0 is the suite's base time, with nanoseconds so that sub-second
// ordering and round trips are exercised.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)

// farFuture is an expiry no test reaches.
var farFuture = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)

// equate compares values the way the contract means them: nil and empty
// slices are the same.
var equate = cmpopts.EquateEmpty()

// Run runs every contract subtest against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	t.Run("ApplyMovie", func(t *testing.T) { testApplyMovie(t, newStore) })
	t.Run("ApplyMovieInvalid", func(t *testing.T) { testApplyMovieInvalid(t, newStore) })
	t.Run("ApplyMovieConcurrent", func(t *testing.T) { testApplyMovieConcurrent(t, newStore) })
	t.Run("GetMovie", func(t *testing.T) { testGetMovie(t, newStore) })
	t.Run("ListMovies", func(t *testing.T) { testListMovies(t, newStore) })
	t.Run("ListMoviesTokens", func(t *testing.T) { testListMoviesTokens(t, newStore) })
	t.Run("ListMoviesYearChange", func(t *testing.T) { testListMoviesYearChange(t, newStore) })
	t.Run("Runs", func(t *testing.T) { testRuns(t, newStore) })
	t.Run("CountEvent", func(t *testing.T) { testCountEvent(t, newStore) })
	t.Run("CountEventConcurrent", func(t *testing.T) { testCountEventConcurrent(t, newStore) })
	t.Run("FailEvent", func(t *testing.T) { testFailEvent(t, newStore) })
	t.Run("FailEventConcurrent", func(t *testing.T) { testFailEventConcurrent(t, newStore) })
	t.Run("RunStatus", func(t *testing.T) { testRunStatus(t, newStore) })
	t.Run("AcquireLease", func(t *testing.T) { testAcquireLease(t, newStore) })
	t.Run("PageState", func(t *testing.T) { testPageState(t, newStore) })
	t.Run("PutError", func(t *testing.T) { testPutError(t, newStore) })
	t.Run("ListErrors", func(t *testing.T) { testListErrors(t, newStore) })
	t.Run("Cancelled", func(t *testing.T) { testCancelled(t, newStore) })
	t.Run("ApplyMovieConflict", func(t *testing.T) { testApplyMovieConflict(t, newStore) })
	t.Run("CountEventConflict", func(t *testing.T) { testCountEventConflict(t, newStore) })
	t.Run("GetError", func(t *testing.T) { testGetError(t, newStore) })
	t.Run("ListErrorsPreview", func(t *testing.T) { testListErrorsPreview(t, newStore) })
	t.Run("ResolveError", func(t *testing.T) { testResolveError(t, newStore) })
	t.Run("ResolveErrorOrder", func(t *testing.T) { testResolveErrorOrder(t, newStore) })
	t.Run("History", func(t *testing.T) { testHistory(t, newStore) })
	t.Run("HistoryOrderIndependent", func(t *testing.T) { testHistoryOrderIndependent(t, newStore) })
	t.Run("HistoryListing", func(t *testing.T) { testHistoryListing(t, newStore) })
	t.Run("ListRuns", func(t *testing.T) { testListRuns(t, newStore) })
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// movie returns a full movie observed by event (at, eventID).
func movie(id, eventID string, at time.Time) store.Movie {
	return store.Movie{
		ID:             id,
		Title:          "Title of " + id,
		Year:           1994,
		Rank:           3,
		Rating:         9.2,
		Votes:          2_000_000,
		Director:       "Frank Darabont",
		Genres:         []string{"Drama", "Crime"},
		RuntimeMinutes: 142,
		DetailURL:      "https://example.com/title/" + id,
		Source:         "https://example.com/chart",
		FirstSeen:      at,
		LastSeen:       at,
		LastRunID:      "run-" + eventID,
		LastEventID:    eventID,
		LastEventTime:  at,
	}
}

func apply(t *testing.T, s store.Store, m store.Movie) store.Outcome {
	t.Helper()
	out, err := s.ApplyMovie(ctxFor(t), m)
	if err != nil {
		t.Fatalf("ApplyMovie(%s, %s): %v", m.ID, m.LastEventID, err)
	}
	return out
}

func getMovie(t *testing.T, s store.Store, id string) store.Movie {
	t.Helper()
	m, err := s.GetMovie(ctxFor(t), id)
	if err != nil {
		t.Fatalf("GetMovie(%s): %v", id, err)
	}
	return m
}

func testApplyMovie(t *testing.T, newStore NewStore) {
	m1 := movie("tt1", "e1", t0)
	m2 := movie("tt1", "e2", t0.Add(time.Hour))
	m2.Title, m2.Rating, m2.Rank, m2.Votes = "New title", 8.7, 1, 2_100_000
	m2.Genres = []string{"Drama"}
	m2.Year = 1995
	// sparse is newer and drops optional fields: the projection is replaced,
	// not merged.
	sparse := store.Movie{ID: "tt1", Title: "Bare", Rating: 7, Source: "s", FirstSeen: t0.Add(2 * time.Hour),
		LastSeen: t0.Add(2 * time.Hour), LastRunID: "r3", LastEventID: "e3", LastEventTime: t0.Add(2 * time.Hour)}
	sameTimeA := movie("tt1", "a", t0)
	sameTimeB := movie("tt1", "b", t0)
	nanoLater := movie("tt1", "e0", t0.Add(time.Nanosecond))
	withFirstSeen := func(m store.Movie, fs time.Time) store.Movie { m.FirstSeen = fs; return m }

	tests := []struct {
		name  string
		apply []store.Movie
		want  []store.Outcome
		final store.Movie
	}{
		{"first event applies", []store.Movie{m1}, []store.Outcome{store.Applied}, m1},
		{"same event twice is a duplicate", []store.Movie{m1, m1}, []store.Outcome{store.Applied, store.Duplicate}, m1},
		{"newer event replaces fields and keeps first seen", []store.Movie{m1, m2},
			[]store.Outcome{store.Applied, store.Applied}, withFirstSeen(m2, m1.FirstSeen)},
		// The projection is order-independent: an older event arriving
		// late is stale, but the movie was first seen at its time.
		{"older event is stale and lowers first seen", []store.Movie{m2, m1}, []store.Outcome{store.Applied, store.Stale},
			withFirstSeen(m2, m1.FirstSeen)},
		{"redelivered old event after a newer one is stale", []store.Movie{m1, m2, m1, m2},
			[]store.Outcome{store.Applied, store.Applied, store.Stale, store.Duplicate}, withFirstSeen(m2, m1.FirstSeen)},
		{"same time: greater id wins", []store.Movie{sameTimeA, sameTimeB},
			[]store.Outcome{store.Applied, store.Applied}, sameTimeB},
		{"same time: smaller id is stale", []store.Movie{sameTimeB, sameTimeA},
			[]store.Outcome{store.Applied, store.Stale}, sameTimeB},
		{"one nanosecond later wins over a greater id", []store.Movie{sameTimeB, nanoLater},
			[]store.Outcome{store.Applied, store.Applied}, withFirstSeen(nanoLater, sameTimeB.FirstSeen)},
		{"newer sparse event clears dropped fields", []store.Movie{m1, sparse},
			[]store.Outcome{store.Applied, store.Applied}, withFirstSeen(sparse, m1.FirstSeen)},
		{"many events out of order converge on the newest", []store.Movie{m2, sameTimeA, sparse, m1, nanoLater, sparse},
			[]store.Outcome{store.Applied, store.Stale, store.Applied, store.Stale, store.Stale, store.Duplicate},
			withFirstSeen(sparse, m1.FirstSeen)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			var got []store.Outcome
			for _, m := range tt.apply {
				got = append(got, apply(t, s, m))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcomes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.final, getMovie(t, s, "tt1"), equate); diff != "" {
				t.Errorf("stored movie (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("movies are independent", func(t *testing.T) {
		s := newStore(t)
		a, b := movie("tt-a", "e2", t0.Add(time.Hour)), movie("tt-b", "e1", t0)
		apply(t, s, a)
		if out := apply(t, s, b); out != store.Applied {
			t.Errorf("older event of another movie: got %v, want applied", out)
		}
		if diff := cmp.Diff(b, getMovie(t, s, "tt-b"), equate); diff != "" {
			t.Errorf("tt-b (-want +got):\n%s", diff)
		}
	})

	t.Run("stored movie is a copy", func(t *testing.T) {
		s := newStore(t)
		m := movie("tt1", "e1", t0)
		m.Genres = []string{"Drama", "Crime"}
		apply(t, s, m)
		m.Genres[0] = "changed by caller"
		got := getMovie(t, s, "tt1")
		if got.Genres[0] != "Drama" {
			t.Fatalf("stored genres alias the caller's slice: %q", got.Genres)
		}
		got.Genres[0] = "changed by reader"
		if again := getMovie(t, s, "tt1"); again.Genres[0] != "Drama" {
			t.Errorf("returned genres alias the store: %q", again.Genres)
		}
	})
}

// badInput reports whether err is how a store refuses bad input: an error
// matching store.ErrInvalid and not store.ErrTransient (retrying it cannot
// succeed, and callers decide on exactly that).
func badInput(err error) bool {
	return errors.Is(err, store.ErrInvalid) && !errors.Is(err, store.ErrTransient)
}

func testApplyMovieInvalid(t *testing.T, newStore NewStore) {
	s := newStore(t)
	valid := movie("tt1", "e1", t0)
	tests := []struct {
		name   string
		change func(*store.Movie)
	}{
		{"empty id", func(m *store.Movie) { m.ID = "" }},
		{"empty event id", func(m *store.Movie) { m.LastEventID = "" }},
		{"id too long", func(m *store.Movie) { m.ID = strings.Repeat("x", 2000) }},
		{"id not UTF-8", func(m *store.Movie) { m.ID = "tt\xff" }},
		{"title not UTF-8", func(m *store.Movie) { m.Title = "bad \xc3" }},
		{"NaN rating", func(m *store.Movie) { m.Rating = math.NaN() }},
		{"infinite rating", func(m *store.Movie) { m.Rating = math.Inf(1) }},
		{"event time after year 9999", func(m *store.Movie) { m.LastEventTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := valid
			tt.change(&m)
			out, err := s.ApplyMovie(ctxFor(t), m)
			if err == nil {
				t.Fatalf("ApplyMovie = %v, nil; want an error", out)
			}
			if errors.Is(err, store.ErrTransient) || !errors.Is(err, store.ErrInvalid) {
				t.Errorf("bad input not reported as ErrInvalid, or as transient: %v", err)
			}
		})
	}
	if _, err := s.GetMovie(ctxFor(t), "tt1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after rejected writes: GetMovie error = %v, want ErrNotFound", err)
	}
}

func testApplyMovieConcurrent(t *testing.T, newStore NewStore) {
	s := newStore(t)
	const events, workers = 40, 8
	ms := make([]store.Movie, events)
	for i := range ms {
		ms[i] = movie("tt1", fmt.Sprintf("e%03d", i), t0.Add(time.Duration(i)*time.Second))
		ms[i].Rating = float64(i) / 10
	}
	order := rand.Perm(events)
	// Every event is delivered twice, by different workers.
	order = append(order, rand.Perm(events)...)
	var (
		mu      sync.Mutex
		applied int
		errs    []error
		wg      sync.WaitGroup
	)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				out, err := s.ApplyMovie(ctxFor(t), ms[i])
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else if out == store.Applied {
					applied++
				}
				mu.Unlock()
			}
		})
	}
	for _, i := range order {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent ApplyMovie: %v", err)
	}
	if applied < 1 || applied > events {
		t.Errorf("applied %d times, want 1..%d", applied, events)
	}
	want := ms[events-1]
	want.FirstSeen = getMovie(t, s, "tt1").FirstSeen
	if !slices.ContainsFunc(ms, func(m store.Movie) bool { return m.FirstSeen.Equal(want.FirstSeen) }) {
		t.Errorf("first seen %v is none of the events' first seen", want.FirstSeen)
	}
	if diff := cmp.Diff(want, getMovie(t, s, "tt1"), equate); diff != "" {
		t.Errorf("after concurrent applies (-want +got):\n%s", diff)
	}
}

func testGetMovie(t *testing.T, newStore NewStore) {
	s := newStore(t)
	apply(t, s, movie("tt1", "e1", t0))
	tests := []struct {
		id      string
		wantErr error
	}{
		{"tt1", nil},
		{"tt2", store.ErrNotFound},
		{"TT1", store.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			_, err := s.GetMovie(ctxFor(t), tt.id)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("GetMovie(%q) error = %v, want %v", tt.id, err, tt.wantErr)
			}
		})
	}
}

// walk reads a listing page after page through list, from the first
// (token nil) until Next is nil, and returns every item and the number of
// pages. It fails t on an error, a page over limit or more than 1000
// pages, and, unless emptyPages, on an empty page after the first (the
// page before should have had a nil Next; a listing that filters, such as
// runs by status, may send one).
func walk[T any](t *testing.T, what string, limit int, emptyPages bool, list func(store.PageToken) (store.Page[T], error)) ([]T, int) {
	t.Helper()
	var all []T
	var token store.PageToken
	for pages := 1; ; pages++ {
		p, err := list(token)
		if err != nil {
			t.Fatalf("%s page %d: %v", what, pages, err)
		}
		if len(p.Items) > limit {
			t.Fatalf("%s: page %d has %d items, limit %d", what, pages, len(p.Items), limit)
		}
		if len(p.Items) == 0 && pages > 1 && !emptyPages {
			t.Errorf("%s: page %d is empty: the previous page should have had a nil Next", what, pages)
		}
		all = append(all, p.Items...)
		if p.Next == nil {
			return all, pages
		}
		if pages > 1000 {
			t.Fatalf("%s: more than 1000 pages", what)
		}
		token = p.Next
	}
}

// listMovies walks every page of the movies listing of f.
func listMovies(t *testing.T, s store.Store, f store.MovieFilter, limit int) ([]store.Movie, int) {
	t.Helper()
	return walk(t, fmt.Sprintf("ListMovies(%+v, %d)", f, limit), limit, false, func(token store.PageToken) (store.Page[store.Movie], error) {
		return s.ListMovies(ctxFor(t), f, limit, token)
	})
}

func ids(ms []store.Movie) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.ID
	}
	return out
}

// catalogue is 23 movies: 7 of 1994, 5 of 2001, 2 without a year and one
// each of other years.
func catalogue() []store.Movie {
	var ms []store.Movie
	add := func(id string, year int) {
		m := movie(id, "e-"+id, t0)
		m.Year = year
		ms = append(ms, m)
	}
	for i := range 7 {
		add(fmt.Sprintf("tt94-%02d", 6-i), 1994) // inserted out of id order
	}
	for i := range 5 {
		add(fmt.Sprintf("tt01-%d", i), 2001)
	}
	add("tt00-a", 0)
	add("tt00-b", 0)
	for i := range 9 {
		add(fmt.Sprintf("ttx-%d", i), 1950+i)
	}
	return ms
}

func testListMovies(t *testing.T, newStore NewStore) {
	s := newStore(t)
	ms := catalogue()
	for _, m := range ms {
		apply(t, s, m)
	}
	byID := map[string]store.Movie{}
	for _, m := range ms {
		byID[m.ID] = m
	}
	idsOfYear := func(year int) []string {
		var out []string
		for _, m := range ms {
			if year == 0 || m.Year == year {
				out = append(out, m.ID)
			}
		}
		slices.Sort(out)
		return out
	}

	var reference []string // the order of the all-movies listing
	tests := []struct {
		name      string
		year      int
		limit     int
		wantPages int
	}{
		{"all, limit 1", 0, 1, 23},
		{"all, limit 5", 0, 5, 5},
		{"all, limit 23 (exactly all)", 0, 23, 1},
		{"all, limit 24", 0, 24, 1},
		{"all, limit above the maximum", 0, 5000, 1},
		{"1994, limit 2", 1994, 2, 4},
		{"1994, limit 7 (exactly all)", 1994, 7, 1},
		{"1994, limit 1", 1994, 1, 7},
		{"2001, limit 10", 2001, 10, 1},
		{"year without movies", 1800, 10, 1},
		{"1950, limit 1", 1950, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pages := listMovies(t, s, store.MovieFilter{Year: tt.year}, tt.limit)
			if pages != tt.wantPages {
				t.Errorf("%d pages, want %d", pages, tt.wantPages)
			}
			gotIDs := ids(got)
			want := idsOfYear(tt.year)
			if tt.year != 0 {
				// A year lists in id order.
				if diff := cmp.Diff(want, gotIDs, equate); diff != "" {
					t.Errorf("ids (-want +got):\n%s", diff)
				}
			} else {
				// All movies: each once, in a stable order.
				sorted := slices.Sorted(slices.Values(gotIDs))
				if diff := cmp.Diff(want, sorted); diff != "" {
					t.Errorf("ids, sorted (-want +got):\n%s", diff)
				}
				if reference == nil {
					reference = gotIDs
				} else if diff := cmp.Diff(reference, gotIDs); diff != "" {
					t.Errorf("order differs from the first listing (-first +this):\n%s", diff)
				}
			}
			for _, m := range got {
				if diff := cmp.Diff(byID[m.ID], m, equate); diff != "" {
					t.Errorf("listed movie %s (-want +got):\n%s", m.ID, diff)
				}
			}
		})
	}

	t.Run("stable while movies are updated", func(t *testing.T) {
		p1, err := s.ListMovies(ctxFor(t), store.MovieFilter{}, 10, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ms {
			m.LastEventID, m.LastEventTime, m.Rating = "e-later", t0.Add(time.Hour), 1
			apply(t, s, m)
		}
		rest, _ := func() ([]store.Movie, int) {
			var all []store.Movie
			token := p1.Next
			for token != nil {
				p, err := s.ListMovies(ctxFor(t), store.MovieFilter{}, 10, token)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, p.Items...)
				token = p.Next
			}
			return all, 0
		}()
		got := append(ids(p1.Items), ids(rest)...)
		if diff := cmp.Diff(reference, got); diff != "" {
			t.Errorf("listing across updates (-before +during):\n%s", diff)
		}
	})

	t.Run("empty store", func(t *testing.T) {
		empty := newStore(t)
		for _, year := range []int{0, 1994} {
			p, err := empty.ListMovies(ctxFor(t), store.MovieFilter{Year: year}, 10, nil)
			if err != nil {
				t.Fatalf("year %d: %v", year, err)
			}
			if len(p.Items) != 0 || p.Next != nil {
				t.Errorf("year %d: got %d items, next %q; want none", year, len(p.Items), p.Next)
			}
		}
	})

	t.Run("listed movies are copies", func(t *testing.T) {
		p, err := s.ListMovies(ctxFor(t), store.MovieFilter{Year: 1994}, 1, nil)
		if err != nil || len(p.Items) != 1 {
			t.Fatalf("ListMovies: %d items, %v", len(p.Items), err)
		}
		p.Items[0].Genres[0] = "changed by reader"
		if got := getMovie(t, s, p.Items[0].ID); got.Genres[0] == "changed by reader" {
			t.Errorf("listed genres alias the store")
		}
	})
}

func testListMoviesTokens(t *testing.T, newStore NewStore) {
	s := newStore(t)
	for _, m := range catalogue() {
		apply(t, s, m)
	}
	ctx := ctxFor(t)
	page := func(f store.MovieFilter) store.PageToken {
		p, err := s.ListMovies(ctx, f, 2, nil)
		if err != nil || p.Next == nil {
			t.Fatalf("ListMovies(%+v): next %q, %v", f, p.Next, err)
		}
		return p.Next
	}
	allTok, y94Tok, y01Tok := page(store.MovieFilter{}), page(store.MovieFilter{Year: 1994}), page(store.MovieFilter{Year: 2001})
	e := store.ErrorItem{ID: "err-a", Stage: store.StageDecode, FirstFailure: t0, LastFailure: t0, ExpiresAt: farFuture}
	for _, id := range []string{"err-a", "err-b", "err-c"} {
		e.ID = id
		if err := s.PutError(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	ep, err := s.ListErrors(ctx, 1, nil)
	if err != nil || ep.Next == nil {
		t.Fatalf("ListErrors: next %q, %v", ep.Next, err)
	}
	errTok := ep.Next

	tests := []struct {
		name   string
		filter store.MovieFilter
		token  store.PageToken
	}{
		{"year token without a year", store.MovieFilter{}, y94Tok},
		{"all-movies token with a year", store.MovieFilter{Year: 1994}, allTok},
		{"token of another year", store.MovieFilter{Year: 2001}, y94Tok},
		{"errors token", store.MovieFilter{}, errTok},
		{"garbage", store.MovieFilter{}, store.PageToken("not a token")},
		{"one byte", store.MovieFilter{}, store.PageToken{0}},
		{"truncated", store.MovieFilter{}, allTok[:len(allTok)-1]},
		{"extended", store.MovieFilter{Year: 2001}, append(slices.Clone(y01Tok), 'x')},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := s.ListMovies(ctx, tt.filter, 2, tt.token)
			if !errors.Is(err, store.ErrBadToken) || !errors.Is(err, store.ErrInvalid) {
				t.Errorf("ListMovies = %d items, %v; want ErrBadToken and ErrInvalid", len(p.Items), err)
			}
		})
	}
	for _, tok := range []store.PageToken{allTok, y94Tok, store.PageToken("garbage")} {
		if _, err := s.ListErrors(ctx, 2, tok); !errors.Is(err, store.ErrBadToken) || !errors.Is(err, store.ErrInvalid) {
			t.Errorf("ListErrors with a movies token or garbage %q: %v, want ErrBadToken and ErrInvalid", tok, err)
		}
	}
	for _, limit := range []int{0, -1} {
		if _, err := s.ListMovies(ctx, store.MovieFilter{}, limit, nil); !badInput(err) {
			t.Errorf("ListMovies with limit %d: %v, want a bad-input error", limit, err)
		}
		if _, err := s.ListErrors(ctx, limit, nil); !badInput(err) {
			t.Errorf("ListErrors with limit %d: %v, want a bad-input error", limit, err)
		}
	}
	if p, err := s.ListMovies(ctx, store.MovieFilter{}, 2, store.PageToken{}); err != nil || len(p.Items) != 2 {
		t.Errorf("empty token: %d items, %v; want the first page", len(p.Items), err)
	}
}

func testListMoviesYearChange(t *testing.T, newStore NewStore) {
	s := newStore(t)
	m := movie("tt1", "e1", t0)
	apply(t, s, m)
	m.Year, m.LastEventID, m.LastEventTime = 1995, "e2", t0.Add(time.Minute)
	apply(t, s, m)
	m.Year, m.LastEventID, m.LastEventTime = 0, "e3", t0.Add(2*time.Minute)
	noYear := m
	other := movie("tt2", "e1", t0)
	apply(t, s, other)
	for _, step := range []struct {
		name string
		want map[int][]string
	}{
		{"moved to 1995", map[int][]string{1994: {"tt2"}, 1995: {"tt1"}, 0: {"tt1", "tt2"}}},
		{"year dropped", map[int][]string{1994: {"tt2"}, 1995: nil, 0: {"tt1", "tt2"}}},
	} {
		if step.name == "year dropped" {
			apply(t, s, noYear)
		}
		for year, want := range step.want {
			got, _ := listMovies(t, s, store.MovieFilter{Year: year}, 10)
			gotIDs := ids(got)
			slices.Sort(gotIDs)
			if diff := cmp.Diff(want, gotIDs, equate); diff != "" {
				t.Errorf("%s: year %d (-want +got):\n%s", step.name, year, diff)
			}
		}
	}
}

func getRun(t *testing.T, s store.Store, id string) store.Run {
	t.Helper()
	r, err := s.GetRun(ctxFor(t), id)
	if err != nil {
		t.Fatalf("GetRun(%s): %v", id, err)
	}
	return r
}

func count(t *testing.T, s store.Store, runID, eventID string, c store.Counter) bool {
	t.Helper()
	ok, err := s.CountEvent(ctxFor(t), runID, eventID, c, "")
	if err != nil {
		t.Fatalf("CountEvent(%s, %s, %s): %v", runID, eventID, c, err)
	}
	return ok
}

func testRuns(t *testing.T, newStore NewStore) {
	started := store.Run{ID: "run-1", Source: "https://example.com/chart", StartedAt: t0}
	final := store.Run{ID: "run-1", Source: "https://example.com/chart", StartedAt: t0,
		FinishedAt: t0.Add(3 * time.Second), Published: 250, PublishFailed: 1, Skipped: 2, Pages: 3,
		DurationMs: 3000}
	completed := final
	completed.Completed = true

	t.Run("start, then start again with other values", func(t *testing.T) {
		s := newStore(t)
		ctx := ctxFor(t)
		if err := s.StartRun(ctx, started); err != nil {
			t.Fatal(err)
		}
		again := store.Run{ID: "run-1", Source: "https://other.example/", StartedAt: t0.Add(time.Hour)}
		if err := s.StartRun(ctx, again); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(started, getRun(t, s, "run-1")); diff != "" {
			t.Errorf("run (-want +got):\n%s", diff)
		}
	})
	t.Run("complete", func(t *testing.T) {
		s := newStore(t)
		ctx := ctxFor(t)
		if err := s.StartRun(ctx, started); err != nil {
			t.Fatal(err)
		}
		count(t, s, "run-1", "e1", store.CounterProcessed)
		count(t, s, "run-1", "e2", store.CounterFailed)
		for range 2 { // idempotent
			if err := s.CompleteRun(ctx, final); err != nil {
				t.Fatal(err)
			}
		}
		want := completed
		want.Processed, want.Failed = 1, 1
		if diff := cmp.Diff(want, getRun(t, s, "run-1")); diff != "" {
			t.Errorf("run (-want +got):\n%s", diff)
		}
		if err := s.StartRun(ctx, started); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, getRun(t, s, "run-1")); diff != "" {
			t.Errorf("after a late StartRun (-want +got):\n%s", diff)
		}
	})
	t.Run("complete creates the run", func(t *testing.T) {
		s := newStore(t)
		if err := s.CompleteRun(ctxFor(t), final); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(completed, getRun(t, s, "run-1")); diff != "" {
			t.Errorf("run (-want +got):\n%s", diff)
		}
	})
	t.Run("complete with an error and unchanged", func(t *testing.T) {
		s := newStore(t)
		r := store.Run{ID: "run-2", Source: "s", StartedAt: t0, FinishedAt: t0.Add(time.Second), Unchanged: true,
			Error: "fetch: 503"}
		if err := s.CompleteRun(ctxFor(t), r); err != nil {
			t.Fatal(err)
		}
		r.Completed = true
		if diff := cmp.Diff(r, getRun(t, s, "run-2")); diff != "" {
			t.Errorf("run (-want +got):\n%s", diff)
		}
	})
	t.Run("counting first, start later", func(t *testing.T) {
		s := newStore(t)
		count(t, s, "run-1", "e1", store.CounterProcessed)
		if diff := cmp.Diff(store.Run{ID: "run-1", Processed: 1}, getRun(t, s, "run-1")); diff != "" {
			t.Errorf("run made by counting (-want +got):\n%s", diff)
		}
		if err := s.StartRun(ctxFor(t), started); err != nil {
			t.Fatal(err)
		}
		want := started
		want.Processed = 1
		if diff := cmp.Diff(want, getRun(t, s, "run-1")); diff != "" {
			t.Errorf("run (-want +got):\n%s", diff)
		}
	})
	t.Run("not found", func(t *testing.T) {
		s := newStore(t)
		if err := s.StartRun(ctxFor(t), started); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetRun(ctxFor(t), "run-2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRun(run-2) error = %v, want ErrNotFound", err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		s := newStore(t)
		for _, r := range []store.Run{{}, {ID: strings.Repeat("r", 1000)}, {ID: "r", Source: "\xff"}} {
			if err := s.StartRun(ctxFor(t), r); !badInput(err) {
				t.Errorf("StartRun(%.20q): %v, want a bad-input error", r.ID, err)
			}
			if err := s.CompleteRun(ctxFor(t), r); !badInput(err) {
				t.Errorf("CompleteRun(%.20q): %v, want a bad-input error", r.ID, err)
			}
		}
	})
}

func testCountEvent(t *testing.T, newStore NewStore) {
	type step struct {
		run, event string
		c          store.Counter
		want       bool
	}
	tests := []struct {
		name  string
		steps []step
		want  map[string][2]int // run → processed, failed
	}{
		{"once", []step{{"r1", "e1", store.CounterProcessed, true}}, map[string][2]int{"r1": {1, 0}}},
		{"duplicate counts once", []step{
			{"r1", "e1", store.CounterProcessed, true},
			{"r1", "e1", store.CounterProcessed, false},
			{"r1", "e1", store.CounterProcessed, false},
		}, map[string][2]int{"r1": {1, 0}}},
		{"one event counts once across counters", []step{
			{"r1", "e1", store.CounterProcessed, true},
			{"r1", "e1", store.CounterFailed, false},
		}, map[string][2]int{"r1": {1, 0}}},
		{"events and counters", []step{
			{"r1", "e1", store.CounterProcessed, true},
			{"r1", "e2", store.CounterProcessed, true},
			{"r1", "e3", store.CounterFailed, true},
			{"r1", "e2", store.CounterProcessed, false},
		}, map[string][2]int{"r1": {2, 1}}},
		{"same event id in two runs", []step{
			{"r1", "e1", store.CounterProcessed, true},
			{"r2", "e1", store.CounterProcessed, true},
		}, map[string][2]int{"r1": {1, 0}, "r2": {1, 0}}},
		{"ids that could collide when joined", []step{
			{"r#a", "b", store.CounterProcessed, true},
			{"r", "a#b", store.CounterProcessed, true},
		}, map[string][2]int{"r#a": {1, 0}, "r": {1, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			for i, st := range tt.steps {
				if got := count(t, s, st.run, st.event, st.c); got != st.want {
					t.Errorf("step %d: CountEvent(%s, %s, %s) = %v, want %v", i, st.run, st.event, st.c, got, st.want)
				}
			}
			for run, want := range tt.want {
				r := getRun(t, s, run)
				if got := [2]int{r.Processed, r.Failed}; got != want {
					t.Errorf("run %s: processed, failed = %v, want %v", run, got, want)
				}
			}
		})
	}
	t.Run("invalid", func(t *testing.T) {
		s := newStore(t)
		for _, in := range []struct {
			run, event string
			c          store.Counter
		}{{"", "e", store.CounterProcessed}, {"r", "", store.CounterProcessed}, {"r", "e", "bogus"}} {
			if ok, err := s.CountEvent(ctxFor(t), in.run, in.event, in.c, ""); !badInput(err) {
				t.Errorf("CountEvent(%q, %q, %q) = %v, %v; want a bad-input error", in.run, in.event, in.c, ok, err)
			}
		}
	})
}

func testCountEventConcurrent(t *testing.T, newStore NewStore) {
	s := newStore(t)
	const events, deliveries = 12, 3
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		counted = map[string]int{}
		errs    []error
	)
	for d := range deliveries {
		for i := range events {
			wg.Go(func() {
				c := store.CounterProcessed
				if i%4 == 0 {
					c = store.CounterFailed
				}
				ok, err := s.CountEvent(ctxFor(t), "run-1", fmt.Sprintf("e%02d", (i+d*5)%events), c, "")
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				} else if ok {
					counted[fmt.Sprintf("e%02d", (i+d*5)%events)]++
				}
			})
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent CountEvent: %v", err)
	}
	want := map[string]int{}
	for i := range events {
		want[fmt.Sprintf("e%02d", i)] = 1
	}
	if diff := cmp.Diff(want, counted); diff != "" {
		t.Errorf("times each event was counted (-want +got):\n%s", diff)
	}
	r := getRun(t, s, "run-1")
	if r.Processed+r.Failed != events {
		t.Errorf("processed %d + failed %d, want %d in all", r.Processed, r.Failed, events)
	}
}

func testRunStatus(t *testing.T, newStore NewStore) {
	base := store.Run{ID: "run-1", Source: "s", StartedAt: t0}
	done := func(published int, unchanged bool, errText string) store.Run {
		r := base
		r.FinishedAt, r.Published, r.Unchanged, r.Error = t0.Add(time.Second), published, unchanged, errText
		return r
	}
	tests := []struct {
		name      string
		complete  *store.Run
		processed int
		failed    int
		want      store.RunStatus
	}{
		{"started", nil, 0, 0, store.RunRunning},
		{"progress before completion", nil, 3, 0, store.RunRunning},
		{"completed, progress behind", ptr(done(3, false, "")), 2, 0, store.RunRunning},
		{"completed, all processed", ptr(done(3, false, "")), 3, 0, store.RunCompleted},
		{"completed, processed and failed", ptr(done(3, false, "")), 2, 1, store.RunCompleted},
		{"completed, nothing published", ptr(done(0, false, "")), 0, 0, store.RunCompleted},
		{"unchanged", ptr(done(0, true, "")), 0, 0, store.RunUnchanged},
		{"failed", ptr(done(0, false, "fetch: 503")), 0, 0, store.RunFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			ctx := ctxFor(t)
			if err := s.StartRun(ctx, base); err != nil {
				t.Fatal(err)
			}
			for i := range tt.processed {
				count(t, s, "run-1", fmt.Sprintf("p%d", i), store.CounterProcessed)
			}
			for i := range tt.failed {
				count(t, s, "run-1", fmt.Sprintf("f%d", i), store.CounterFailed)
			}
			if tt.complete != nil {
				if err := s.CompleteRun(ctx, *tt.complete); err != nil {
					t.Fatal(err)
				}
			}
			if got := getRun(t, s, "run-1").Status(); got != tt.want {
				t.Errorf("status %q, want %q", got, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func testAcquireLease(t *testing.T, newStore NewStore) {
	type step struct {
		host, holder string
		at           time.Duration // after t0
		ttl          time.Duration
		wantOK       bool
		wantRetry    time.Duration
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"free", []step{{"a.example", "h1", 0, time.Minute, true, 0}}},
		{"held by another", []step{
			{"a.example", "h1", 0, time.Minute, true, 0},
			{"a.example", "h2", 10 * time.Second, time.Minute, false, 50 * time.Second},
			{"a.example", "h2", 59*time.Second + 500*time.Millisecond, time.Minute, false, 500 * time.Millisecond},
		}},
		{"expired lease is taken", []step{
			{"a.example", "h1", 0, time.Minute, true, 0},
			{"a.example", "h2", time.Minute, time.Minute, true, 0},
			{"a.example", "h1", 90 * time.Second, time.Minute, false, 30 * time.Second},
		}},
		{"same holder takes it again and extends it", []step{
			{"a.example", "h1", 0, time.Minute, true, 0},
			{"a.example", "h1", 30 * time.Second, time.Minute, true, 0},
			{"a.example", "h2", 80 * time.Second, time.Minute, false, 10 * time.Second},
		}},
		{"hosts are independent", []step{
			{"a.example", "h1", 0, time.Minute, true, 0},
			{"b.example", "h2", time.Second, time.Minute, true, 0},
			{"a.example", "h2", 2 * time.Second, time.Minute, false, 58 * time.Second},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			for i, st := range tt.steps {
				ok, retry, err := s.AcquireLease(ctxFor(t), st.host, st.holder, t0.Add(st.at), st.ttl)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if ok != st.wantOK || retry != st.wantRetry {
					t.Errorf("step %d: AcquireLease(%s, %s, +%v) = %v, %v; want %v, %v",
						i, st.host, st.holder, st.at, ok, retry, st.wantOK, st.wantRetry)
				}
			}
		})
	}
	t.Run("invalid", func(t *testing.T) {
		s := newStore(t)
		for _, in := range []struct {
			host, holder string
			ttl          time.Duration
		}{{"", "h", time.Minute}, {"a", "", time.Minute}, {"a", "h", 0}, {"a", "h", -time.Second}} {
			if _, _, err := s.AcquireLease(ctxFor(t), in.host, in.holder, t0, in.ttl); !badInput(err) {
				t.Errorf("AcquireLease(%q, %q, %v): %v, want a bad-input error", in.host, in.holder, in.ttl, err)
			}
		}
	})
}

func testPageState(t *testing.T, newStore NewStore) {
	s := newStore(t)
	ctx := ctxFor(t)
	url := "https://example.com/chart?page=1"
	if _, err := s.PageState(ctx, url); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PageState before any put: %v, want ErrNotFound", err)
	}
	states := []store.PageState{
		{URL: url, ETag: `W/"abc"`, LastModified: "Fri, 14 Mar 2025 15:09:26 GMT", FetchedAt: t0},
		{URL: url, ETag: `"def"`, FetchedAt: t0.Add(time.Hour)},
		{URL: url, LastModified: "Sat, 15 Mar 2025 15:09:26 GMT", FetchedAt: t0.Add(2 * time.Hour)},
	}
	for i, ps := range states {
		if err := s.PutPageState(ctx, ps); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		got, err := s.PageState(ctx, url)
		if err != nil {
			t.Fatalf("get %d: %v", i, err)
		}
		if diff := cmp.Diff(ps, got); diff != "" {
			t.Errorf("state %d (-want +got):\n%s", i, diff)
		}
	}
	if _, err := s.PageState(ctx, url+"&page=2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PageState of another URL: %v, want ErrNotFound", err)
	}
	for _, ps := range []store.PageState{{}, {URL: strings.Repeat("u", 3000)}} {
		if err := s.PutPageState(ctx, ps); !badInput(err) {
			t.Errorf("PutPageState(%.20q): %v, want a bad-input error", ps.URL, err)
		}
	}
}

func errorItem(id string, first time.Time) store.ErrorItem {
	return store.ErrorItem{
		ID: id, Stage: store.StageDecode, Reason: "invalid character 'x'", EventID: "ev-" + id, RunID: "run-1",
		Payload: []byte(`{"x":` + id + `}`), PayloadSize: 7 + len(id),
		ShardID: "shardId-000000000001", SequenceNumber: "4960" + id, PartitionKey: "tt1",
		StreamARN: "arn:aws:kinesis:eu-west-2:000000000000:stream/events-test", Condition: "",
		Attempts: 1, FirstFailure: first, LastFailure: first, ExpiresAt: farFuture,
	}
}

// listErrors walks every page of the errors listing.
func listErrors(t *testing.T, s store.Store, limit int) ([]store.ErrorItem, int) {
	t.Helper()
	return walk(t, fmt.Sprintf("ListErrors(%d)", limit), limit, true, func(token store.PageToken) (store.Page[store.ErrorItem], error) {
		return s.ListErrors(ctxFor(t), limit, token)
	})
}

func testPutError(t *testing.T, newStore NewStore) {
	t.Run("round trip", func(t *testing.T) {
		s := newStore(t)
		e := errorItem("a", t0)
		e.Condition = "RetryAttemptsExhausted"
		e.Stage = store.StageRetriesExhausted
		if err := s.PutError(ctxFor(t), e); err != nil {
			t.Fatal(err)
		}
		got, _ := listErrors(t, s, 10)
		if diff := cmp.Diff([]store.ErrorItem{e}, got, equate); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
	})
	t.Run("again keeps first failure, takes the rest", func(t *testing.T) {
		s := newStore(t)
		e := errorItem("a", t0)
		for range 2 {
			if err := s.PutError(ctxFor(t), e); err != nil {
				t.Fatal(err)
			}
		}
		later := e
		later.FirstFailure = t0.Add(time.Hour) // a caller that lost the first failure
		later.LastFailure, later.Attempts, later.Reason = t0.Add(time.Hour), 4, "still bad"
		if err := s.PutError(ctxFor(t), later); err != nil {
			t.Fatal(err)
		}
		want := later
		want.FirstFailure = t0
		got, _ := listErrors(t, s, 10)
		if diff := cmp.Diff([]store.ErrorItem{want}, got, equate); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
	})
	t.Run("300 KB payload", func(t *testing.T) {
		s := newStore(t)
		e := errorItem("big", t0)
		e.Payload = make([]byte, store.MaxPayload)
		for i := range e.Payload {
			e.Payload[i] = byte(i * 7)
		}
		e.PayloadSize = 1 << 20
		if err := s.PutError(ctxFor(t), e); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetError(ctxFor(t), "big")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(e.Payload, got.Payload) {
			t.Errorf("payload of %d bytes came back as %d different bytes", len(e.Payload), len(got.Payload))
		}
		// cmp is slow on 300 KB: compare the rest without the payloads.
		wantRest, gotRest := e, got
		wantRest.Payload, gotRest.Payload = nil, nil
		if diff := cmp.Diff(wantRest, gotRest); diff != "" {
			t.Errorf("error item (-want +got):\n%s", diff)
		}
		got.Payload[0]++
		if again, _ := s.GetError(ctxFor(t), "big"); again.Payload[0] != e.Payload[0] {
			t.Errorf("returned payload aliases the store")
		}
		// The listing holds a preview of it.
		listed, _ := listErrors(t, s, 10)
		want := e
		want.Payload = e.Payload[:store.PreviewBytes]
		if diff := cmp.Diff([]store.ErrorItem{want}, listed); diff != "" {
			t.Errorf("listed item (-want +got):\n%s", diff)
		}
		listed[0].Payload[0]++
		if again, _ := listErrors(t, s, 10); again[0].Payload[0] != e.Payload[0] {
			t.Errorf("listed payload aliases the store")
		}
	})
	t.Run("payload over the maximum", func(t *testing.T) {
		s := newStore(t)
		e := errorItem("big", t0)
		e.Payload = make([]byte, store.MaxPayload+1)
		if err := s.PutError(ctxFor(t), e); !badInput(err) {
			t.Errorf("PutError with %d bytes: %v, want a bad-input error", len(e.Payload), err)
		}
	})
	t.Run("default expiry and cleaned text", func(t *testing.T) {
		s := newStore(t)
		now := time.Now().UTC()
		e := errorItem("a", now)
		e.ExpiresAt = time.Time{}
		e.Reason = "bad byte \xff here"
		e.PayloadSize = 0
		if err := s.PutError(ctxFor(t), e); err != nil {
			t.Fatal(err)
		}
		want := e
		want.Reason = "bad byte \uFFFD here"
		want.PayloadSize = len(e.Payload)
		exp := now.Add(14 * 24 * time.Hour)
		want.ExpiresAt = exp.Truncate(time.Second)
		if !want.ExpiresAt.Equal(exp) {
			want.ExpiresAt = want.ExpiresAt.Add(time.Second)
		}
		got, _ := listErrors(t, s, 10)
		if diff := cmp.Diff([]store.ErrorItem{want}, got, equate); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
	})
	t.Run("expired items are hidden and replaced", func(t *testing.T) {
		s := newStore(t)
		old := errorItem("a", t0)
		old.ExpiresAt = time.Now().Add(-time.Hour).Truncate(time.Second)
		live := errorItem("b", t0)
		for _, e := range []store.ErrorItem{old, live} {
			if err := s.PutError(ctxFor(t), e); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := listErrors(t, s, 10)
		if diff := cmp.Diff([]store.ErrorItem{live}, got, equate); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
		// The same failure again, after the item expired: a new item.
		again := errorItem("a", t0.Add(time.Hour))
		if err := s.PutError(ctxFor(t), again); err != nil {
			t.Fatal(err)
		}
		got, _ = listErrors(t, s, 10)
		if diff := cmp.Diff([]store.ErrorItem{again, live}, got, equate); diff != "" {
			t.Errorf("errors after a new failure (-want +got):\n%s", diff)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		s := newStore(t)
		for _, e := range []store.ErrorItem{{}, {ID: strings.Repeat("i", 600), FirstFailure: t0, LastFailure: t0}} {
			if err := s.PutError(ctxFor(t), e); !badInput(err) {
				t.Errorf("PutError(%.20q): %v, want a bad-input error", e.ID, err)
			}
		}
	})
}

func testListErrors(t *testing.T, newStore NewStore) {
	s := newStore(t)
	var want []store.ErrorItem
	for i := range 13 {
		// Two failures share each time: the greater id lists first.
		e := errorItem(fmt.Sprintf("e%02d", i), t0.Add(time.Duration(i/2)*time.Millisecond))
		want = append(want, e)
	}
	for _, i := range rand.Perm(len(want)) {
		if err := s.PutError(ctxFor(t), want[i]); err != nil {
			t.Fatal(err)
		}
	}
	slices.Reverse(want)
	tests := []struct {
		limit, wantPages int
	}{{1, 13}, {5, 3}, {13, 1}, {14, 1}, {2000, 1}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("limit %d", tt.limit), func(t *testing.T) {
			got, pages := listErrors(t, s, tt.limit)
			if pages != tt.wantPages {
				t.Errorf("%d pages, want %d", pages, tt.wantPages)
			}
			if diff := cmp.Diff(want, got, equate); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("empty", func(t *testing.T) {
		p, err := newStore(t).ListErrors(ctxFor(t), 10, nil)
		if err != nil || len(p.Items) != 0 || p.Next != nil {
			t.Errorf("ListErrors on an empty store = %d items, next %q, %v", len(p.Items), p.Next, err)
		}
	})
}

func testCancelled(t *testing.T, newStore NewStore) {
	s := newStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	calls := map[string]func() error{
		"ApplyMovie": func() error { _, err := s.ApplyMovie(ctx, movie("tt1", "e1", t0)); return err },
		"GetMovie":   func() error { _, err := s.GetMovie(ctx, "tt1"); return err },
		"ListMovies": func() error { _, err := s.ListMovies(ctx, store.MovieFilter{}, 10, nil); return err },
		"CountEvent": func() error { _, err := s.CountEvent(ctx, "r", "e", store.CounterProcessed, ""); return err },
		"PutError":   func() error { return s.PutError(ctx, errorItem("a", t0)) },
		"FailEvent":  func() error { _, err := s.FailEvent(ctx, "r", "e", errorItem("a", t0)); return err },
		"GetError":   func() error { _, err := s.GetError(ctx, "a"); return err },
		"ResolveError": func() error {
			_, err := s.ResolveError(ctx, "a", t0)
			return err
		},
		"RecordObservation": func() error { return s.RecordObservation(ctx, observation("tt1", "e1", t0, 1)) },
		"ListHistory": func() error {
			_, err := s.ListHistory(ctx, "tt1", store.HistoryFilter{}, 10, nil)
			return err
		},
		"ListRuns": func() error { _, err := s.ListRuns(ctx, store.RunFilter{}, 10, nil); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v, want context.Canceled", name, err)
		}
	}
	if _, err := s.GetMovie(ctxFor(t), "tt1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a cancelled ApplyMovie wrote: GetMovie error = %v", err)
	}
	if _, err := s.GetRun(ctxFor(t), "r"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a cancelled CountEvent or FailEvent wrote: GetRun error = %v", err)
	}
	if p, err := s.ListHistory(ctxFor(t), "tt1", store.HistoryFilter{}, 10, nil); err != nil || len(p.Items) != 0 {
		t.Errorf("a cancelled RecordObservation wrote: %d points, %v", len(p.Items), err)
	}
}

func failEvent(t *testing.T, s store.Store, runID, eventID string, e store.ErrorItem) bool {
	t.Helper()
	ok, err := s.FailEvent(ctxFor(t), runID, eventID, e)
	if err != nil {
		t.Fatalf("FailEvent(%s, %s, %s): %v", runID, eventID, e.ID, err)
	}
	return ok
}

// checkCounts fails t unless run runID has the processed and failed counts
// want.
func checkCounts(t *testing.T, s store.Store, runID string, want [2]int) {
	t.Helper()
	r := getRun(t, s, runID)
	if got := [2]int{r.Processed, r.Failed}; got != want {
		t.Errorf("run %s: processed, failed = %v, want %v", runID, got, want)
	}
}

func testFailEvent(t *testing.T, newStore NewStore) {
	// failure is the retries_exhausted item of event ev-a of run-1.
	failure := errorItem("a", t0)
	failure.Stage, failure.Condition, failure.Attempts = store.StageRetriesExhausted, "RetryAttemptsExhausted", 4
	t.Run("fresh event: item stored, failed counted", func(t *testing.T) {
		s := newStore(t)
		if !failEvent(t, s, "run-1", "ev-a", failure) {
			t.Errorf("FailEvent of a fresh event = false, want true")
		}
		got, _ := listErrors(t, s, 10)
		if diff := cmp.Diff([]store.ErrorItem{failure}, got, equate); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
		checkCounts(t, s, "run-1", [2]int{0, 1})
	})
	t.Run("again: nothing changes", func(t *testing.T) {
		s := newStore(t)
		failEvent(t, s, "run-1", "ev-a", failure)
		later := failure
		later.FirstFailure, later.LastFailure = t0.Add(time.Hour), t0.Add(time.Hour)
		later.Attempts, later.Reason = 9, "failed again"
		if failEvent(t, s, "run-1", "ev-a", later) {
			t.Errorf("second FailEvent = true, want false")
		}
		// Another item id for the same event changes nothing either.
		other := later
		other.ID = "a-2"
		if failEvent(t, s, "run-1", "ev-a", other) {
			t.Errorf("FailEvent with another item id = true, want false")
		}
		got, _ := listErrors(t, s, 10)
		if diff := cmp.Diff([]store.ErrorItem{failure}, got, equate); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
		checkCounts(t, s, "run-1", [2]int{0, 1})
	})
	t.Run("after CountEvent: no item", func(t *testing.T) {
		for _, c := range []store.Counter{store.CounterProcessed, store.CounterFailed} {
			t.Run(string(c), func(t *testing.T) {
				s := newStore(t)
				count(t, s, "run-1", "ev-a", c)
				if failEvent(t, s, "run-1", "ev-a", failure) {
					t.Errorf("FailEvent after CountEvent(%s) = true, want false", c)
				}
				if got, _ := listErrors(t, s, 10); len(got) != 0 {
					t.Errorf("FailEvent of a handled event stored %d error items: %+v", len(got), got)
				}
				want := [2]int{1, 0}
				if c == store.CounterFailed {
					want = [2]int{0, 1}
				}
				checkCounts(t, s, "run-1", want)
			})
		}
	})
	t.Run("CountEvent after FailEvent: not counted", func(t *testing.T) {
		s := newStore(t)
		failEvent(t, s, "run-1", "ev-a", failure)
		for _, c := range []store.Counter{store.CounterProcessed, store.CounterFailed} {
			if count(t, s, "run-1", "ev-a", c) {
				t.Errorf("CountEvent(%s) after FailEvent = true, want false", c)
			}
		}
		checkCounts(t, s, "run-1", [2]int{0, 1})
	})
	t.Run("events and runs are independent", func(t *testing.T) {
		s := newStore(t)
		b := errorItem("b", t0.Add(time.Millisecond))
		c := errorItem("c", t0.Add(2*time.Millisecond))
		c.RunID = "run-2"
		count(t, s, "run-1", "ev-x", store.CounterProcessed)
		for _, st := range []struct {
			run, event string
			e          store.ErrorItem
		}{{"run-1", "ev-a", failure}, {"run-1", "ev-b", b}, {"run-2", "ev-a", c}} {
			if !failEvent(t, s, st.run, st.event, st.e) {
				t.Errorf("FailEvent(%s, %s) = false, want true", st.run, st.event)
			}
		}
		got, _ := listErrors(t, s, 10)
		if diff := cmp.Diff([]store.ErrorItem{c, b, failure}, got, equate); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
		checkCounts(t, s, "run-1", [2]int{1, 2})
		checkCounts(t, s, "run-2", [2]int{0, 1})
	})
	t.Run("cleaned and given an expiry like PutError", func(t *testing.T) {
		s := newStore(t)
		now := time.Now().UTC()
		e := errorItem("a", now)
		e.ExpiresAt, e.Reason, e.PayloadSize = time.Time{}, "bad byte \xff here", 0
		failEvent(t, s, "run-1", "ev-a", e)
		want := e
		want.Reason = "bad byte \uFFFD here"
		want.PayloadSize = len(e.Payload)
		exp := now.Add(14 * 24 * time.Hour)
		want.ExpiresAt = exp.Truncate(time.Second)
		if !want.ExpiresAt.Equal(exp) {
			want.ExpiresAt = want.ExpiresAt.Add(time.Second)
		}
		got, _ := listErrors(t, s, 10)
		if diff := cmp.Diff([]store.ErrorItem{want}, got, equate); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
	})
	t.Run("replaces an item of the same id that outlived its marker", func(t *testing.T) {
		s := newStore(t)
		old := failure
		old.FirstFailure, old.LastFailure, old.Reason = t0.Add(-time.Hour), t0.Add(-time.Hour), "older"
		if err := s.PutError(ctxFor(t), old); err != nil {
			t.Fatal(err)
		}
		failEvent(t, s, "run-1", "ev-a", failure)
		got, _ := listErrors(t, s, 10)
		if diff := cmp.Diff([]store.ErrorItem{failure}, got, equate); diff != "" {
			t.Errorf("errors (-want +got):\n%s", diff)
		}
	})
	t.Run("invalid: nothing written", func(t *testing.T) {
		s := newStore(t)
		big := failure
		big.Payload = make([]byte, store.MaxPayload+1)
		for _, in := range []struct {
			run, event string
			e          store.ErrorItem
		}{
			{"", "ev-a", failure}, {"run-1", "", failure}, {"run-1", "ev-a", store.ErrorItem{}},
			{"run-1", "ev-a", big}, {strings.Repeat("r", 1000), "ev-a", failure},
		} {
			if ok, err := s.FailEvent(ctxFor(t), in.run, in.event, in.e); !badInput(err) {
				t.Errorf("FailEvent(%.20q, %q, %.20q) = %v, %v; want a bad-input error", in.run, in.event, in.e.ID, ok, err)
			}
		}
		if _, err := s.GetRun(ctxFor(t), "run-1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRun after invalid FailEvents: %v, want ErrNotFound", err)
		}
		if got, _ := listErrors(t, s, 10); len(got) != 0 {
			t.Errorf("invalid FailEvents stored %d error items", len(got))
		}
		// The event can still fail for real.
		if !failEvent(t, s, "run-1", "ev-a", failure) {
			t.Errorf("FailEvent after invalid calls = false, want true")
		}
	})
}

// testFailEventConcurrent races CountEvent and FailEvent of the same
// events: each event ends up handled by exactly one of them, and the error
// items are exactly those of the events FailEvent won.
func testFailEventConcurrent(t *testing.T, newStore NewStore) {
	s := newStore(t)
	const events = 10
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		won      = map[string]int{}
		failedBy = map[string]bool{}
		errs     []error
	)
	for i := range events {
		ev := fmt.Sprintf("e%02d", i)
		wg.Go(func() {
			ok, err := s.CountEvent(ctxFor(t), "run-1", ev, store.CounterProcessed, "")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				won[ev]++
			}
		})
		wg.Go(func() {
			e := errorItem(ev, t0.Add(time.Duration(i)*time.Millisecond))
			ok, err := s.FailEvent(ctxFor(t), "run-1", ev, e)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				won[ev]++
				failedBy[ev] = true
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent CountEvent and FailEvent: %v", err)
	}
	want := map[string]int{}
	for i := range events {
		want[fmt.Sprintf("e%02d", i)] = 1
	}
	if diff := cmp.Diff(want, won); diff != "" {
		t.Errorf("times each event was handled (-want +got):\n%s", diff)
	}
	got, _ := listErrors(t, s, 100)
	items := map[string]bool{}
	for _, e := range got {
		items[e.ID] = true
	}
	if diff := cmp.Diff(failedBy, items, equate); diff != "" {
		t.Errorf("error items vs events FailEvent won (-want +got):\n%s", diff)
	}
	r := getRun(t, s, "run-1")
	if r.Processed+r.Failed != events || r.Failed != len(failedBy) {
		t.Errorf("processed %d, failed %d; want %d in all, %d failed", r.Processed, r.Failed, events, len(failedBy))
	}
}
