package errorsink_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/services/errorsink"
)

var quiet = slog.New(slog.DiscardHandler)

var now = time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)

// fakeReader serves ReadRange from a fixed list of records per shard.
type fakeReader struct {
	shards map[string][]stream.Stored
	// trimmedBefore: records of the range before this sequence number are
	// gone (ErrTrimmed after the rest were passed).
	trimmedBefore string
	err           error // returned before any record
	calls         int
}

func (f *fakeReader) ReadRange(ctx context.Context, arn, shard, first, last string, fn func(stream.Stored) error) error {
	f.calls++
	if f.err != nil {
		return f.err
	}
	for _, r := range f.shards[shard] {
		if stream.CompareSeq(r.SequenceNumber, first) < 0 || stream.CompareSeq(r.SequenceNumber, last) > 0 {
			continue
		}
		if f.trimmedBefore != "" && stream.CompareSeq(r.SequenceNumber, f.trimmedBefore) < 0 {
			continue
		}
		if err := fn(r); err != nil {
			return fmt.Errorf("fake read: %w", err)
		}
	}
	if f.trimmedBefore != "" && stream.CompareSeq(first, f.trimmedBefore) < 0 {
		return fmt.Errorf("fake read: %w", stream.ErrTrimmed)
	}
	return nil
}

// failStore fails the call number after (0-based) of op with err, once.
type failStore struct {
	errorsink.Store
	op    string
	after int
	err   error
	calls int
}

func (f *failStore) fail(op string) bool {
	if op != f.op {
		return false
	}
	f.calls++
	return f.calls-1 == f.after
}

func (f *failStore) PutError(ctx context.Context, e store.ErrorItem) error {
	if f.fail("PutError") {
		return f.err
	}
	return f.Store.PutError(ctx, e)
}

func (f *failStore) GetRun(ctx context.Context, id string) (store.Run, error) {
	if f.fail("GetRun") {
		return store.Run{}, f.err
	}
	return f.Store.GetRun(ctx, id)
}

func (f *failStore) FailEvent(ctx context.Context, runID, eventID string, e store.ErrorItem) (bool, error) {
	if f.fail("FailEvent") {
		return false, f.err
	}
	return f.Store.FailEvent(ctx, runID, eventID, e)
}

const (
	runID  = "run-20261127-042000-3f9a2c1b"
	shard1 = "shardId-000000000001"
	seq0   = "49601189658422359378836298521827638475320189012309704722"
	source = "https://films.example.org/site/chart?page=1"
)

// expiry is when an item of a failure at t expires: the store keeps TTLs
// in whole epoch seconds, rounded up.
func expiry(t time.Time) time.Time {
	e := t.Add(contract.ErrorTTL)
	if r := e.Truncate(time.Second); !r.Equal(e) {
		return r.Add(time.Second)
	}
	return e
}

func seq(n int) string {
	return fmt.Sprintf("4960118965842235937883629852182763847532018901230970%04d", 4722+n)
}

// records are what the fake stream holds on shard1: a movie event, a
// malformed record, a run event, and a record after the documented range.
func records(t testing.TB) []stream.Stored {
	movie := events.NewMovieObserved(runID, source, now.Add(-time.Hour), "alien-1979", events.MovieObserved{
		Title: "Alien", Year: 1979, Rating: events.Rating{Value: 8.5}})
	completed := events.NewRunEvent(runID, source, now.Add(-time.Hour), events.ScrapeCompleted{Published: 1, Pages: 1})
	enc := func(e events.Event) []byte {
		b, err := events.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	arrival := now.Add(-2 * time.Hour)
	return []stream.Stored{
		{ShardID: shard1, SequenceNumber: seq(0), PartitionKey: "alien-1979", Data: enc(movie), ArrivalTime: arrival},
		{ShardID: shard1, SequenceNumber: seq(1), PartitionKey: "casablanca-1942", Data: []byte(`{"specversion":"1.0","id":`), ArrivalTime: arrival},
		{ShardID: shard1, SequenceNumber: seq(2), PartitionKey: runID, Data: enc(completed), ArrivalTime: arrival},
		{ShardID: shard1, SequenceNumber: "99601189658422359378836298522902373528957594348623495186", PartitionKey: "after", Data: []byte("x")},
	}
}

// movieRecords are three movie events of shard1 at seq(0)..seq(2), one
// per partition key, and their event ids.
func movieRecords(t testing.TB) ([]stream.Stored, []string) {
	var recs []stream.Stored
	var ids []string
	for i, key := range []string{"alien-1979", "casablanca-1942", "brazil-1985"} {
		e := events.NewMovieObserved(runID, source, now.Add(-time.Hour), key, events.MovieObserved{
			Title: key, Year: 1979, Rating: events.Rating{Value: 8}})
		b, err := events.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, stream.Stored{ShardID: shard1, SequenceNumber: seq(i), PartitionKey: key, Data: b,
			ArrivalTime: now.Add(-2 * time.Hour)})
		ids = append(ids, e.ID)
	}
	return recs, ids
}

// runRecords are scrape.started, scrape.completed and a movie event of
// shard1 at seq(0)..seq(2).
func runRecords(t testing.TB) []stream.Stored {
	var recs []stream.Stored
	for i, e := range []events.Event{
		events.NewRunEvent(runID, source, now.Add(-2*time.Hour), events.ScrapeStarted{Profile: "movies", Trigger: events.TriggerAPI}),
		events.NewRunEvent(runID, source, now.Add(-time.Hour), events.ScrapeCompleted{Published: 1, Pages: 1}),
		events.NewMovieObserved(runID, source, now.Add(-time.Hour), "alien-1979", events.MovieObserved{
			Title: "Alien", Year: 1979, Rating: events.Rating{Value: 8.5}}),
	} {
		b, err := events.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, stream.Stored{ShardID: shard1, SequenceNumber: seq(i), PartitionKey: e.Subject, Data: b,
			ArrivalTime: now.Add(-2 * time.Hour)})
	}
	return recs
}

// message is a message holding the documented on-failure record with the
// range seq(0)..seq(2) of shard1 (batch of 3), sent at now.
func message(t testing.TB, id string) errorsink.Message {
	body := edit(t, func(m map[string]any) {
		b := batchInfo(m)
		b["startSequenceNumber"], b["endSequenceNumber"], b["batchSize"] = seq(0), seq(2), 3
		m["requestContext"].(map[string]any)["approximateInvokeCount"] = 4
	})
	return errorsink.Message{ID: id, Body: []byte(body), SentAt: now}
}

// itemView is what the tests compare of an error item.
type itemView struct {
	ID, Stage, Reason, EventID, RunID, Shard, Seq, Key, Condition string
	Attempts, PayloadSize                                         int
	First, Last, Expires                                          time.Time
}

func view(items []store.ErrorItem) []itemView {
	var out []itemView
	for _, e := range items {
		out = append(out, itemView{ID: e.ID, Stage: string(e.Stage), Reason: e.Reason, EventID: e.EventID, RunID: e.RunID,
			Shard: e.ShardID, Seq: e.SequenceNumber, Key: e.PartitionKey, Condition: e.Condition, Attempts: e.Attempts,
			PayloadSize: e.PayloadSize, First: e.FirstFailure, Last: e.LastFailure, Expires: e.ExpiresAt})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq+out[i].ID < out[j].Seq+out[j].ID })
	return out
}

// listErrors lists the error items of s, each read whole (the listing
// previews payloads).
func listErrors(t testing.TB, s *embedded.Store) []store.ErrorItem {
	t.Helper()
	p, err := s.ListErrors(context.Background(), 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]store.ErrorItem, 0, len(p.Items))
	for _, e := range p.Items {
		full, err := s.GetError(context.Background(), e.ID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, full)
	}
	return out
}

func TestHandle(t *testing.T) {
	documentedAt := time.Date(2019, 11, 14, 0, 38, 6, 21e6, time.UTC)
	// Items stamped with the message's time expire 14 days after it; the
	// embedded store hides expired items, so its clock sits just after.
	clock := documentedAt.Add(time.Hour)
	const why = "batch discarded by the event source mapping (RetryAttemptsExhausted) after 4 invocations of arn:aws:lambda:us-east-2:123456789012:function:myfunction"
	recs := records(t)
	movieID := events.EventID(runID, source, "alien-1979")
	recordItem := func(i int, eventID, run string) itemView {
		return itemView{ID: store.ErrorID(store.StageRetriesExhausted, shard1, seq(i), ""), Stage: "retries_exhausted",
			Reason: why, EventID: eventID, RunID: run, Shard: shard1, Seq: seq(i), Key: recs[i].PartitionKey,
			Condition: "RetryAttemptsExhausted", Attempts: 4, PayloadSize: len(recs[i].Data),
			First: documentedAt, Last: documentedAt, Expires: expiry(documentedAt)}
	}
	completedID := events.EventID(runID, source, events.TypeScrapeCompleted)
	startedID := events.EventID(runID, source, events.TypeScrapeStarted)
	// The malformed record gets the item the processor gives it: stage
	// decode, the decoder's reason.
	_, decodeErr := events.Decode(recs[1].Data)
	malformed := recordItem(1, "", "")
	malformed.ID = store.ErrorID(store.StageDecode, shard1, seq(1), "")
	malformed.Stage, malformed.Reason = "decode", decodeErr.Error()
	allRecords := []itemView{recordItem(0, movieID, runID), malformed, recordItem(2, completedID, runID)}
	rangeItem := func(reason string) itemView {
		return itemView{ID: store.ErrorID(store.StageRetriesExhausted, shard1, seq(0)+".."+seq(2), "range"), Stage: "retries_exhausted",
			Reason: why + "; " + reason, Shard: shard1, Seq: seq(0), Condition: "RetryAttemptsExhausted", Attempts: 4,
			PayloadSize: len(message(t, "m").Body), First: documentedAt, Last: documentedAt, Expires: expiry(documentedAt)}
	}
	badBody := edit(t, func(m map[string]any) { delete(batchInfo(m), "shardId") })
	badItem := itemView{ID: store.ErrorID(store.StageRetriesExhausted, "", "", "sqs-message:m1"), Stage: "retries_exhausted",
		Reason:    "unusable on-failure message, its records were not read back: bad on-failure message: KinesisBatchInfo.shardId is required",
		Condition: "RetryAttemptsExhausted", Attempts: 1, PayloadSize: len(badBody),
		First: documentedAt, Last: documentedAt, Expires: expiry(documentedAt)}
	sentAt := now.Truncate(time.Millisecond)
	// A batch whose lowest failure is casablanca: the processor projected
	// alien before it and brazil (another partition key) after it.
	movieRecs, movieIDs := movieRecords(t)
	casablanca := itemView{ID: store.ErrorID(store.StageRetriesExhausted, shard1, seq(1), ""), Stage: "retries_exhausted",
		Reason: why, EventID: movieIDs[1], RunID: runID, Shard: shard1, Seq: seq(1), Key: "casablanca-1942",
		Condition: "RetryAttemptsExhausted", Attempts: 4, PayloadSize: len(movieRecs[1].Data),
		First: documentedAt, Last: documentedAt, Expires: expiry(documentedAt)}
	// A batch of run events: the processor started the run, and the
	// completion and the movie after it failed.
	runRecs := runRecords(t)
	runItem := func(i int, eventID string) itemView {
		return itemView{ID: store.ErrorID(store.StageRetriesExhausted, shard1, seq(i), ""), Stage: "retries_exhausted",
			Reason: why, EventID: eventID, RunID: runID, Shard: shard1, Seq: seq(i), Key: runRecs[i].PartitionKey,
			Condition: "RetryAttemptsExhausted", Attempts: 4, PayloadSize: len(runRecs[i].Data),
			First: documentedAt, Last: documentedAt, Expires: expiry(documentedAt)}
	}
	// movieRecs with the first event in a schema version nobody knows: it
	// does not decode, and processor.permanent stores and counts it.
	unknownRecs := slices.Clone(movieRecs)
	unknownRecs[0].Data = bytes.Replace(unknownRecs[0].Data, []byte(`"schemaversion":2`), []byte(`"schemaversion":9`), 1)
	_, unknownErr := events.Decode(unknownRecs[0].Data)
	if unknownErr == nil {
		t.Fatal("the unknown version decodes")
	}
	unknownItem := store.ErrorItem{ID: store.ErrorID(store.StageDecode, shard1, seq(0), movieIDs[0]), Stage: store.StageDecode,
		Reason: unknownErr.Error(), EventID: movieIDs[0], RunID: runID, ShardID: shard1, SequenceNumber: seq(0),
		PartitionKey: "alien-1979", Payload: unknownRecs[0].Data, PayloadSize: len(unknownRecs[0].Data)}
	unknownView := view([]store.ErrorItem{unknownItem})[0]
	unknownView.Condition, unknownView.Attempts = "RetryAttemptsExhausted", 4
	unknownView.First, unknownView.Last, unknownView.Expires = documentedAt, documentedAt, expiry(documentedAt)
	var unknownRest []itemView
	for i := 1; i <= 2; i++ {
		v := casablanca
		v.ID, v.EventID, v.Seq, v.Key, v.PayloadSize = store.ErrorID(store.StageRetriesExhausted, shard1, seq(i), ""), movieIDs[i],
			seq(i), movieRecs[i].PartitionKey, len(movieRecs[i].Data)
		unknownRest = append(unknownRest, v)
	}
	startRun := func(t *testing.T, s *embedded.Store) {
		if err := s.StartRun(context.Background(), store.Run{ID: runID, Source: source, StartedAt: now.Add(-2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	processed := func(ids ...string) func(*testing.T, *embedded.Store) {
		return func(t *testing.T, s *embedded.Store) {
			for _, id := range ids {
				if _, err := s.CountEvent(context.Background(), runID, id, store.CounterProcessed, ""); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	tests := []struct {
		name            string
		msgs            []errorsink.Message
		reader          *fakeReader
		store           func(errorsink.Store) errorsink.Store
		before          func(*testing.T, *embedded.Store) // what the processor did
		clock           time.Time
		wantFailed      []string
		wantItems       []itemView
		wantFailedCount int // of the run
	}{
		{
			name:            "every record of the range is stored and the movie counted",
			msgs:            []errorsink.Message{message(t, "m1")},
			wantItems:       allRecords,
			wantFailedCount: 1,
		},
		{
			name:            "the same message twice yields the same items",
			msgs:            []errorsink.Message{message(t, "m1"), message(t, "m1-again")},
			wantItems:       allRecords,
			wantFailedCount: 1,
		},
		{
			name:            "records the processor handled are not failures",
			msgs:            []errorsink.Message{message(t, "m1")},
			reader:          &fakeReader{shards: map[string][]stream.Stored{shard1: movieRecs}},
			before:          processed(movieIDs[0], movieIDs[2]),
			wantItems:       []itemView{casablanca},
			wantFailedCount: 1,
		},
		{
			name:            "records the processor handled are not failures, the same message twice",
			msgs:            []errorsink.Message{message(t, "m1"), message(t, "m1-again")},
			reader:          &fakeReader{shards: map[string][]stream.Stored{shard1: movieRecs}},
			before:          processed(movieIDs[0], movieIDs[2]),
			wantItems:       []itemView{casablanca},
			wantFailedCount: 1,
		},
		{
			name: "a movie event the processor stored as a permanent failure is not stored again",
			msgs: []errorsink.Message{message(t, "m1")},
			before: func(t *testing.T, s *embedded.Store) {
				if _, err := s.CountEvent(context.Background(), runID, movieID, store.CounterFailed, ""); err != nil {
					t.Fatal(err)
				}
			},
			wantItems:       allRecords[1:],
			wantFailedCount: 1,
		},
		{
			name: "a malformed record the processor stored keeps its one item",
			msgs: []errorsink.Message{message(t, "m1")},
			before: func(t *testing.T, s *embedded.Store) {
				// What processor.permanent stored an hour before the batch
				// was discarded.
				at := documentedAt.Add(-time.Hour)
				if err := s.PutError(context.Background(), store.ErrorItem{ID: malformed.ID, Stage: store.StageDecode,
					Reason: decodeErr.Error(), ShardID: shard1, SequenceNumber: seq(1), PartitionKey: recs[1].PartitionKey,
					Payload: recs[1].Data, PayloadSize: len(recs[1].Data), Attempts: 1,
					FirstFailure: at, LastFailure: at, ExpiresAt: at.Add(contract.ErrorTTL)}); err != nil {
					t.Fatal(err)
				}
			},
			wantItems: func() []itemView {
				items := slices.Clone(allRecords)
				items[1].First = documentedAt.Add(-time.Hour)
				return items
			}(),
			wantFailedCount: 1,
		},
		{
			name:   "an undecodable movie event the processor counted is counted once and stored once",
			msgs:   []errorsink.Message{message(t, "m1")},
			reader: &fakeReader{shards: map[string][]stream.Stored{shard1: unknownRecs}},
			before: func(t *testing.T, s *embedded.Store) {
				// processor.permanent: the item, then the failed count.
				it := unknownItem
				it.FirstFailure, it.LastFailure = documentedAt, documentedAt
				it.ExpiresAt, it.Attempts = documentedAt.Add(contract.ErrorTTL), 1
				if err := s.PutError(context.Background(), it); err != nil {
					t.Fatal(err)
				}
				if _, err := s.CountEvent(context.Background(), runID, movieIDs[0], store.CounterFailed, ""); err != nil {
					t.Fatal(err)
				}
			},
			wantItems:       []itemView{unknownView, unknownRest[0], unknownRest[1]},
			wantFailedCount: 3,
		},
		{
			name:            "an undecodable movie event the processor never reached is counted and stored as it would",
			msgs:            []errorsink.Message{message(t, "m1")},
			reader:          &fakeReader{shards: map[string][]stream.Stored{shard1: unknownRecs}},
			wantItems:       []itemView{unknownView, unknownRest[0], unknownRest[1]},
			wantFailedCount: 3,
		},
		{
			name: "a run event the processor projected is not a failure",
			msgs: []errorsink.Message{message(t, "m1")},
			before: func(t *testing.T, s *embedded.Store) {
				if err := s.CompleteRun(context.Background(), store.Run{ID: runID, Source: source, Published: 1, Pages: 1}); err != nil {
					t.Fatal(err)
				}
			},
			wantItems:       allRecords[:2],
			wantFailedCount: 1,
		},
		{
			name:            "a started run: its start is not a failure, its completion is",
			msgs:            []errorsink.Message{message(t, "m1")},
			reader:          &fakeReader{shards: map[string][]stream.Stored{shard1: runRecs}},
			before:          startRun,
			wantItems:       []itemView{runItem(1, completedID), runItem(2, movieID)},
			wantFailedCount: 1,
		},
		{
			name:   "a run that only has counts has not started: its start is a failure",
			msgs:   []errorsink.Message{message(t, "m1")},
			reader: &fakeReader{shards: map[string][]stream.Stored{shard1: runRecs}},
			before: func(t *testing.T, s *embedded.Store) {
				// A movie event of the run was counted before scrape.started
				// (another shard): the run item exists, without a start.
				if _, err := s.CountEvent(context.Background(), runID, "other-event", store.CounterProcessed, ""); err != nil {
					t.Fatal(err)
				}
			},
			wantItems:       []itemView{runItem(0, startedID), runItem(1, completedID), runItem(2, movieID)},
			wantFailedCount: 1,
		},
		{
			name:   "a failed GetRun is retried and leaves nothing of its record",
			msgs:   []errorsink.Message{message(t, "m1")},
			reader: &fakeReader{shards: map[string][]stream.Stored{shard1: runRecs}},
			store: func(s errorsink.Store) errorsink.Store {
				return &failStore{Store: s, op: "GetRun", err: store.ErrTransient}
			},
			wantFailed: []string{"m1"},
		},
		{
			name:            "trimmed records leave one item for the range",
			msgs:            []errorsink.Message{message(t, "m1")},
			reader:          &fakeReader{trimmedBefore: seq(2)},
			wantItems:       []itemView{rangeItem("1 of the batch's 3 records could be read back, the others are no longer on the stream (retention expired or shard gone)"), allRecords[2]},
			wantFailedCount: 0,
		},
		{
			name:      "an empty range leaves one item for the range",
			msgs:      []errorsink.Message{message(t, "m1")},
			reader:    &fakeReader{shards: map[string][]stream.Stored{}},
			wantItems: []itemView{rangeItem("0 of the batch's 3 records could be read back, the range held no more records")},
		},
		{
			name:      "an unusable message is stored as it is",
			msgs:      []errorsink.Message{{ID: "m1", Body: []byte(badBody)}},
			wantItems: []itemView{badItem},
		},
		{
			name:  "a message that is not JSON is stored, stamped when SQS got it",
			msgs:  []errorsink.Message{{ID: "m1", Body: []byte("not json"), SentAt: sentAt}},
			clock: now,
			wantItems: []itemView{{ID: badItem.ID, Stage: "retries_exhausted",
				Reason:      "unusable on-failure message, its records were not read back: bad on-failure message: invalid character 'o' in literal null (expecting 'u')",
				PayloadSize: len("not json"), First: sentAt, Last: sentAt, Expires: expiry(sentAt)}},
		},
		{
			name:       "a failed read is retried",
			msgs:       []errorsink.Message{message(t, "m1")},
			reader:     &fakeReader{err: errors.New("ProvisionedThroughputExceededException")},
			wantFailed: []string{"m1"},
		},
		{
			name: "a failed store is retried, other messages go on",
			msgs: []errorsink.Message{message(t, "m1"), {ID: "m2", Body: []byte(badBody)}},
			store: func(s errorsink.Store) errorsink.Store {
				return &failStore{Store: s, op: "PutError", after: 0, err: store.ErrTransient}
			},
			wantFailed:      []string{"m1"},
			wantItems:       []itemView{allRecords[0], {ID: store.ErrorID(store.StageRetriesExhausted, "", "", "sqs-message:m2"), Stage: badItem.Stage, Reason: badItem.Reason, Condition: badItem.Condition, Attempts: 1, PayloadSize: badItem.PayloadSize, First: documentedAt, Last: documentedAt, Expires: badItem.Expires}},
			wantFailedCount: 1,
		},
		{
			name: "a failed FailEvent is retried and leaves nothing of its record",
			msgs: []errorsink.Message{message(t, "m1")},
			store: func(s errorsink.Store) errorsink.Store {
				return &failStore{Store: s, op: "FailEvent", err: store.ErrTransient}
			},
			wantFailed: []string{"m1"},
		},
		{
			name: "a failed FailEvent, then the message again: every record once",
			msgs: []errorsink.Message{message(t, "m1"), message(t, "m1-again")},
			store: func(s errorsink.Store) errorsink.Store {
				return &failStore{Store: s, op: "FailEvent", err: store.ErrTransient}
			},
			wantFailed:      []string{"m1"},
			wantItems:       allRecords,
			wantFailedCount: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := clock
			if !tc.clock.IsZero() {
				c = tc.clock.Add(time.Hour)
			}
			mem := embedded.NewMemory(embedded.WithClock(func() time.Time { return c }))
			if tc.before != nil {
				tc.before(t, mem)
			}
			var st errorsink.Store = mem
			if tc.store != nil {
				st = tc.store(mem)
			}
			r := tc.reader
			if r == nil {
				r = &fakeReader{}
			}
			if r.shards == nil {
				r.shards = map[string][]stream.Stored{shard1: recs}
			}
			h := errorsink.New(r, st, errorsink.Options{Logger: quiet, Now: func() time.Time { return now }})
			res := h.Handle(context.Background(), tc.msgs)
			var failed []string
			for _, i := range res.Retry {
				failed = append(failed, tc.msgs[i].ID)
			}
			if diff := cmp.Diff(tc.wantFailed, failed); diff != "" {
				t.Errorf("failed messages (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantItems, view(listErrors(t, mem))); diff != "" {
				t.Errorf("error items (-want +got):\n%s", diff)
			}
			run, err := mem.GetRun(context.Background(), runID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			if run.Failed != tc.wantFailedCount {
				t.Errorf("run failed count = %d, want %d", run.Failed, tc.wantFailedCount)
			}
		})
	}
}

func TestHandleDeadline(t *testing.T) {
	mem := embedded.NewMemory()
	r := &fakeReader{shards: map[string][]stream.Stored{shard1: records(t)}}
	h := errorsink.New(r, mem, errorsink.Options{Logger: quiet, DeadlineMargin: time.Minute})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res := h.Handle(ctx, []errorsink.Message{message(t, "m1"), message(t, "m2")})
	if diff := cmp.Diff([]int{0, 1}, res.Retry); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	if r.calls != 0 {
		t.Errorf("%d reads started inside the margin", r.calls)
	}
}

func TestLoadConfig(t *testing.T) {
	env := map[string]string{contract.EnvMoviesTable: "movies-x"}
	_, err := errorsink.LoadConfig(func(k string) string { return env[k] })
	want := "errorsink config: RUNS_TABLE is required\nERRORS_TABLE is required"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
	env = map[string]string{contract.EnvRunsTable: "runs-x", contract.EnvErrorsTable: "errors-x"}
	c, err := errorsink.LoadConfig(func(k string) string { return env[k] })
	if err != nil || c != (errorsink.Config{RunsTable: "runs-x", ErrorsTable: "errors-x"}) {
		t.Errorf("LoadConfig = %+v, %v", c, err)
	}
}
