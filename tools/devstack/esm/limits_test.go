package esm

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
)

// startWindow is start with a batching window.
func startWindow(t *testing.T, f *fixture, set contract.KinesisMapping, h KinesisHandler, window time.Duration) *Kinesis {
	t.Helper()
	m, err := NewKinesis(f.stream, BoltCheckpoints{f.db}, set, h, f.queue, Options{
		Name: "processor", FunctionARN: "arn:aws:lambda:local:000000000000:function:processor",
		Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.RunWindow(ctx, window) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return m
}

// TestEventSizeBoundsTheEncoding: eventSize is never below what a record
// really takes in the invocation's JSON, and not far above.
func TestEventSizeBoundsTheEncoding(t *testing.T) {
	f := newFixture(t, 1)
	m, err := NewKinesis(f.stream, BoltCheckpoints{f.db}, settings(nil), (&recorder{}).handle, f.queue,
		Options{Name: "p", FunctionARN: "arn:aws:lambda:eu-west-2:000000000000:function:p", Region: "eu-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	var batch []stream.Stored
	for _, r := range []stream.Stored{
		{PartitionKey: "k", Data: nil},
		{PartitionKey: "the-godfather-1972", Data: []byte(`{"specversion":"1.0"}`)},
		{PartitionKey: `"quoted\\" <&> ünïcödé ` + strings.Repeat("é", 100), Data: bytes.Repeat([]byte{0xff}, 1000)},
		{PartitionKey: strings.Repeat("\x01", 256), Data: bytes.Repeat([]byte("x"), 1<<20)},
	} {
		r.ShardID = "shardId-000000000000"
		r.SequenceNumber = "49000000000000000000000000000000000000000000000000000135"
		r.ArrivalTime = time.Date(2026, 11, 27, 6, 0, 0, 123e6, time.UTC)
		batch = append(batch, r)
	}
	for _, r := range batch {
		raw, err := json.Marshal(m.records([]stream.Stored{r})[0])
		if err != nil {
			t.Fatal(err)
		}
		got, bound := len(raw)+1, m.eventSize(r) // +1: the comma between records
		if bound < got || bound > got+6*len(r.PartitionKey)+eventOverhead {
			t.Errorf("key %.20q, %d bytes of data: eventSize %d, encoded %d", r.PartitionKey, len(r.Data), bound, got)
		}
	}
}

// TestBatchStaysWithinThePayloadLimit: records of almost 1 MiB make
// invocations of at most 6 MB each, in order, none lost.
func TestBatchStaysWithinThePayloadLimit(t *testing.T) {
	f := newFixture(t, 1)
	const n, size = 10, 900 << 10
	var want []string
	var in []stream.Record
	for i := range n {
		d := strings.Repeat(string(rune('a'+i)), size)
		want = append(want, d)
		in = append(in, stream.Record{PartitionKey: "k", Data: []byte(d)})
	}
	f.publish(t, in...)
	r := &recorder{}
	m := start(t, f, settings(nil), r.handle, Options{})
	caughtUp(t, m)
	var got []string
	for i, call := range r.snapshot() {
		size := len(eventFrame)
		for _, d := range call {
			size += len(d)*4/3 + eventOverhead
		}
		if size > maxPayload {
			t.Errorf("invocation %d: %d records, about %d bytes, over %d", i, len(call), size, maxPayload)
		}
		got = append(got, call...)
	}
	if len(r.snapshot()) < 2 {
		t.Errorf("%d invocation for %d records of %d KiB (about 12 MB in base64), want at least 2", len(r.snapshot()), n, size>>10)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records delivered (-want +got):\n%s", diff)
	}
}

// TestFullLaneDoesNotWaitForTheWindow: with ParallelizationFactor 4, a
// lane that holds BatchSize records is invoked at once, as Lambda does
// when a batch is full, though the round could take four batches.
func TestFullLaneDoesNotWaitForTheWindow(t *testing.T) {
	f := newFixture(t, 1)
	f.publish(t, recs("one-key", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10")...)
	r := &recorder{}
	startWindow(t, f, settings(func(s *contract.KinesisMapping) { s.ParallelizationFactor = 4; s.BatchSize = 10 }), r.handle, time.Hour)
	deadline := time.Now().Add(20 * time.Second)
	for len(r.snapshot()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a full batch waited for the hour-long batching window")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if got := r.snapshot()[0]; len(got) != 10 {
		t.Errorf("first invocation had %d records, want the full batch of 10", len(got))
	}
}

// TestOnFailureResponseContextAfterPartialFailures: a batch that keeps
// reporting item failures until its retries run out was invoked and
// answered 200 each time: the on-failure record says so, with no
// function error.
func TestOnFailureResponseContextAfterPartialFailures(t *testing.T) {
	f := newFixture(t, 1)
	f.publish(t, recs("k", "1", "2")...)
	r := &recorder{answer: func(_ int, ev lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
		return lambdaevents.KinesisEventResponse{BatchItemFailures: []lambdaevents.KinesisBatchItemFailure{
			{ItemIdentifier: ev.Records[len(ev.Records)-1].Kinesis.SequenceNumber},
		}}, nil
	}}
	m := start(t, f, settings(func(s *contract.KinesisMapping) { s.MaximumRetryAttempts = 1 }), r.handle, Options{})
	caughtUp(t, m)
	fs := failures(t, f.queue)
	if len(fs) != 1 {
		t.Fatalf("on-failure records = %d, want 1", len(fs))
	}
	type response struct {
		Condition     string
		Invokes       int
		Status        int
		Version, Kind string
	}
	got := response{fs[0].RequestContext.Condition, fs[0].RequestContext.ApproximateInvokeCount,
		fs[0].ResponseContext.StatusCode, fs[0].ResponseContext.ExecutedVersion, fs[0].ResponseContext.FunctionError}
	want := response{"RetryAttemptsExhausted", 2, 200, "$LATEST", ""}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("on-failure record (-want +got):\n%s", diff)
	}
}

// TestConcurrentInvocationsKeepTheirResponses: invocations run at once
// (shards, lanes) each get their own response, although aws-lambda-go's
// handler hands out response bytes from a pooled buffer.
func TestConcurrentInvocationsKeepTheirResponses(t *testing.T) {
	var h KinesisHandler = func(_ context.Context, ev lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
		var resp lambdaevents.KinesisEventResponse
		for _, r := range ev.Records {
			resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.KinesisBatchItemFailure{ItemIdentifier: r.Kinesis.SequenceNumber})
		}
		return resp, nil
	}
	opts := Options{}
	opts.defaults()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 300 {
				seq := strings.Repeat(string(rune('1'+g)), 1+i%50)
				payload := []byte(`{"Records":[{"kinesis":{"sequenceNumber":"` + seq + `"}}]}`)
				resp, err := invoke[lambdaevents.KinesisEventResponse](context.Background(), opts, h, payload)
				if err != nil {
					t.Error(err)
					return
				}
				if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != seq {
					t.Errorf("invocation with %q answered %+v", seq, resp)
					return
				}
			}
		})
	}
	wg.Wait()
}
