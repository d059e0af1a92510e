package main

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
)

// tablesView is what the events decide in a data directory's tables:
// every movie, each movie's history, the runs' event-derived fields and
// the error items' records and verdicts. Processing leaves marks besides
// (a live run's start time, an error's times and attempts, the stream's
// ARN): those are left out.
type tablesView struct {
	Movies  map[string]store.Movie
	History map[string][]store.Observation
	Runs    map[string]runFromEvents
	Errors  map[string]errorFromRecord
}

// runFromEvents is a run less its start time, which the scraper stamps
// itself before it publishes scrape.started.
type runFromEvents struct {
	Source, Trigger                          string
	FinishedAt                               time.Time
	Completed, Unchanged                     bool
	Published, PublishFailed, Skipped, Pages int
	DurationMs                               int64
	Error                                    string
	Processed, Failed                        int
	Status                                   store.RunStatus
}

// errorFromRecord is an error item's record and verdict.
type errorFromRecord struct {
	Stage                                 store.Stage
	Reason, EventID, RunID, Condition     string
	ShardID, SequenceNumber, PartitionKey string
	Payload                               []byte
	PayloadSize                           int
	Resolved                              bool
}

// readTables reads the tables of a data directory no process has open.
func readTables(t *testing.T, dir string) tablesView {
	t.Helper()
	s, err := embedded.Open(filepath.Join(dir, "tables.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	v := tablesView{Movies: map[string]store.Movie{}, History: map[string][]store.Observation{},
		Runs: map[string]runFromEvents{}, Errors: map[string]errorFromRecord{}}
	for _, m := range storeList(t, func(tok store.PageToken) (store.Page[store.Movie], error) {
		return s.ListMovies(ctx, store.MovieFilter{}, 1000, tok)
	}) {
		v.Movies[m.ID] = m
		v.History[m.ID] = storeList(t, func(tok store.PageToken) (store.Page[store.Observation], error) {
			return s.ListHistory(ctx, m.ID, store.HistoryFilter{}, 1000, tok)
		})
	}
	for _, r := range storeList(t, func(tok store.PageToken) (store.Page[store.Run], error) {
		return s.ListRuns(ctx, store.RunFilter{}, 1000, tok)
	}) {
		v.Runs[r.ID] = runFromEvents{Source: r.Source, Trigger: r.Trigger, FinishedAt: r.FinishedAt, Completed: r.Completed,
			Unchanged: r.Unchanged, Published: r.Published, PublishFailed: r.PublishFailed, Skipped: r.Skipped, Pages: r.Pages,
			DurationMs: r.DurationMs, Error: r.Error, Processed: r.Processed, Failed: r.Failed, Status: r.Status()}
	}
	for _, listed := range storeList(t, func(tok store.PageToken) (store.Page[store.ErrorItem], error) {
		return s.ListErrors(ctx, 1000, tok)
	}) {
		e, err := s.GetError(ctx, listed.ID) // with its whole payload
		if err != nil {
			t.Fatal(err)
		}
		v.Errors[e.ID] = errorFromRecord{Stage: e.Stage, Reason: e.Reason, EventID: e.EventID, RunID: e.RunID, Condition: e.Condition,
			ShardID: e.ShardID, SequenceNumber: e.SequenceNumber, PartitionKey: e.PartitionKey, Payload: e.Payload,
			PayloadSize: e.PayloadSize, Resolved: !e.Resolved.IsZero()}
	}
	return v
}

// storeList reads every page of a store listing.
func storeList[T any](t *testing.T, list func(store.PageToken) (store.Page[T], error)) []T {
	t.Helper()
	var all []T
	var tok store.PageToken
	for {
		page, err := list(tok)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Items...)
		if tok = page.Next; tok == nil {
			return all
		}
	}
}

// getRun reads a run, listed or not, from a stopped devstack's tables.
func getRun(t *testing.T, dir, id string) store.Run {
	t.Helper()
	s, err := embedded.Open(filepath.Join(dir, "tables.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.GetRun(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
