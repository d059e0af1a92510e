package processor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
)

// now is the fixed clock of the table tests.
var now = time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)

// patch rewrites an encoded event: data is decoded into a map, fn
// changes it, and it is encoded again (so tests can break any rule).
func patch(t testing.TB, data []byte, fn func(map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// errWant is what a test checks of an error item.
type errWant struct {
	Stage                                    store.Stage
	SequenceNumber, EventID, RunID, Reason   string
	ShardID, PartitionKey, StreamARN         string
	Attempts, PayloadSize                    int
	PayloadMatches, ExpiresIn14Days, Stamped bool
}

// runWant is what a test checks of a run.
type runWant struct {
	Processed, Failed int
	Status            store.RunStatus
}

func TestHandle(t *testing.T) {
	runA, runB := "run-20261127-042000-aaaaaaaa", "run-20261127-052000-bbbbbbbb"
	alienA := movieEvent(runA, t0, "alien-1979", 1)
	alienB := movieEvent(runB, t0.Add(30*time.Minute), "alien-1979", 2)
	heatA := movieEvent(runA, t0.Add(time.Second), "heat-1995", 3)
	ranA := movieEvent(runA, t0.Add(2*time.Second), "ran-1985", 4)
	startedA := events.NewRunEvent(runA, testSource, t0.Add(-time.Second), events.ScrapeStarted{Profile: "chart", Trigger: events.TriggerAPI})
	completedA := events.NewRunEvent(runA, testSource, t0.Add(3*time.Second), events.ScrapeCompleted{Published: 3, Pages: 1, DurationMs: 4000})
	// Events from a producer whose clock is wrong: year 9999, and just
	// beyond the default skew; and one within it. (Event ids derive from
	// the run and the movie: the wrong clock's events are of run B.)
	alienFuture := movieEvent(runB, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), "alien-1979", 5)
	heatBeyond := movieEvent(runB, now.Add(processor.DefaultMaxClockSkew+time.Second), "heat-1995", 6)
	heatWithin := movieEvent(runA, now.Add(processor.DefaultMaxClockSkew-time.Second), "heat-1995", 7)
	completedFuture := events.NewRunEvent(runA, testSource, now.Add(time.Hour), events.ScrapeCompleted{Published: 3, Pages: 1, DurationMs: 4000})

	enc := func(e events.Event) []byte { return mustEncode(t, e) }
	// alienA's id with other content: another rank, and a later time
	// (later than alienB's too).
	alienAOther := patch(t, enc(alienA), func(m map[string]any) { m["data"].(map[string]any)["rank"] = 99 })
	alienALater := patch(t, enc(alienA), func(m map[string]any) { m["time"] = t0.Add(35 * time.Minute).Format(time.RFC3339Nano) })
	unknownVersion := patch(t, enc(heatA), func(m map[string]any) { m["schemaversion"] = 99 })
	invalid := patch(t, enc(heatA), func(m map[string]any) { m["data"].(map[string]any)["rating"] = map[string]any{"value": 42} })
	unknownType := patch(t, enc(heatA), func(m map[string]any) { m["type"] = "movie.deleted" })
	malformed := []byte(`{"specversion":"1.0","id":"half`)
	huge := bytes.Repeat([]byte("x"), store.MaxPayload+10)

	type rec struct {
		key  string
		data []byte
	}
	mv := func(e events.Event) rec { return rec{e.Subject, enc(e)} }
	failOnce := func(o op, key string, f fault) func(op, string) fault {
		return func(o2 op, key2 string) fault {
			if o2 == o && key2 == key {
				return f
			}
			return fault{}
		}
	}

	tests := []struct {
		name string
		recs []rec
		// hook injects faults into the first delivery only; the
		// redeliveries that follow (from the checkpoint, as Lambda does)
		// run without faults.
		hook        func(op, string) fault
		wantFailed  []int // indexes into recs reported by the first delivery
		wantMovies  map[string]string
		wantErrors  []errWant
		wantRuns    map[string]runWant
		wantMetrics processor.Metrics // of the first delivery, durations left out
	}{
		{
			name:        "clean batch is projected and counted",
			recs:        []rec{mv(alienA), mv(heatA), mv(ranA)},
			wantMovies:  map[string]string{"alien-1979": alienA.ID, "heat-1995": heatA.ID, "ran-1985": ranA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 3, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 3, Applied: 3},
		},
		{
			name:        "the same event twice is a duplicate counted once",
			recs:        []rec{mv(alienA), mv(alienA)},
			wantMovies:  map[string]string{"alien-1979": alienA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 1, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 2, Applied: 1, Duplicates: 1},
		},
		{
			// Issue 10: event ids are deterministic (run, source, movie),
			// so another content under an applied id is a conflict, not
			// a newer observation.
			name: "the same id with other content is a conflict, stored and not applied",
			recs: []rec{mv(alienA), {"alien-1979", alienAOther}, mv(alienA)},
			wantErrors: []errWant{{Stage: store.StageConflict, SequenceNumber: seqNumber(1), PartitionKey: "alien-1979",
				EventID: alienA.ID, RunID: runA, PayloadSize: len(alienAOther),
				Reason: "event " + alienA.ID + " of movie alien-1979 was applied before with other content"}},
			wantMovies:  map[string]string{"alien-1979": alienA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 1, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 3, Applied: 1, Duplicates: 1, PermanentFailures: 1},
		},
		{
			// The conflicting copy is newer by its own claim, and the id
			// is no longer the movie's latest: the progress marker still
			// knows its content.
			name: "a conflict under an id that is no longer the movie's latest is not applied either",
			recs: []rec{mv(alienA), mv(alienB), {"alien-1979", alienALater}},
			wantErrors: []errWant{{Stage: store.StageConflict, SequenceNumber: seqNumber(2), PartitionKey: "alien-1979",
				EventID: alienA.ID, RunID: runA, PayloadSize: len(alienALater),
				Reason: "event " + alienA.ID + " of movie alien-1979 was applied before with other content"}},
			wantMovies:  map[string]string{"alien-1979": alienB.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 1, Status: store.RunRunning}, runB: {Processed: 1, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 3, Applied: 2, PermanentFailures: 1},
		},
		{
			name:        "an older event after a newer one is stale",
			recs:        []rec{mv(alienB), mv(alienA)},
			wantMovies:  map[string]string{"alien-1979": alienB.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 1, Status: store.RunRunning}, runB: {Processed: 1, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 2, Applied: 1, Stale: 1},
		},
		{
			name:        "run events open and complete the run",
			recs:        []rec{{runA, enc(startedA)}, mv(alienA), mv(heatA), mv(ranA), {runA, enc(completedA)}},
			wantMovies:  map[string]string{"alien-1979": alienA.ID, "heat-1995": heatA.ID, "ran-1985": ranA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 3, Status: store.RunCompleted}},
			wantMetrics: processor.Metrics{Records: 5, Applied: 3, RunEvents: 2},
		},
		{
			// Issue 10: applied, the year-9999 event would make every later
			// observation of its movie stale.
			name: "an event from the future goes to errors and does not pin its movie",
			recs: []rec{mv(alienFuture), mv(alienA)},
			wantErrors: []errWant{{Stage: store.StageValidate, SequenceNumber: seqNumber(0), PartitionKey: "alien-1979",
				EventID: alienFuture.ID, RunID: runB, PayloadSize: len(enc(alienFuture)),
				Reason: "event time 9999-12-31T23:59:59Z is more than 5m0s ahead of the processor's clock (2026-11-27T05:00:00Z)"}},
			wantMovies:  map[string]string{"alien-1979": alienA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 1, Status: store.RunRunning}, runB: {Failed: 1, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 2, Applied: 1, PermanentFailures: 1},
		},
		{
			name: "an event just beyond the skew is from the future, one within it applies",
			recs: []rec{mv(heatBeyond), mv(heatWithin)},
			wantErrors: []errWant{{Stage: store.StageValidate, SequenceNumber: seqNumber(0), PartitionKey: "heat-1995",
				EventID: heatBeyond.ID, RunID: runB, PayloadSize: len(enc(heatBeyond)),
				Reason: "event time 2026-11-27T05:05:01Z is more than 5m0s ahead"}},
			wantMovies:  map[string]string{"heat-1995": heatWithin.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 1, Status: store.RunRunning}, runB: {Failed: 1, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 2, Applied: 1, PermanentFailures: 1},
		},
		{
			name: "a run event from the future goes to errors, not counted: it is no movie event",
			recs: []rec{{runA, enc(startedA)}, {runA, enc(completedFuture)}},
			wantErrors: []errWant{{Stage: store.StageValidate, SequenceNumber: seqNumber(1), PartitionKey: runA,
				EventID: completedFuture.ID, RunID: runA, PayloadSize: len(enc(completedFuture)),
				Reason: "event time 2026-11-27T06:00:00Z is more than 5m0s ahead"}},
			wantRuns:    map[string]runWant{runA: {Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 2, RunEvents: 1, PermanentFailures: 1},
		},
		{
			name: "malformed record goes to errors and the batch moves on",
			recs: []rec{{"alien-1979", malformed}, mv(heatA)},
			wantErrors: []errWant{{Stage: store.StageDecode, SequenceNumber: seqNumber(0), PartitionKey: "alien-1979",
				Reason: "malformed event", PayloadSize: len(malformed)}},
			wantMovies:  map[string]string{"heat-1995": heatA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 1, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 2, Applied: 1, PermanentFailures: 1},
		},
		{
			name: "unknown version goes to errors and counts as failed for its run",
			recs: []rec{{"heat-1995", unknownVersion}},
			wantErrors: []errWant{{Stage: store.StageDecode, SequenceNumber: seqNumber(0), PartitionKey: "heat-1995",
				EventID: heatA.ID, RunID: runA, Reason: "unknown schema version", PayloadSize: len(unknownVersion)}},
			wantRuns:    map[string]runWant{runA: {Failed: 1, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 1, PermanentFailures: 1},
		},
		{
			name: "invalid event is a validation failure",
			recs: []rec{{"heat-1995", invalid}, mv(alienA)},
			wantErrors: []errWant{{Stage: store.StageValidate, SequenceNumber: seqNumber(0), PartitionKey: "heat-1995",
				EventID: heatA.ID, RunID: runA, Reason: "invalid event data", PayloadSize: len(invalid)}},
			wantMovies:  map[string]string{"alien-1979": alienA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 1, Failed: 1, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 2, Applied: 1, PermanentFailures: 1},
		},
		{
			name: "unknown type is stored but not counted: it is no movie event",
			recs: []rec{{"heat-1995", unknownType}},
			wantErrors: []errWant{{Stage: store.StageDecode, SequenceNumber: seqNumber(0), PartitionKey: "heat-1995",
				EventID: heatA.ID, RunID: runA, Reason: "unknown event type", PayloadSize: len(unknownType)}},
			wantMetrics: processor.Metrics{Records: 1, PermanentFailures: 1},
		},
		{
			name: "payload is cut to MaxPayload, its size kept",
			recs: []rec{{"heat-1995", huge}},
			wantErrors: []errWant{{Stage: store.StageValidate, SequenceNumber: seqNumber(0), PartitionKey: "heat-1995",
				Reason: "invalid event", PayloadSize: len(huge)}},
			wantMetrics: processor.Metrics{Records: 1, PermanentFailures: 1},
		},
		{
			name:        "transient failure halts its key only and is retried",
			recs:        []rec{mv(alienA), mv(heatA), mv(alienB), mv(ranA)},
			hook:        failOnce(opApply, alienA.ID, fault{err: errTransient}),
			wantFailed:  []int{0, 2},
			wantMovies:  map[string]string{"alien-1979": alienB.ID, "heat-1995": heatA.ID, "ran-1985": ranA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 3, Status: store.RunRunning}, runB: {Processed: 1, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 4, Applied: 2, TransientFailures: 1, ReportedFailures: 2},
		},
		{
			name:        "failure after the write is retried without double counting",
			recs:        []rec{mv(alienA), mv(heatA)},
			hook:        failOnce(opApply, alienA.ID, fault{err: errTransient, after: true}),
			wantFailed:  []int{0},
			wantMovies:  map[string]string{"alien-1979": alienA.ID, "heat-1995": heatA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 2, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 2, Applied: 1, TransientFailures: 1, ReportedFailures: 1},
		},
		{
			name:        "counter failure after the apply is retried",
			recs:        []rec{mv(alienA), mv(heatA)},
			hook:        failOnce(opCount, alienA.ID+"/processed", fault{err: errTransient}),
			wantFailed:  []int{0},
			wantMovies:  map[string]string{"alien-1979": alienA.ID, "heat-1995": heatA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 2, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 2, Applied: 1, TransientFailures: 1, ReportedFailures: 1},
		},
		{
			name:        "a deadline from the store is transient",
			recs:        []rec{mv(alienA)},
			hook:        failOnce(opApply, alienA.ID, fault{err: fmt.Errorf("apply: %w", context.DeadlineExceeded)}),
			wantFailed:  []int{0},
			wantMovies:  map[string]string{"alien-1979": alienA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 1, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 1, TransientFailures: 1, ReportedFailures: 1},
		},
		{
			name:       "a bad record whose error item cannot be stored is reported",
			recs:       []rec{{"alien-1979", malformed}, mv(heatA)},
			hook:       failOnce(opPutError, seqNumber(0), fault{err: errTransient}),
			wantFailed: []int{0},
			wantErrors: []errWant{{Stage: store.StageDecode, SequenceNumber: seqNumber(0), PartitionKey: "alien-1979",
				Reason: "malformed event", PayloadSize: len(malformed)}},
			wantMovies:  map[string]string{"heat-1995": heatA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 1, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 2, Applied: 1, TransientFailures: 1, ReportedFailures: 1},
		},
		{
			name:       "a bad record whose failed count cannot be stored is reported",
			recs:       []rec{{"heat-1995", invalid}},
			hook:       failOnce(opCount, heatA.ID+"/failed", fault{err: errTransient, after: true}),
			wantFailed: []int{0},
			wantErrors: []errWant{{Stage: store.StageValidate, SequenceNumber: seqNumber(0), PartitionKey: "heat-1995",
				EventID: heatA.ID, RunID: runA, Reason: "invalid event data", PayloadSize: len(invalid)}},
			wantRuns:    map[string]runWant{runA: {Failed: 1, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 1, TransientFailures: 1, ReportedFailures: 1},
		},
		{
			name: "a store refusing an event for good is a projection failure",
			recs: []rec{mv(alienA), mv(heatA)},
			hook: failOnce(opApply, alienA.ID, fault{err: fmt.Errorf("ValidationException: item too large: %w", store.ErrInvalid)}),
			wantErrors: []errWant{{Stage: store.StageProject, SequenceNumber: seqNumber(0), PartitionKey: "alien-1979",
				EventID: alienA.ID, RunID: runA, Reason: "apply movie alien-1979: ValidationException", PayloadSize: len(enc(alienA))}},
			wantMovies:  map[string]string{"heat-1995": heatA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 1, Failed: 1, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 2, Applied: 1, PermanentFailures: 1},
		},
		{
			// Not ErrInvalid, not ErrTransient: a missing IAM statement is
			// no verdict on the record. It is retried, never stored.
			name:        "a store error nobody classified is retried, not stored as failed",
			recs:        []rec{mv(alienA), mv(heatA)},
			hook:        failOnce(opApply, alienA.ID, fault{err: errors.New("AccessDeniedException: not authorized to perform dynamodb:UpdateItem")}),
			wantFailed:  []int{0},
			wantMovies:  map[string]string{"alien-1979": alienA.ID, "heat-1995": heatA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 2, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 2, Applied: 1, TransientFailures: 1, ReportedFailures: 1},
		},
		{
			name:        "the SDK's AccessDeniedException is retried, not stored as failed",
			recs:        []rec{mv(alienA), mv(heatA)},
			hook:        failOnce(opApply, alienA.ID, fault{err: fmt.Errorf("apply movie %q: %w", "alien-1979", accessDenied)}),
			wantFailed:  []int{0},
			wantMovies:  map[string]string{"alien-1979": alienA.ID, "heat-1995": heatA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 2, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 2, Applied: 1, TransientFailures: 1, ReportedFailures: 1},
		},
		{
			name:        "a missing table on the counter is retried, not stored as failed",
			recs:        []rec{mv(alienA), mv(heatA)},
			hook:        failOnce(opCount, alienA.ID+"/processed", fault{err: tableNotFound}),
			wantFailed:  []int{0},
			wantMovies:  map[string]string{"alien-1979": alienA.ID, "heat-1995": heatA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 2, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 2, Applied: 1, TransientFailures: 1, ReportedFailures: 1},
		},
		{
			name:        "failed run event is retried, movie events go on",
			recs:        []rec{{runA, enc(startedA)}, mv(alienA), {runA, enc(completedA)}},
			hook:        failOnce(opStart, runA, fault{err: errTransient}),
			wantFailed:  []int{0, 2},
			wantMovies:  map[string]string{"alien-1979": alienA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 1, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 3, Applied: 1, TransientFailures: 1, ReportedFailures: 2},
		},
		{
			name: "a panicking store fails the record, not the batch",
			recs: []rec{mv(alienA), mv(heatA)},
			hook: func(o op, key string) fault {
				if o == opApply && key == alienA.ID {
					panic("boom")
				}
				return fault{}
			},
			wantFailed:  []int{0},
			wantMovies:  map[string]string{"alien-1979": alienA.ID, "heat-1995": heatA.ID},
			wantRuns:    map[string]runWant{runA: {Processed: 2, Status: store.RunRunning}},
			wantMetrics: processor.Metrics{Records: 2, Applied: 1, TransientFailures: 1, ReportedFailures: 1},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := embedded.NewMemory(embedded.WithClock(func() time.Time { return now }))
			hooked := true
			fs := &faultStore{inner: mem, hook: func(o op, key string) fault {
				if hooked && tc.hook != nil {
					return tc.hook(o, key)
				}
				return fault{}
			}}
			var metrics bytes.Buffer
			h := processor.New(fs, processor.Options{
				Concurrency: 4,
				Logger:      slog.New(slog.DiscardHandler),
				Metrics:     &metrics,
				Now:         func() time.Time { return now },
			})
			var recs []processor.Record
			for i, r := range tc.recs {
				recs = append(recs, record(testShard, i, r.key, r.data))
			}

			res := h.Handle(context.Background(), recs)
			if diff := cmp.Diff(tc.wantFailed, res.Retry); diff != "" {
				t.Errorf("records to retry (-want +got):\n%s", diff)
			}
			var line struct {
				processor.Metrics
			}
			if err := json.Unmarshal(metrics.Bytes(), &line); err != nil {
				t.Fatalf("metrics line %q: %v", metrics.String(), err)
			}
			if diff := cmp.Diff(line.Metrics, res.Metrics); diff != "" {
				t.Errorf("Result.Metrics differ from the metrics line (-line +result):\n%s", diff)
			}
			line.BatchDurationMs, line.OldestRecordAgeMs = 0, 0
			if diff := cmp.Diff(tc.wantMetrics, line.Metrics); diff != "" {
				t.Errorf("metrics (-want +got):\n%s", diff)
			}

			// Redeliver from the checkpoint, as Lambda does, until done.
			hooked = false
			for rest := recs; len(res.Retry) > 0; {
				rest = rest[res.Retry[0]:]
				res = h.Handle(context.Background(), rest)
			}
			checkState(t, mem, tc.wantMovies, tc.wantErrors, tc.wantRuns, recs)
		})
	}
}

// checkState compares the store with what a test wants.
func checkState(t *testing.T, mem *embedded.Store, wantMovies map[string]string, wantErrors []errWant, wantRuns map[string]runWant, recs []processor.Record) {
	t.Helper()
	gotMovies := map[string]string{}
	for id, m := range allMovies(t, mem) {
		gotMovies[id] = m.LastEventID
	}
	if wantMovies == nil {
		wantMovies = map[string]string{}
	}
	if diff := cmp.Diff(wantMovies, gotMovies); diff != "" {
		t.Errorf("movies: last event ids (-want +got):\n%s", diff)
	}

	bySeq := map[string][]byte{}
	for _, r := range recs {
		bySeq[r.SequenceNumber] = r.Data
	}
	var gotErrors []errWant
	for _, e := range allErrors(t, mem) {
		data := bySeq[e.SequenceNumber]
		reason := e.Reason
		for _, w := range wantErrors {
			if w.SequenceNumber == e.SequenceNumber && strings.HasPrefix(e.Reason, w.Reason) {
				reason = w.Reason // the detail after the prefix is libs/events' business
			}
		}
		gotErrors = append(gotErrors, errWant{
			Stage: e.Stage, SequenceNumber: e.SequenceNumber, EventID: e.EventID, RunID: e.RunID, Reason: reason,
			ShardID: e.ShardID, PartitionKey: e.PartitionKey, StreamARN: e.StreamARN,
			Attempts: e.Attempts, PayloadSize: e.PayloadSize,
			PayloadMatches:  bytes.Equal(e.Payload, data[:min(len(data), store.MaxPayload)]),
			ExpiresIn14Days: e.ExpiresAt.Equal(now.Add(contract.ErrorTTL)),
			Stamped:         e.FirstFailure.Equal(now) && e.LastFailure.Equal(now),
		})
	}
	for i := range wantErrors {
		w := &wantErrors[i]
		w.ShardID, w.StreamARN, w.Attempts = testShard, testStreamARN, 1
		w.PayloadMatches, w.ExpiresIn14Days, w.Stamped = true, true, true
	}
	if diff := cmp.Diff(wantErrors, gotErrors); diff != "" {
		t.Errorf("error items (-want +got):\n%s", diff)
	}

	for id, w := range wantRuns {
		r, err := mem.GetRun(context.Background(), id)
		if err != nil {
			t.Errorf("run %s: %v", id, err)
			continue
		}
		got := runWant{Processed: r.Processed, Failed: r.Failed, Status: r.Status()}
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("run %s (-want +got):\n%s", id, diff)
		}
	}
}

// TestMaxClockSkew: Options.MaxClockSkew sets how far ahead of the clock
// an event may lie.
func TestMaxClockSkew(t *testing.T) {
	const run = "run-20261127-042000-aaaaaaaa"
	tests := []struct {
		name      string
		skew      time.Duration
		at        time.Time
		wantStage store.Stage // "": projected
	}{
		{"within a configured skew", time.Minute, now.Add(59 * time.Second), ""},
		{"at the configured skew", time.Minute, now.Add(time.Minute), ""},
		{"beyond a configured skew", time.Minute, now.Add(61 * time.Second), store.StageValidate},
		{"beyond the default, within a larger skew", time.Hour, now.Add(30 * time.Minute), ""},
		{"in the past", time.Minute, now.Add(-24 * time.Hour), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := embedded.NewMemory(embedded.WithClock(func() time.Time { return now }))
			h := processor.New(mem, processor.Options{MaxClockSkew: tc.skew, Logger: quiet, Now: func() time.Time { return now }})
			e := movieEvent(run, tc.at, "alien-1979", 1)
			res := h.Handle(context.Background(), []processor.Record{record(testShard, 0, e.Subject, mustEncode(t, e))})
			if len(res.Retry) != 0 {
				t.Fatalf("Retry = %v, want none", res.Retry)
			}
			var stages []store.Stage
			for _, it := range allErrors(t, mem) {
				stages = append(stages, it.Stage)
			}
			_, projected := allMovies(t, mem)[e.Subject]
			got := struct {
				Stages    []store.Stage
				Projected bool
			}{stages, projected}
			want := struct {
				Stages    []store.Stage
				Projected bool
			}{nil, tc.wantStage == ""}
			if tc.wantStage != "" {
				want.Stages = []store.Stage{tc.wantStage}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
