package storetest

import (
	"cmp"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu/short"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// observation returns the observation of movieID by event eventID at t,
// with values derived from v: observations with the same v are equal.
func observation(movieID, eventID string, at time.Time, v int) store.Observation {
	return store.Observation{MovieID: movieID, ObservedAt: at, EventID: eventID, RunID: "run-" + eventID,
		Rank: v, Rating: 8 + float64(v)/10, Votes: 1000 * v}
}

func record(t *testing.T, s store.Store, o store.Observation) {
	t.Helper()
	if err := s.RecordObservation(ctxFor(t), o); err != nil {
		t.Fatalf("RecordObservation(%s, %s): %v", o.MovieID, o.EventID, err)
	}
}

// listHistory walks every page of movieID's history.
func listHistory(t *testing.T, s store.Store, movieID string, f store.HistoryFilter, limit int) ([]store.Observation, int) {
	t.Helper()
	return walk(t, fmt.Sprintf("ListHistory(%s, %+v, %d)", movieID, f, limit), limit, false, func(token store.PageToken) (store.Page[store.Observation], error) {
		return s.ListHistory(ctxFor(t), movieID, f, limit, token)
	})
}

// changePoints is the reference: the observations of os (any order, any
// duplicates) that differ from the one before them in (time, event id)
// order, newest first.
func changePoints(os []store.Observation) []store.Observation {
	sorted := slices.Clone(os)
	slices.SortFunc(sorted, func(a, b store.Observation) int {
		return cmp.Or(a.ObservedAt.Compare(b.ObservedAt), cmp.Compare(a.EventID, b.EventID))
	})
	sorted = slices.CompactFunc(sorted, func(a, b store.Observation) bool {
		return a.ObservedAt.Equal(b.ObservedAt) && a.EventID == b.EventID
	})
	var out []store.Observation
	for i, o := range sorted {
		if i == 0 || !o.SameValues(sorted[i-1]) {
			out = append(out, o)
		}
	}
	slices.Reverse(out)
	return out
}

func testHistory(t *testing.T, newStore NewStore) {
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	o := func(h, v int) store.Observation { return observation("tt1", fmt.Sprintf("e%02d", h), at(h), v) }
	tests := []struct {
		name   string
		record []store.Observation
		want   []store.Observation // newest first
	}{
		{"one observation", []store.Observation{o(1, 1)}, []store.Observation{o(1, 1)}},
		{"equal observations collapse", []store.Observation{o(1, 1), o(2, 1), o(3, 2), o(4, 2), o(5, 1)},
			[]store.Observation{o(5, 1), o(3, 2), o(1, 1)}},
		{"a change between equal ones splits them (t1:A, t3:A, then t2:B)", []store.Observation{o(1, 1), o(3, 1), o(2, 2)},
			[]store.Observation{o(3, 1), o(2, 2), o(1, 1)}},
		{"an insert makes its successor no change point", []store.Observation{o(1, 1), o(3, 2), o(2, 2)},
			[]store.Observation{o(2, 2), o(1, 1)}},
		{"an older first observation", []store.Observation{o(2, 1), o(1, 1)}, []store.Observation{o(1, 1)}},
		{"an older, other first observation", []store.Observation{o(2, 1), o(1, 2)}, []store.Observation{o(2, 1), o(1, 2)}},
		{"only the rating differs", []store.Observation{o(1, 1), func() store.Observation { x := o(2, 1); x.Rating += 0.1; return x }()},
			[]store.Observation{func() store.Observation { x := o(2, 1); x.Rating += 0.1; return x }(), o(1, 1)}},
		{"same time: ordered by event id", []store.Observation{
			observation("tt1", "b", at(1), 2), observation("tt1", "a", at(1), 1), observation("tt1", "c", at(1), 2)},
			[]store.Observation{observation("tt1", "b", at(1), 2), observation("tt1", "a", at(1), 1)}},
		{"a nanosecond apart", []store.Observation{observation("tt1", "z", at(1), 1), observation("tt1", "a", at(1).Add(time.Nanosecond), 2)},
			[]store.Observation{observation("tt1", "a", at(1).Add(time.Nanosecond), 2), observation("tt1", "z", at(1), 1)}},
	}
	s := newStore(t) // one store, one movie id per case
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			movieID := fmt.Sprintf("tt1-%d", i)
			for _, ob := range tt.record {
				ob.MovieID = movieID
				record(t, s, ob)
			}
			want := slices.Clone(tt.want)
			for j := range want {
				want[j].MovieID = movieID
			}
			if diff := gocmp.Diff(want, changePoints(rename(tt.record, movieID))); diff != "" {
				t.Fatalf("the case disagrees with the reference (-case +reference):\n%s", diff)
			}
			got, _ := listHistory(t, s, movieID, store.HistoryFilter{}, 10)
			if diff := gocmp.Diff(want, got, equate); diff != "" {
				t.Errorf("change points (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("re-recording is a no-op; other values are a conflict", func(t *testing.T) {
		ob := observation("tt2", "e1", at(1), 1)
		record(t, s, ob)
		record(t, s, ob)
		for _, change := range []func(*store.Observation){
			func(o *store.Observation) { o.Rank++ },
			func(o *store.Observation) { o.Rating += 0.5 },
			func(o *store.Observation) { o.Votes++ },
			func(o *store.Observation) { o.RunID = "other-run" },
		} {
			other := ob
			change(&other)
			if err := s.RecordObservation(ctxFor(t), other); !conflicting(err) {
				t.Errorf("RecordObservation(%+v) = %v, want ErrConflict", other, err)
			}
		}
		got, _ := listHistory(t, s, "tt2", store.HistoryFilter{}, 10)
		if diff := gocmp.Diff([]store.Observation{ob}, got, equate); diff != "" {
			t.Errorf("change points (-want +got):\n%s", diff)
		}
	})
	t.Run("movies are independent", func(t *testing.T) {
		// "tt3" is a prefix of "tt30": their histories must not mix.
		a, b := observation("tt3", "e1", at(1), 1), observation("tt30", "e2", at(2), 1)
		record(t, s, a)
		record(t, s, b)
		for movieID, want := range map[string][]store.Observation{"tt3": {a}, "tt30": {b}, "tt": nil} {
			got, _ := listHistory(t, s, movieID, store.HistoryFilter{}, 10)
			if diff := gocmp.Diff(want, got, equate); diff != "" {
				t.Errorf("%s (-want +got):\n%s", movieID, diff)
			}
		}
	})
	t.Run("invalid", func(t *testing.T) {
		valid := observation("tt4", "e1", at(1), 1)
		for name, change := range map[string]func(*store.Observation){
			"empty movie id":  func(o *store.Observation) { o.MovieID = "" },
			"empty event id":  func(o *store.Observation) { o.EventID = "" },
			"movie id long":   func(o *store.Observation) { o.MovieID = string(make([]byte, 600)) },
			"run id not UTF8": func(o *store.Observation) { o.RunID = "\xff" },
			"NaN rating":      func(o *store.Observation) { o.Rating = nan() },
			"year 10000":      func(o *store.Observation) { o.ObservedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) },
		} {
			o := valid
			change(&o)
			if err := s.RecordObservation(ctxFor(t), o); !badInput(err) || conflicting(err) {
				t.Errorf("%s: RecordObservation = %v, want a bad-input error", name, err)
			}
		}
		if got, _ := listHistory(t, s, "tt4", store.HistoryFilter{}, 10); len(got) != 0 {
			t.Errorf("invalid observations were recorded: %+v", got)
		}
	})
}

func nan() float64 { var z float64; return z / z }

func rename(os []store.Observation, movieID string) []store.Observation {
	out := slices.Clone(os)
	for i := range out {
		out[i].MovieID = movieID
	}
	return out
}

// testHistoryOrderIndependent records one set of observations in many
// orders, with duplicates, one at a time and in concurrent batches: the
// change points are always those of one clean pass in time order.
func testHistoryOrderIndependent(t *testing.T, newStore NewStore) {
	rng := rand.New(rand.NewPCG(1, 2))
	var set []store.Observation
	for i := range 16 {
		// Values repeat in runs (the chart drifts slowly) and some times
		// repeat, ordered by event id.
		at := t0.Add(time.Duration(i/2) * time.Minute)
		set = append(set, observation("", fmt.Sprintf("e%02d", 16-i), at, []int{1, 1, 2, 2, 2, 1, 3, 3}[rng.IntN(8)]))
	}
	s := newStore(t)
	clean := rename(set, "tt-clean")
	slices.SortFunc(clean, func(a, b store.Observation) int {
		return cmp.Or(a.ObservedAt.Compare(b.ObservedAt), cmp.Compare(a.EventID, b.EventID))
	})
	for _, o := range clean {
		record(t, s, o)
	}
	want, _ := listHistory(t, s, "tt-clean", store.HistoryFilter{}, 100)
	if diff := gocmp.Diff(changePoints(clean), want, equate); diff != "" {
		t.Fatalf("clean pass (-reference +store):\n%s", diff)
	}
	check := func(t *testing.T, movieID string) {
		t.Helper()
		got, _ := listHistory(t, s, movieID, store.HistoryFilter{}, 7)
		if diff := gocmp.Diff(rename(want, movieID), got, equate); diff != "" {
			t.Errorf("change points (-clean pass +this order):\n%s", diff)
		}
	}
	permutations := 2
	if short.On(t) {
		permutations = 1
	}
	for i := range permutations {
		t.Run(fmt.Sprintf("permutation %d, each twice", i), func(t *testing.T) {
			movieID := fmt.Sprintf("tt-perm-%d", i)
			obs := rename(set, movieID)
			obs = append(obs, obs...)
			rng.Shuffle(len(obs), func(a, b int) { obs[a], obs[b] = obs[b], obs[a] })
			for _, o := range obs {
				record(t, s, o)
			}
			check(t, movieID)
		})
	}
	t.Run("reverse order", func(t *testing.T) {
		obs := rename(set, "tt-reverse")
		slices.SortFunc(obs, func(a, b store.Observation) int {
			return cmp.Or(b.ObservedAt.Compare(a.ObservedAt), cmp.Compare(b.EventID, a.EventID))
		})
		for _, o := range obs {
			record(t, s, o)
		}
		check(t, "tt-reverse")
	})
	t.Run("concurrent batches with duplicates", func(t *testing.T) {
		obs := rename(set, "tt-batches")
		obs = append(obs, obs[:6]...)
		rng.Shuffle(len(obs), func(a, b int) { obs[a], obs[b] = obs[b], obs[a] })
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		for batch := range slices.Chunk(obs, 6) {
			wg.Go(func() {
				for _, o := range batch {
					if err := s.RecordObservation(ctxFor(t), o); err != nil {
						mu.Lock()
						errs = append(errs, err)
						mu.Unlock()
					}
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		check(t, "tt-batches")
	})
}

func testHistoryListing(t *testing.T, newStore NewStore) {
	s := newStore(t)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	var all []store.Observation // 9 change points, at hours 0..8, and repeats between them
	for h := range 9 {
		o := observation("tt1", fmt.Sprintf("e%d", h), at(h), h%3+h)
		all = append(all, o)
		record(t, s, o)
		rep := o
		rep.EventID, rep.ObservedAt = fmt.Sprintf("e%d-repeat", h), at(h).Add(30*time.Minute)
		record(t, s, rep)
	}
	slices.Reverse(all)
	between := func(since, until int) []store.Observation {
		var out []store.Observation
		for _, o := range all {
			if !o.ObservedAt.Before(at(since)) && !o.ObservedAt.After(at(until)) {
				out = append(out, o)
			}
		}
		return out
	}
	tests := []struct {
		name      string
		f         store.HistoryFilter
		limit     int
		want      []store.Observation
		wantPages int
	}{
		{"all, limit 1", store.HistoryFilter{}, 1, all, 9},
		{"all, limit 4", store.HistoryFilter{}, 4, all, 3},
		{"all, limit 9", store.HistoryFilter{}, 9, all, 1},
		{"all, limit above the maximum", store.HistoryFilter{}, 5000, all, 1},
		{"since and until are inclusive", store.HistoryFilter{Since: at(2), Until: at(5)}, 2, between(2, 5), 2},
		{"since only", store.HistoryFilter{Since: at(7)}, 10, between(7, 8), 1},
		{"until only", store.HistoryFilter{Until: at(1)}, 10, between(0, 1), 1},
		{"until between points", store.HistoryFilter{Until: at(1).Add(time.Minute)}, 10, between(0, 1), 1},
		{"since equals until", store.HistoryFilter{Since: at(3), Until: at(3)}, 10, between(3, 3), 1},
		{"nothing in range", store.HistoryFilter{Since: at(20)}, 10, nil, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pages := listHistory(t, s, "tt1", tt.f, tt.limit)
			if diff := gocmp.Diff(tt.want, got, equate); diff != "" {
				t.Errorf("change points (-want +got):\n%s", diff)
			}
			if pages != tt.wantPages {
				t.Errorf("%d pages, want %d", pages, tt.wantPages)
			}
		})
	}
	t.Run("unknown movie: an empty page", func(t *testing.T) {
		p, err := s.ListHistory(ctxFor(t), "tt-none", store.HistoryFilter{}, 10, nil)
		if err != nil || len(p.Items) != 0 || p.Next != nil {
			t.Errorf("ListHistory = %d items, next %q, %v", len(p.Items), p.Next, err)
		}
	})
	t.Run("tokens of another listing, movie or range", func(t *testing.T) {
		apply(t, s, movie("m1", "e1", t0))
		apply(t, s, movie("m2", "e1", t0))
		record(t, s, observation("tt2", "x1", at(1), 1))
		record(t, s, observation("tt2", "x2", at(2), 2))
		page := func(movieID string, f store.HistoryFilter) store.PageToken {
			p, err := s.ListHistory(ctxFor(t), movieID, f, 1, nil)
			if err != nil || p.Next == nil {
				t.Fatalf("ListHistory(%s): next %q, %v", movieID, p.Next, err)
			}
			return p.Next
		}
		tok1, tok2 := page("tt1", store.HistoryFilter{}), page("tt2", store.HistoryFilter{})
		mp, err := s.ListMovies(ctxFor(t), store.MovieFilter{}, 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		for name, in := range map[string]struct {
			movieID string
			f       store.HistoryFilter
			tok     store.PageToken
		}{
			"other movie":          {"tt1", store.HistoryFilter{}, tok2},
			"outside the range":    {"tt1", store.HistoryFilter{Since: at(8).Add(time.Minute)}, tok1},
			"garbage":              {"tt1", store.HistoryFilter{}, store.PageToken("garbage")},
			"truncated":            {"tt1", store.HistoryFilter{}, tok1[:len(tok1)-1]},
			"movies listing token": {"tt1", store.HistoryFilter{}, mp.Next},
		} {
			if _, err := s.ListHistory(ctxFor(t), in.movieID, in.f, 1, in.tok); !errors.Is(err, store.ErrBadToken) || !badInput(err) {
				t.Errorf("%s: ListHistory = %v, want ErrBadToken and ErrInvalid", name, err)
			}
		}
		if _, err := s.ListMovies(ctxFor(t), store.MovieFilter{}, 1, tok1); !errors.Is(err, store.ErrBadToken) {
			t.Errorf("ListMovies with a history token = %v, want ErrBadToken", err)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for name, in := range map[string]struct {
			movieID string
			f       store.HistoryFilter
			limit   int
		}{
			"empty movie id":      {"", store.HistoryFilter{}, 10},
			"limit 0":             {"tt1", store.HistoryFilter{}, 0},
			"negative limit":      {"tt1", store.HistoryFilter{}, -1},
			"since after until":   {"tt1", store.HistoryFilter{Since: at(2), Until: at(1)}, 10},
			"until in year 10000": {"tt1", store.HistoryFilter{Until: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, 10},
			"since before year 1": {"tt1", store.HistoryFilter{Since: time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC)}, 10},
		} {
			if _, err := s.ListHistory(ctxFor(t), in.movieID, in.f, in.limit, nil); !badInput(err) {
				t.Errorf("%s: ListHistory = %v, want a bad-input error", name, err)
			}
		}
	})
}
