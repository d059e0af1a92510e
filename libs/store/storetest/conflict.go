package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// withDigest returns m produced by an event whose content has digest d.
func withDigest(m store.Movie, d string) store.Movie { m.LastEventDigest = d; return m }

// conflicting reports whether err is how a store refuses conflicting
// content: ErrConflict, and so ErrInvalid, never transient.
func conflicting(err error) bool {
	return errors.Is(err, store.ErrConflict) && badInput(err)
}

func testApplyMovieConflict(t *testing.T, newStore NewStore) {
	e1 := withDigest(movie("tt1", "e1", t0), "d1")
	e1Again := e1
	e1Forged := withDigest(e1, "d-other")
	e1Forged.Title = "Forged"
	e1Later := e1Forged // same id, other content, a later time: newer by order
	e1Later.LastEventTime, e1Later.LastSeen = t0.Add(time.Hour), t0.Add(time.Hour)
	e1NoDigest := withDigest(e1Forged, "")
	e2 := withDigest(movie("tt1", "e2", t0.Add(2*time.Hour)), "d2")
	e2.LastRunID = e1.LastRunID
	first := func(m store.Movie, fs time.Time) store.Movie { m.FirstSeen = fs; return m }

	type step struct {
		apply *store.Movie
		// count counts the event (run, event, digest) as the processor does
		// after ApplyMovie; fail fails it (a marker without digest).
		count, fail *store.Movie
		want        store.Outcome
	}
	tests := []struct {
		name  string
		steps []step
		final *store.Movie // nil: no movie
	}{
		{"same id, same digest: duplicate", []step{
			{apply: &e1, want: store.Applied}, {count: &e1}, {apply: &e1Again, want: store.Duplicate},
		}, &e1},
		{"same id, other digest, the latest event: conflict", []step{
			{apply: &e1, want: store.Applied}, {apply: &e1Forged, want: store.Conflict},
		}, &e1},
		{"same id, other digest, later time: conflict, not applied", []step{
			{apply: &e1, want: store.Applied}, {apply: &e1Later, want: store.Conflict},
		}, &e1},
		{"an unknown digest never conflicts", []step{
			{apply: &e1, want: store.Applied}, {count: &e1}, {apply: &e1NoDigest, want: store.Duplicate},
		}, &e1},
		{"no longer the latest event: the marker tells", []step{
			{apply: &e1, want: store.Applied}, {count: &e1}, {apply: &e2, want: store.Applied},
			{apply: &e1Forged, want: store.Conflict}, {apply: &e1Later, want: store.Conflict},
			{apply: &e1Again, want: store.Stale},
		}, ptr(first(e2, e1.FirstSeen))},
		{"counted but never applied: the marker blocks other content", []step{
			{count: &e1}, {apply: &e1Later, want: store.Conflict}, {apply: &e1, want: store.Applied},
		}, &e1},
		{"a failed event's marker has no digest: applied after a fix", []step{
			{fail: &e1}, {apply: &e1Forged, want: store.Applied},
		}, &e1Forged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			for i, st := range tt.steps {
				switch {
				case st.apply != nil:
					if got := apply(t, s, *st.apply); got != st.want {
						t.Errorf("step %d: ApplyMovie(%s, digest %q) = %v, want %v", i, st.apply.LastEventID,
							st.apply.LastEventDigest, got, st.want)
					}
				case st.count != nil:
					if _, err := s.CountEvent(ctxFor(t), st.count.LastRunID, st.count.LastEventID, store.CounterProcessed,
						st.count.LastEventDigest); err != nil {
						t.Fatalf("step %d: CountEvent: %v", i, err)
					}
				case st.fail != nil:
					failEvent(t, s, st.fail.LastRunID, st.fail.LastEventID, errorItem("f", t0))
				}
			}
			got, err := s.GetMovie(ctxFor(t), "tt1")
			if tt.final == nil {
				if !errors.Is(err, store.ErrNotFound) {
					t.Errorf("GetMovie = %v, want ErrNotFound", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(*tt.final, got, equate); diff != "" {
				t.Errorf("stored movie (-want +got):\n%s", diff)
			}
		})
	}
}

func testCountEventConflict(t *testing.T, newStore NewStore) {
	type step struct {
		c            store.Counter
		digest       string
		want         bool
		wantConflict bool
	}
	tests := []struct {
		name  string
		steps []step
		want  [2]int
	}{
		{"same digest counts once", []step{
			{store.CounterProcessed, "d1", true, false}, {store.CounterProcessed, "d1", false, false},
		}, [2]int{1, 0}},
		{"other digest is a conflict, in any counter", []step{
			{store.CounterProcessed, "d1", true, false}, {store.CounterProcessed, "d2", false, true},
			{store.CounterFailed, "d2", false, true}, {store.CounterProcessed, "d1", false, false},
		}, [2]int{1, 0}},
		{"unknown digest on either side never conflicts", []step{
			{store.CounterProcessed, "", true, false}, {store.CounterProcessed, "d2", false, false},
			{store.CounterFailed, "", false, false},
		}, [2]int{1, 0}},
		{"unknown digest after a known one", []step{
			{store.CounterFailed, "d1", true, false}, {store.CounterProcessed, "", false, false},
		}, [2]int{0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			for i, st := range tt.steps {
				ok, err := s.CountEvent(ctxFor(t), "run-1", "ev-1", st.c, st.digest)
				switch {
				case st.wantConflict && !conflicting(err):
					t.Errorf("step %d: CountEvent(%s, %q) = %v, %v; want ErrConflict", i, st.c, st.digest, ok, err)
				case !st.wantConflict && err != nil:
					t.Fatalf("step %d: CountEvent(%s, %q): %v", i, st.c, st.digest, err)
				case ok != st.want:
					t.Errorf("step %d: CountEvent(%s, %q) = %v, want %v", i, st.c, st.digest, ok, st.want)
				}
			}
			checkCounts(t, s, "run-1", tt.want)
		})
	}
	t.Run("invalid digest", func(t *testing.T) {
		s := newStore(t)
		for _, d := range []string{"\xff", string(make([]byte, 600))} {
			if ok, err := s.CountEvent(ctxFor(t), "run-1", "ev-1", store.CounterProcessed, d); !badInput(err) || conflicting(err) {
				t.Errorf("CountEvent with digest %.20q = %v, %v; want a bad-input error", d, ok, err)
			}
		}
		m := withDigest(movie("tt1", "e1", t0), "\xff")
		if out, err := s.ApplyMovie(ctxFor(t), m); !badInput(err) {
			t.Errorf("ApplyMovie with a digest that is not UTF-8 = %v, %v; want a bad-input error", out, err)
		}
	})
}
