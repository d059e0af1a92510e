package query

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// The fixture every handler test runs on, whatever the store: written
// through the store's own write operations, so the embedded store and the
// DynamoDB adapter hold the same data. Times are whole seconds so that every
// store round-trips them exactly.

var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	source     = "https://sample.example/chart"
	godfather  = "the-godfather-1972"
	runRunning = "run-20260301-120000-00000001"
	runDone    = "run-20260301-110000-00000002"
	runFailed  = "run-20260301-100000-00000003"
	runSame    = "run-20260301-090000-00000004"
	shard      = "shardId-000000000000"
)

// fixture is what seed wrote.
type fixture struct {
	movieIDs    []string          // all, sorted
	byYear      map[int][]string  // id order
	errorIDs    []string          // newest first failure first
	errorByID   map[string][]byte // payloads
	resolved    map[string]string // error id → resolved (RFC 3339)
	runIDs      []string          // newest start first
	runStatuses map[string]string // id → status
	history     []string          // godfather's change points (event ids), newest first
}

const (
	nYear1994  = 25
	nOthers    = 14
	nErrors    = 12
	nOlderRuns = 6 // completed and unchanged in turn, before the four named runs
	// resolvedError is the index of the error item whose redrive
	// succeeded.
	resolvedError = 10
)

// godfatherHistory are the observations of godfather, oldest first, one
// an hour up to base: the second and fifth repeat the values before them,
// so they are no change points.
var godfatherHistory = []store.Observation{
	{Rank: 3, Rating: 9.1, Votes: 1000},
	{Rank: 3, Rating: 9.1, Votes: 1000},
	{Rank: 2, Rating: 9.1, Votes: 1100},
	{Rank: 2, Rating: 9.2, Votes: 1100},
	{Rank: 2, Rating: 9.2, Votes: 1100},
	{Rank: 2, Rating: 9.2, Votes: 2000000},
}

// historyAt is the time of godfatherHistory[i].
func historyAt(i int) time.Time {
	return base.Add(time.Duration(i-len(godfatherHistory)+1) * time.Hour)
}

func godfatherMovie() store.Movie {
	return store.Movie{
		ID: godfather, Title: "The Godfather", Year: 1972, Rank: 2, Rating: 9.2, Votes: 2000000,
		Director: "Francis Ford Coppola", Genres: []string{"Crime", "Drama"}, RuntimeMinutes: 175,
		DetailURL: "https://sample.example/movies/the-godfather-1972", Source: source,
		FirstSeen: base, LastSeen: base, LastRunID: runDone, LastEventID: "evt-godfather", LastEventTime: base,
	}
}

// errorPayload is the payload of error item i: short JSON, binary, long
// text, and text whose 256th byte is inside a character, in turn.
func errorPayload(i int) []byte {
	switch i % 4 {
	case 0:
		return []byte(fmt.Sprintf(`{"specversion":"1.0","id":"evt-%d"`, i))
	case 1:
		return append([]byte{0xff, 0x00, 0xfe}, bytes.Repeat([]byte{byte(i)}, 400)...)
	case 2:
		return []byte(strings.Repeat("x", 1000))
	default:
		return []byte(strings.Repeat("a", PreviewBytes-1) + "éé")
	}
}

func errorItemAt(i int) store.ErrorItem {
	seq := fmt.Sprintf("4959%020d", i)
	t := base.Add(time.Duration(i) * time.Minute)
	return store.ErrorItem{
		ID: store.ErrorID(store.StageDecode, shard, seq, ""), Stage: store.StageDecode,
		Reason: fmt.Sprintf("malformed: record %d", i), RunID: runDone, Payload: errorPayload(i),
		PayloadSize: len(errorPayload(i)), ShardID: shard, SequenceNumber: seq, PartitionKey: fmt.Sprintf("movie-%d", i),
		Attempts: 1, FirstFailure: t, LastFailure: t.Add(time.Second), ExpiresAt: time.Now().Add(24 * time.Hour).Truncate(time.Second),
	}
}

// seed writes the fixture into st.
func seed(t testing.TB, st store.Store) fixture {
	t.Helper()
	ctx := context.Background()
	f := fixture{byYear: map[int][]string{}, errorByID: map[string][]byte{}, resolved: map[string]string{},
		runStatuses: map[string]string{}}
	apply := func(m store.Movie) {
		if _, err := st.ApplyMovie(ctx, m); err != nil {
			t.Fatalf("apply movie %s: %v", m.ID, err)
		}
		f.movieIDs = append(f.movieIDs, m.ID)
		f.byYear[m.Year] = append(f.byYear[m.Year], m.ID)
	}
	apply(godfatherMovie())
	for i := range nYear1994 {
		at := base.Add(time.Duration(i) * time.Second)
		apply(store.Movie{ID: fmt.Sprintf("film-%02d-1994", i), Title: fmt.Sprintf("Film %d", i), Year: 1994,
			Rating: 7, Source: source, FirstSeen: at, LastSeen: at, LastRunID: runDone, LastEventID: fmt.Sprintf("evt-94-%d", i), LastEventTime: at})
	}
	for i := range nOthers {
		y := 2000 + i
		at := base.Add(time.Duration(i) * time.Second)
		apply(store.Movie{ID: fmt.Sprintf("other-%02d-%d", i, y), Title: fmt.Sprintf("Other %d", i), Year: y,
			Rating: 6.5, Source: source, FirstSeen: at, LastSeen: at, LastRunID: runDone, LastEventID: fmt.Sprintf("evt-o-%d", i), LastEventTime: at})
	}
	slices.Sort(f.movieIDs)
	for _, ids := range f.byYear {
		slices.Sort(ids)
	}

	// Observations in an order other than their times': the change
	// points must not depend on it.
	for _, i := range []int{5, 0, 3, 1, 4, 2} {
		o := godfatherHistory[i]
		o.MovieID, o.ObservedAt, o.EventID, o.RunID = godfather, historyAt(i), fmt.Sprintf("evt-h-%d", i), fmt.Sprintf("run-h-%d", i)
		if err := st.RecordObservation(ctx, o); err != nil {
			t.Fatalf("record observation %d: %v", i, err)
		}
	}
	f.history = []string{"evt-h-5", "evt-h-3", "evt-h-2", "evt-h-0"}

	triggers := map[string]string{runRunning: store.TriggerSchedule, runDone: store.TriggerAPI, runFailed: store.TriggerAPI}
	start := func(id string, at time.Time) {
		if err := st.StartRun(ctx, store.Run{ID: id, Source: source, StartedAt: at, Trigger: triggers[id]}); err != nil {
			t.Fatalf("start run %s: %v", id, err)
		}
		f.runIDs = append(f.runIDs, id)
	}
	complete := func(r store.Run) {
		if err := st.CompleteRun(ctx, r); err != nil {
			t.Fatalf("complete run %s: %v", r.ID, err)
		}
	}
	count := func(run, event string, c store.Counter) {
		if _, err := st.CountEvent(ctx, run, event, c, ""); err != nil {
			t.Fatalf("count %s %s: %v", run, event, err)
		}
	}
	start(runRunning, base)
	f.runStatuses[runRunning] = "running"

	start(runDone, base.Add(-time.Hour))
	complete(store.Run{ID: runDone, Source: source, StartedAt: base.Add(-time.Hour), FinishedAt: base.Add(-time.Hour + 2*time.Second),
		Published: 3, PublishFailed: 1, Skipped: 2, Pages: 1, DurationMs: 2000})
	count(runDone, "evt-a", store.CounterProcessed)
	count(runDone, "evt-b", store.CounterProcessed)
	count(runDone, "evt-c", store.CounterFailed)
	f.runStatuses[runDone] = "completed"

	start(runFailed, base.Add(-2*time.Hour))
	complete(store.Run{ID: runFailed, Source: source, StartedAt: base.Add(-2 * time.Hour), FinishedAt: base.Add(-2*time.Hour + time.Second),
		Error: "fetch: 503 Service Unavailable", DurationMs: 1000})
	f.runStatuses[runFailed] = "failed"

	start(runSame, base.Add(-3*time.Hour))
	complete(store.Run{ID: runSame, Source: source, StartedAt: base.Add(-3 * time.Hour), FinishedAt: base.Add(-3*time.Hour + time.Second),
		Unchanged: true, Pages: 1, DurationMs: 1000})
	f.runStatuses[runSame] = "unchanged"

	for i := range nOlderRuns {
		at := base.Add(-4*time.Hour - time.Duration(i)*time.Minute)
		r := store.Run{ID: fmt.Sprintf("run-%s-%08d", at.Format("20060102-150405"), 10+i), Source: source, StartedAt: at,
			Trigger: store.TriggerSchedule, FinishedAt: at.Add(time.Second), Pages: 1, DurationMs: 1000, Unchanged: i%2 == 1}
		start(r.ID, at)
		complete(r)
		f.runStatuses[r.ID] = map[bool]string{false: "completed", true: "unchanged"}[r.Unchanged]
	}

	for i := range nErrors {
		e := errorItemAt(i)
		if err := st.PutError(ctx, e); err != nil {
			t.Fatalf("put error %d: %v", i, err)
		}
		f.errorIDs = append([]string{e.ID}, f.errorIDs...) // newest first
		f.errorByID[e.ID] = e.Payload
	}
	e := errorItemAt(resolvedError)
	at := e.LastFailure.Add(time.Hour)
	if _, err := st.ResolveError(ctx, e.ID, at); err != nil {
		t.Fatalf("resolve error %d: %v", resolvedError, err)
	}
	f.resolved[e.ID] = at.Format(time.RFC3339)
	return f
}
