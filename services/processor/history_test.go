package processor_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
)

// observed is a movie.observed event of movie "alien-1979" in run n at
// minute n, with the given rank, rating and votes.
func observed(n, rank int, rating float64, votes int64) events.Event {
	run := events.NewRunID(t0.Add(time.Duration(n) * time.Hour))
	d := movieData("Alien", 1979, rank)
	d.Rating = events.Rating{Value: rating, Votes: votes}
	return events.NewMovieObserved(run, testSource, t0.Add(time.Duration(n)*time.Minute), "alien-1979", d)
}

// TestHistory: every observation goes into its movie's history, and the
// history lists the points where rank, rating or votes changed, newest
// first — the same points whatever the order and batching of delivery,
// redeliveries included.
func TestHistory(t *testing.T) {
	obs := []events.Event{
		observed(0, 3, 8.4, 1000),
		observed(1, 3, 8.4, 1000), // equal to the one before: no point
		observed(2, 2, 8.4, 1000), // rank changed
		observed(3, 2, 8.5, 1000), // rating changed
		observed(4, 2, 8.5, 1000), // no point
		observed(5, 2, 8.5, 1100), // votes changed
		observed(6, 3, 8.4, 1000), // back to the first values: a point
	}
	want := []int{6, 5, 3, 2, 0} // the change points, newest first
	recs := make([]processor.Record, len(obs))
	for i, e := range obs {
		recs[i] = record(testShard, i, e.Subject, mustEncode(t, e))
	}
	points := func(t *testing.T, mem *embedded.Store) []int {
		t.Helper()
		page, err := mem.ListHistory(context.Background(), "alien-1979", store.HistoryFilter{}, 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, p := range page.Items {
			for i, e := range obs {
				if e.ID == p.EventID {
					if p.RunID != e.RunID || !p.ObservedAt.Equal(e.Time) {
						t.Errorf("point %d: run %s at %s, want %s at %s", i, p.RunID, p.ObservedAt, e.RunID, e.Time)
					}
					got = append(got, i)
				}
			}
		}
		return got
	}
	rng := rand.New(rand.NewPCG(10, 12))
	for trial := range 20 {
		mem := embedded.NewMemory(embedded.WithClock(func() time.Time { return now }))
		h := processor.New(mem, processor.Options{Logger: quiet, Now: func() time.Time { return now }})
		// Each trial delivers a shuffled stream with some records twice, in
		// batches of random size. The history's order-independence is
		// what lets a replay shuffle.
		order := rng.Perm(len(recs))
		if trial == 0 {
			order = []int{0, 1, 2, 3, 4, 5, 6}
		}
		var deliver []processor.Record
		for _, i := range order {
			deliver = append(deliver, recs[i])
			if rng.IntN(3) == 0 {
				deliver = append(deliver, recs[i])
			}
		}
		for len(deliver) > 0 {
			n := 1 + rng.IntN(len(deliver))
			if res := h.Handle(context.Background(), deliver[:n]); len(res.Retry) != 0 {
				t.Fatalf("trial %d: retry %v", trial, res.Retry)
			}
			deliver = deliver[n:]
		}
		if diff := cmp.Diff(want, points(t, mem)); diff != "" {
			t.Fatalf("trial %d (order %v): change points (-want +got):\n%s", trial, order, diff)
		}
	}
}

// TestRunTrigger: scrape.started's trigger reaches the run; a version 1
// scrape.started (before triggers) was an API call.
func TestRunTrigger(t *testing.T) {
	const run = "run-20261127-042000-aaaaaaaa"
	for _, tc := range []struct {
		name string
		data events.Data
		want string
	}{
		{"schedule", events.ScrapeStartedV2{Profile: "movies", Trigger: events.TriggerSchedule}, events.TriggerSchedule},
		{"api", events.ScrapeStartedV2{Profile: "movies", Trigger: events.TriggerAPI}, events.TriggerAPI},
		{"version 1", events.ScrapeStartedV1{Profile: "movies"}, events.TriggerAPI},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := embedded.NewMemory(embedded.WithClock(func() time.Time { return now }))
			h := processor.New(mem, processor.Options{Logger: quiet, Now: func() time.Time { return now }})
			e := events.NewRunEvent(run, testSource, t0, tc.data)
			if res := h.Handle(context.Background(), []processor.Record{record(testShard, 0, run, mustEncode(t, e))}); len(res.Retry) != 0 {
				t.Fatalf("retry %v", res.Retry)
			}
			r, err := mem.GetRun(context.Background(), run)
			if err != nil {
				t.Fatal(err)
			}
			if r.Trigger != tc.want {
				t.Errorf("trigger %q, want %q", r.Trigger, tc.want)
			}
		})
	}
}

// TestProject: Project applies one record and tells what became of it,
// storing nothing in errors.
func TestProject(t *testing.T) {
	const run = "run-20261127-042000-aaaaaaaa"
	alien := movieEvent(run, t0, "alien-1979", 1)
	good := record(testShard, 0, alien.Subject, mustEncode(t, alien))
	other := record(testShard, 1, alien.Subject, patch(t, good.Data, func(m map[string]any) { m["data"].(map[string]any)["rank"] = 99 }))
	malformed := record(testShard, 2, "x", []byte(`{"half`))
	future := record(testShard, 3, "alien-1979", mustEncode(t, movieEvent(run, now.Add(time.Hour), "alien-1979", 1)))

	mem := embedded.NewMemory(embedded.WithClock(func() time.Time { return now }))
	throttled := false
	fs := &faultStore{inner: mem, hook: func(o op, key string) fault {
		if throttled && o == opApply {
			return fault{err: errTransient}
		}
		return fault{}
	}}
	h := processor.New(fs, processor.Options{Logger: quiet, Now: func() time.Time { return now }})
	ctx := context.Background()

	stage := func(err error) store.Stage {
		var pe *processor.PermanentError
		if !errors.As(err, &pe) {
			return ""
		}
		if !errors.Is(err, processor.ErrPermanent) {
			t.Errorf("%v does not match ErrPermanent", err)
		}
		return pe.Stage
	}
	if err := h.Project(ctx, good); err != nil {
		t.Fatalf("a good record: %v", err)
	}
	if err := h.Project(ctx, good); err != nil {
		t.Fatalf("the same record again (a duplicate): %v", err)
	}
	for _, tc := range []struct {
		name string
		rec  processor.Record
		want store.Stage
	}{
		{"conflict", other, store.StageConflict},
		{"malformed", malformed, store.StageDecode},
		{"from the future", future, store.StageValidate},
	} {
		if got := stage(h.Project(ctx, tc.rec)); got != tc.want {
			t.Errorf("%s: stage %q, want %q", tc.name, got, tc.want)
		}
	}
	throttled = true
	if err := h.Project(ctx, good); err == nil || errors.Is(err, processor.ErrPermanent) || !errors.Is(err, store.ErrTransient) {
		t.Errorf("a throttled store: %v, want a transient error", err)
	}
	if items := allErrors(t, mem); len(items) != 0 {
		t.Errorf("%d error items stored, want none: Project leaves errors to its caller", len(items))
	}
	r, err := mem.GetRun(ctx, run)
	if err != nil {
		t.Fatal(err)
	}
	if r.Processed != 1 || r.Failed != 0 {
		t.Errorf("run processed %d, failed %d; want 1 and 0", r.Processed, r.Failed)
	}
}
