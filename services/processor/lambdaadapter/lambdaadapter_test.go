package lambdaadapter_test

import (
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor/lambdaadapter"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// now is the clock of the recorded test: after the recorded records.
var now = time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)

const (
	streamARN = "arn:aws:kinesis:eu-west-2:123456789012:stream/events-courseX"
	shard1    = "shardId-000000000001"
)

// recordedEvent is testdata/kinesis-event.json, a Kinesis event as Lambda
// delivers it: golden events of libs/events and bad records.
func recordedEvent(t testing.TB) (events.KinesisEvent, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "kinesis-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.KinesisEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev, raw
}

// seq is the n-th sequence number of the recorded event.
func seq(n int) string {
	return "496011896584223593788362985218276384753201890123097047" + []string{"22", "24", "26", "28", "30", "32", "34"}[n]
}

// TestRecordsOfRecordedEvent maps every field of Lambda's records to the
// processor's, in order.
func TestRecordsOfRecordedEvent(t *testing.T) {
	ev, _ := recordedEvent(t)
	got := lambdaadapter.Records(ev)
	keys := []string{"run-20261127-042000-3f9a2c1b", "the-godfather-1972", "the-godfather-1972", "the-godfather-1972",
		"the-godfather-1972", "casablanca-1942", "run-20261127-042000-3f9a2c1b"}
	arrived := time.Unix(1795753200, 5e8)
	var want []processor.Record
	for i, key := range keys {
		want = append(want, processor.Record{
			StreamARN: streamARN, ShardID: shard1, SequenceNumber: seq(i), PartitionKey: key,
			Data:        ev.Records[i].Kinesis.Data,
			ArrivalTime: arrived.Add(time.Duration(i) * 250 * time.Millisecond),
		})
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	for i, r := range got {
		if !strings.HasPrefix(string(r.Data), `{"specversion"`) {
			t.Errorf("record %d: data %.20q is not the decoded event bytes", i, r.Data)
		}
	}
}

// TestRecordsShardID: Lambda names a record's shard only in its eventID,
// "<shard id>:<sequence number>".
func TestRecordsShardID(t *testing.T) {
	tests := []struct {
		name, eventID, seq, want string
	}{
		{"lambda event id", "shardId-000000000006:4959033827", "4959033827", "shardId-000000000006"},
		{"shard id with a colon", "shardId-00:06:4959", "4959", "shardId-00:06"},
		{"other sequence number, shard prefix", "shardId-000000000001:123", "456", "shardId-000000000001"},
		{"no event id", "", "4959", ""},
		{"foreign event id", "abc", "4959", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := events.KinesisEvent{Records: []events.KinesisEventRecord{
				{EventID: tc.eventID, Kinesis: events.KinesisRecord{SequenceNumber: tc.seq}}}}
			if got := lambdaadapter.Records(ev)[0].ShardID; got != tc.want {
				t.Errorf("shard of %q, %q = %q, want %q", tc.eventID, tc.seq, got, tc.want)
			}
		})
	}
}

func TestResponse(t *testing.T) {
	recs := []processor.Record{{SequenceNumber: "1"}, {SequenceNumber: "2"}, {SequenceNumber: "3"}, {SequenceNumber: "2"}}
	tests := []struct {
		name  string
		retry []int
		want  string
	}{
		{"nothing to retry is an empty list, not null", nil, `{"batchItemFailures":[]}`},
		{"sequence numbers in batch order", []int{1, 2}, `{"batchItemFailures":[{"itemIdentifier":"2"},{"itemIdentifier":"3"}]}`},
		{"a record twice in the batch is named once", []int{1, 2, 3}, `{"batchItemFailures":[{"itemIdentifier":"2"},{"itemIdentifier":"3"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(lambdaadapter.Response(recs, processor.Result{Retry: tc.retry}))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(b)); diff != "" {
				t.Errorf("response JSON (-want +got):\n%s", diff)
			}
		})
	}
}

// fakeCore records the batch it was given and asks to retry some of it.
type fakeCore struct {
	got   []processor.Record
	retry []int
}

func (f *fakeCore) Handle(_ context.Context, recs []processor.Record) processor.Result {
	f.got = recs
	return processor.Result{Retry: f.retry}
}

func TestHandler(t *testing.T) {
	ev, _ := recordedEvent(t)
	core := &fakeCore{retry: []int{3, 5}}
	resp, err := lambdaadapter.Handler(core)(context.Background(), ev)
	if err != nil {
		t.Fatalf("Handler returned error %v: Lambda would retry the whole batch", err)
	}
	if diff := cmp.Diff(lambdaadapter.Records(ev), core.got); diff != "" {
		t.Errorf("records given to the core (-want +got):\n%s", diff)
	}
	want := events.KinesisEventResponse{BatchItemFailures: []events.KinesisBatchItemFailure{
		{ItemIdentifier: seq(3)}, {ItemIdentifier: seq(5)}}}
	if diff := cmp.Diff(want, resp); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
}

// TestInvokeLikeLambda invokes the handler as the Lambda runtime (and
// devstack's mapping) does: the event's JSON bytes in through
// aws-lambda-go's reflection handler, the response's JSON bytes out.
func TestInvokeLikeLambda(t *testing.T) {
	_, raw := recordedEvent(t)
	core := &fakeCore{retry: []int{6}}
	out, err := lambda.NewHandler(lambdaadapter.Handler(core)).Invoke(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"batchItemFailures":[{"itemIdentifier":"` + seq(6) + `"}]}`
	if diff := cmp.Diff(want, strings.TrimSpace(string(out))); diff != "" {
		t.Errorf("response JSON (-want +got):\n%s", diff)
	}
	if len(core.got) != 7 || core.got[6].ShardID != shard1 || core.got[6].ArrivalTime.IsZero() {
		t.Errorf("records given to the core: %+v", core.got)
	}
}

// recorded is what the golden file of the recorded event holds.
type recorded struct {
	Response events.KinesisEventResponse `json:"response"`
	Metrics  processor.Metrics           `json:"metrics"`
	Movies   []store.Movie               `json:"movies"`
	Run      store.Run                   `json:"run"`
	Errors   []store.ErrorItem           `json:"errors"`
}

// TestRecordedEvent feeds testdata/kinesis-event.json through the adapter
// into the real processor on the embedded store and compares the response
// and everything written with testdata/kinesis-event.golden.json (rewrite
// with -update).
func TestRecordedEvent(t *testing.T) {
	ev, _ := recordedEvent(t)
	mem := embedded.NewMemory(embedded.WithClock(func() time.Time { return now }))
	var metrics metricsLine
	h := processor.New(mem, processor.Options{Logger: slog.New(slog.DiscardHandler), Metrics: &metrics, Now: func() time.Time { return now }})
	resp, err := lambdaadapter.Handler(h)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	got := recorded{Response: resp, Metrics: metrics.Metrics}
	got.Metrics.BatchDurationMs = 0
	ctx := context.Background()
	movies, err := mem.ListMovies(ctx, store.MovieFilter{}, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	got.Movies = movies.Items
	slices.SortFunc(got.Movies, func(a, b store.Movie) int { return strings.Compare(a.ID, b.ID) })
	if got.Run, err = mem.GetRun(ctx, "run-20261127-042000-3f9a2c1b"); err != nil {
		t.Fatal(err)
	}
	errs, err := mem.ListErrors(ctx, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The listing previews payloads; the golden holds whole items.
	for _, e := range errs.Items {
		full, err := mem.GetError(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		got.Errors = append(got.Errors, full)
	}

	golden := filepath.Join("testdata", "kinesis-event.golden.json")
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(golden, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	var want recorded
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("state after the recorded event (-want +got):\n%s", diff)
	}
}

// metricsLine keeps the figures of the last EMF line written.
type metricsLine struct{ processor.Metrics }

func (m *metricsLine) Write(p []byte) (int, error) {
	if err := json.Unmarshal(p, &m.Metrics); err != nil {
		return 0, err
	}
	return len(p), nil
}

// FuzzHandler: whatever event Lambda could deliver, the handler answers
// without error or panic, and every identifier it reports is a sequence
// number of the batch.
func FuzzHandler(f *testing.F) {
	_, raw := recordedEvent(f)
	f.Add(raw)
	f.Add([]byte(`{"Records":[{"eventID":"shardId-1:1","kinesis":{"sequenceNumber":"1","partitionKey":"k","data":"bm90IGFuIGV2ZW50"}}]}`))
	f.Add([]byte(`{"Records":[{"kinesis":{"sequenceNumber":"","data":null}},{"kinesis":{"sequenceNumber":""}}]}`))
	f.Add([]byte(`{"Records":[]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		var ev events.KinesisEvent
		if json.Unmarshal(raw, &ev) != nil {
			return // aws-lambda-go refuses it before the handler runs
		}
		h := processor.New(embedded.NewMemory(), processor.Options{Logger: slog.New(slog.DiscardHandler)})
		resp, err := lambdaadapter.Handler(h)(context.Background(), ev)
		if err != nil {
			t.Fatalf("Handler returned error %v", err)
		}
		seqs := map[string]bool{}
		for _, r := range ev.Records {
			seqs[r.Kinesis.SequenceNumber] = true
		}
		for _, f := range resp.BatchItemFailures {
			if !seqs[f.ItemIdentifier] {
				t.Errorf("reported %q, not a record of the batch", f.ItemIdentifier)
			}
		}
		if resp.BatchItemFailures == nil {
			t.Error("batchItemFailures is null")
		}
	})
}
