package lambdaadapter_test

import (
	"context"
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/google/go-cmp/cmp"

	libevents "github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/services/errorsink"
	"github.com/scrape-pipeline/scrape-pipeline/services/errorsink/lambdaadapter"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

const messageID = "059f36b4-87a3-44ab-83d2-661975830a7d"

// recordedEvent is testdata/sqs-event.json: the documented on-failure
// record delivered by SQS, as Lambda hands it to the function.
func recordedEvent(t testing.TB) (events.SQSEvent, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "sqs-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(raw, &ev); err != nil {
		t.Fatal(err)
	}
	return ev, raw
}

func TestMessagesOfRecordedEvent(t *testing.T) {
	ev, _ := recordedEvent(t)
	got := lambdaadapter.Messages(ev)
	want := []errorsink.Message{{
		ID:     messageID,
		Body:   []byte(ev.Records[0].Body),
		SentAt: time.Date(2019, 11, 14, 0, 38, 6, 100e6, time.UTC), // SentTimestamp 1573691886100
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if _, err := errorsink.DecodeOnFailure(got[0].Body); err != nil {
		t.Errorf("the body is not the on-failure record: %v", err)
	}
}

func TestMessagesSentAt(t *testing.T) {
	tests := []struct {
		name, sent string
		want       time.Time
	}{
		{"epoch milliseconds", "1573691886100", time.UnixMilli(1573691886100).UTC()},
		{"missing", "", time.Time{}},
		{"not a number", "yesterday", time.Time{}},
		{"not positive", "0", time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev := events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m", Attributes: map[string]string{}}}}
			if tc.sent != "" {
				ev.Records[0].Attributes["SentTimestamp"] = tc.sent
			}
			if got := lambdaadapter.Messages(ev)[0].SentAt; !got.Equal(tc.want) {
				t.Errorf("SentAt = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestResponse(t *testing.T) {
	msgs := []errorsink.Message{{ID: "a"}, {ID: "b"}, {ID: "c"}}
	tests := []struct {
		name  string
		retry []int
		want  string
	}{
		{"nothing to retry is an empty list, not null", nil, `{"batchItemFailures":[]}`},
		{"message ids in batch order", []int{0, 2}, `{"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"c"}]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(lambdaadapter.Response(msgs, errorsink.Result{Retry: tc.retry}))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, string(b)); diff != "" {
				t.Errorf("response JSON (-want +got):\n%s", diff)
			}
		})
	}
}

// fakeCore records the messages it was given and asks to retry some.
type fakeCore struct {
	got   []errorsink.Message
	retry []int
}

func (f *fakeCore) Handle(_ context.Context, msgs []errorsink.Message) errorsink.Result {
	f.got = msgs
	return errorsink.Result{Retry: f.retry}
}

// TestInvokeLikeLambda invokes the handler as the Lambda runtime (and
// devstack's mapping) does: the event's JSON bytes in through
// aws-lambda-go's reflection handler, the response's JSON bytes out.
func TestInvokeLikeLambda(t *testing.T) {
	ev, raw := recordedEvent(t)
	core := &fakeCore{retry: []int{0}}
	out, err := lambda.NewHandler(lambdaadapter.Handler(core)).Invoke(context.Background(), raw)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"batchItemFailures":[{"itemIdentifier":"` + messageID + `"}]}`
	if diff := cmp.Diff(want, strings.TrimSpace(string(out))); diff != "" {
		t.Errorf("response JSON (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(lambdaadapter.Messages(ev), core.got); diff != "" {
		t.Errorf("messages given to the core (-want +got):\n%s", diff)
	}
}

// streamReader serves ReadRange from a fixed list of records.
type streamReader []stream.Stored

func (s streamReader) ReadRange(_ context.Context, _, shard, first, last string, fn func(stream.Stored) error) error {
	for _, r := range s {
		if r.ShardID == shard && stream.CompareSeq(r.SequenceNumber, first) >= 0 && stream.CompareSeq(r.SequenceNumber, last) <= 0 {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// TestRecordedEvent handles testdata/sqs-event.json through the adapter
// and the real error sink, against a stream holding records in the
// documented range, and compares the response and the items with
// testdata/sqs-event.golden.json (-update rewrites it).
func TestRecordedEvent(t *testing.T) {
	ev, _ := recordedEvent(t)
	const (
		run    = "run-20261127-042000-3f9a2c1b"
		source = "https://films.example.org/site/chart?page=1"
		shard  = "shardId-000000000001"
	)
	at := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	enc := func(e libevents.Event) []byte {
		b, err := libevents.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	// A movie event, a malformed record and a run event inside the
	// documented range, and a record after it.
	recs := streamReader{
		{ShardID: shard, SequenceNumber: "49601189658422359378836298521827638475320189012309704722", PartitionKey: "alien-1979",
			Data: enc(libevents.NewMovieObserved(run, source, at, "alien-1979", libevents.MovieObserved{
				Title: "Alien", Year: 1979, Rating: libevents.Rating{Value: 8.5}}))},
		{ShardID: shard, SequenceNumber: "49601189658422359378836298522000000000000000000000000000", PartitionKey: "casablanca-1942",
			Data: []byte(`{"specversion":"1.0","id":`)},
		{ShardID: shard, SequenceNumber: "49601189658422359378836298521827638475320189012309704724", PartitionKey: run,
			Data: enc(libevents.NewRunEvent(run, source, at, libevents.ScrapeCompleted{Published: 1, Pages: 1}))},
		{ShardID: shard, SequenceNumber: "99601189658422359378836298522902373528957594348623495186", PartitionKey: "after", Data: []byte("x")},
	}
	for i := range recs {
		recs[i].ArrivalTime = at.Add(-time.Hour)
	}
	mem := embedded.NewMemory(embedded.WithClock(func() time.Time { return time.Date(2019, 11, 14, 1, 0, 0, 0, time.UTC) }))
	h := errorsink.New(recs, mem, errorsink.Options{Logger: slog.New(slog.DiscardHandler)})
	resp, err := lambdaadapter.Handler(h)(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	items, err := mem.ListErrors(context.Background(), 1000, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The listing previews payloads; the golden holds whole items.
	full := make([]store.ErrorItem, 0, len(items.Items))
	for _, e := range items.Items {
		item, err := mem.GetError(context.Background(), e.ID)
		if err != nil {
			t.Fatal(err)
		}
		full = append(full, item)
	}
	got := struct {
		Response events.SQSEventResponse `json:"response"`
		Errors   []store.ErrorItem       `json:"errors"`
	}{resp, full}
	golden := filepath.Join("testdata", "sqs-event.golden.json")
	b, _ := json.MarshalIndent(got, "", "  ")
	b = append(b, '\n')
	if *update {
		if err := os.WriteFile(golden, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(b), "\n")); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
}
