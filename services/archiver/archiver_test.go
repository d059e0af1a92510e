package archiver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/services/archiver"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// recorded is a Firehose batch from a Kinesis stream, as Firehose invokes
// the function: two shards, events (compact and pretty-printed JSON, one
// with non-ASCII text) and a poison record.
func recorded(t testing.TB) events.KinesisFirehoseEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "firehose-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev events.KinesisFirehoseEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

// logs collects what a Handler logs, with whether each line was logged
// with a context carrying the Lambda context (lambdacontext.NewLogger
// takes the request id from there).
type logs struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	json    slog.Handler
	noLamCx int
}

func newLogs() *logs {
	l := &logs{}
	l.json = slog.NewJSONHandler(&l.buf, nil)
	return l
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logs) WithGroup(string) slog.Handler            { return l }

func (l *logs) Handle(ctx context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := lambdacontext.FromContext(ctx); !ok {
		l.noLamCx++
	}
	return l.json.Handle(ctx, r)
}

func (l *logs) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range bytes.Lines(l.buf.Bytes()) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		delete(m, "time")
		out = append(out, m)
	}
	return out
}

func invoke(t *testing.T, h *archiver.Handler, ev events.KinesisFirehoseEvent) events.KinesisFirehoseResponse {
	t.Helper()
	ctx := lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	resp, err := h.Handle(ctx, ev)
	if err != nil {
		t.Fatalf("Handle returned an error: %v", err)
	}
	if len(resp.Records) != len(ev.Records) {
		t.Fatalf("%d records in the response, want %d", len(resp.Records), len(ev.Records))
	}
	for i, r := range resp.Records {
		if r.RecordID != ev.Records[i].RecordID {
			t.Fatalf("response record %d has id %q, want %q (same order)", i, r.RecordID, ev.Records[i].RecordID)
		}
	}
	return resp
}

// want is the archive record of a Firehose record.
func want(r events.KinesisFirehoseEventRecord) archive.Record {
	m := r.KinesisFirehoseRecordMetadata
	return archive.Record{ShardID: m.ShardID, SequenceNumber: m.SequenceNumber, SubsequenceNumber: m.SubsequenceNumber,
		PartitionKey: m.PartitionKey, ArrivalTime: m.ApproximateArrivalTimestamp.UTC(), Data: r.Data}
}

// TestRecordedEventRoundTrips: the recorded event is the shape
// aws-lambda-go's type reads, with nothing left over.
func TestRecordedEventRoundTrips(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "firehose-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(recorded(t))
	if err != nil {
		t.Fatal(err)
	}
	var a, b any
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(again, &b); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("recorded event after a round trip through events.KinesisFirehoseEvent (-file +type):\n%s", diff)
	}
}

// TestRecordedBatch transforms the recorded batch: every record Ok, its
// line decoding to the record with its Kinesis metadata and exact data.
// The response and the lines Firehose would write (before gzip) are
// golden files (rewrite with -update).
func TestRecordedBatch(t *testing.T) {
	ev := recorded(t)
	l := newLogs()
	resp := invoke(t, archiver.New(archiver.Options{Logger: slog.New(l)}), ev)

	var ndjson []byte
	for i, r := range resp.Records {
		if r.Result != events.KinesisFirehoseTransformedStateOk {
			t.Fatalf("record %d: %s, want Ok", i, r.Result)
		}
		if bytes.IndexByte(r.Data, '\n') != len(r.Data)-1 {
			t.Fatalf("record %d: data %q is not exactly one line ending in a newline", i, r.Data)
		}
		got, err := archive.DecodeLine(r.Data)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if diff := cmp.Diff(want(ev.Records[i]), got); diff != "" {
			t.Errorf("record %d's line (-want +got):\n%s", i, diff)
		}
		ndjson = append(ndjson, r.Data...)
	}
	b, err := json.MarshalIndent(resp, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "firehose-response.golden.json", append(b, '\n'))
	golden(t, "archive.golden.ndjson", ndjson)

	wantLogs := []map[string]any{{
		"level": "INFO", "msg": "batch transformed", "invocation_id": ev.InvocationID,
		"delivery_stream_arn": ev.DeliveryStreamArn, "source_stream_arn": ev.SourceKinesisStreamArn,
		"records": 5.0, "ok": 5.0, "failed": 0.0, "bytes_in": float64(sumData(ev)), "bytes_out": float64(len(ndjson)),
		"response_bytes": float64(len(mustMarshal(t, resp)) + 1),
	}}
	if diff := cmp.Diff(wantLogs, l.lines(t), cmpopts.EquateApprox(0, 0)); diff != "" {
		t.Errorf("logs (-want +got):\n%s", diff)
	}
	if l.noLamCx != 0 {
		t.Errorf("%d lines logged without the invocation's context (no request id in Lambda)", l.noLamCx)
	}
}

func sumData(ev events.KinesisFirehoseEvent) int {
	n := 0
	for _, r := range ev.Records {
		n += len(r.Data)
	}
	return n
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(b), string(got)); diff != "" {
		t.Errorf("%s (-golden +got):\n%s", name, diff)
	}
}

func firehoseRecord(i int, data []byte) events.KinesisFirehoseEventRecord {
	arrival := time.Date(2026, 11, 27, 4, 20, 0, 0, time.UTC).Add(time.Duration(i) * time.Millisecond)
	seq := fmt.Sprintf("496011896584223593788362985218276384753201890123%08d", i)
	return events.KinesisFirehoseEventRecord{
		RecordID:                    seq + "000000",
		ApproximateArrivalTimestamp: events.MilliSecondsEpochTime{Time: arrival.Add(time.Second)},
		Data:                        data,
		KinesisFirehoseRecordMetadata: events.KinesisFirehoseRecordMetadata{
			ShardID: fmt.Sprintf("shardId-%012d", i%2), PartitionKey: fmt.Sprintf("movie-%d", i),
			SequenceNumber: seq, ApproximateArrivalTimestamp: events.MilliSecondsEpochTime{Time: arrival},
		},
	}
}

func batch(records ...events.KinesisFirehoseEventRecord) events.KinesisFirehoseEvent {
	return events.KinesisFirehoseEvent{InvocationID: "inv-1", DeliveryStreamArn: "arn:aws:firehose:eu-west-2:123456789012:deliverystream/archive-courseX",
		SourceKinesisStreamArn: "arn:aws:kinesis:eu-west-2:123456789012:stream/events-courseX", Region: "eu-west-2", Records: records}
}

// Records that cannot be lines are ProcessingFailed, each logged with its
// reason; the others of the batch are archived.
func TestRecordsThatCannotBeLines(t *testing.T) {
	noMeta := firehoseRecord(1, []byte(`{"direct":"put"}`))
	noMeta.KinesisFirehoseRecordMetadata = events.KinesisFirehoseRecordMetadata{}
	badSeq := firehoseRecord(2, []byte(`{}`))
	badSeq.KinesisFirehoseRecordMetadata.SequenceNumber = "not-a-number"
	noTime := firehoseRecord(3, []byte(`{}`))
	noTime.KinesisFirehoseRecordMetadata.ApproximateArrivalTimestamp = events.MilliSecondsEpochTime{}
	noTime.ApproximateArrivalTimestamp = events.MilliSecondsEpochTime{}
	huge := firehoseRecord(4, bytes.Repeat([]byte{0xff}, 1600<<10)) // a large record: over 2 MiB in base64
	firehoseTime := firehoseRecord(5, []byte(`{}`))                 // no Kinesis arrival: Firehose's is kept
	firehoseTime.KinesisFirehoseRecordMetadata.ApproximateArrivalTimestamp = events.MilliSecondsEpochTime{}
	good := firehoseRecord(6, []byte(`{"ok":true}`))

	ev := batch(noMeta, badSeq, noTime, huge, firehoseTime, good)
	l := newLogs()
	resp := invoke(t, archiver.New(archiver.Options{Logger: slog.New(l)}), ev)

	var results []string
	for _, r := range resp.Records {
		results = append(results, r.Result)
		if r.Result != events.KinesisFirehoseTransformedStateOk && r.Data != nil {
			t.Errorf("record %s failed but carries data", r.RecordID)
		}
	}
	failed, ok := events.KinesisFirehoseTransformedStateProcessingFailed, events.KinesisFirehoseTransformedStateOk
	if diff := cmp.Diff([]string{failed, failed, failed, failed, ok, ok}, results); diff != "" {
		t.Fatalf("results (-want +got):\n%s", diff)
	}
	got, err := archive.DecodeLine(resp.Records[4].Data)
	if err != nil || !got.ArrivalTime.Equal(firehoseTime.ApproximateArrivalTimestamp.Time) {
		t.Errorf("record without a Kinesis arrival time: %v, %v; want Firehose's arrival time", got.ArrivalTime, err)
	}

	type failure struct{ RecordID, Reason, Error string }
	var gotFailures []failure
	for _, line := range l.lines(t) {
		if line["msg"] == "batch transformed" {
			if line["failed"] != 4.0 || line["ok"] != 2.0 {
				t.Errorf("summary %v, want 4 failed and 2 ok", line)
			}
			continue
		}
		if line["level"] != "WARN" || line["shard_id"] == nil || line["sequence_number"] == nil {
			t.Errorf("failure log %v lacks its level, shard or sequence number", line)
		}
		gotFailures = append(gotFailures, failure{line["record_id"].(string), line["reason"].(string), line["error"].(string)})
	}
	wantFailures := []failure{
		{noMeta.RecordID, archiver.ReasonNoMetadata, "no kinesisRecordMetadata"},
		{badSeq.RecordID, archiver.ReasonInvalid, `sequenceNumber "not-a-number" is not 1 to 128 decimal digits`},
		{noTime.RecordID, archiver.ReasonInvalid, "arrivalTime is zero"},
		{huge.RecordID, archiver.ReasonLineTooLong, "archive line too long"},
	}
	if diff := cmp.Diff(wantFailures, gotFailures, cmp.Comparer(func(a, b failure) bool {
		return a.RecordID == b.RecordID && a.Reason == b.Reason && (strings.Contains(a.Error, b.Error) || strings.Contains(b.Error, a.Error))
	})); diff != "" {
		t.Errorf("failures logged (-want +got):\n%s", diff)
	}
}

// runtimeSize is the size of the response as Lambda's Go runtime sends
// it: an encoder without HTML escaping, and a newline.
func runtimeSize(t *testing.T, resp events.KinesisFirehoseResponse) int {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(resp); err != nil {
		t.Fatal(err)
	}
	return b.Len()
}

// A batch whose lines do not all fit in the response: the records that
// would overflow it are ProcessingFailed, the rest Ok, the response within
// the limit — and as full as it can be.
func TestResponseSizeLimit(t *testing.T) {
	const limit = 100_000
	var recs []events.KinesisFirehoseEventRecord
	for i := range 12 {
		size := 9000
		if i == 9 {
			size = 100 // a small one still fits after a big one did not
		}
		recs = append(recs, firehoseRecord(i, bytes.Repeat([]byte{0xfe, byte(i)}, size/2)))
	}
	l := newLogs()
	resp := invoke(t, archiver.New(archiver.Options{Logger: slog.New(l), MaxResponseBytes: limit}), batch(recs...))
	var results []string
	for _, r := range resp.Records {
		results = append(results, r.Result[:2])
	}
	if diff := cmp.Diff([]string{"Ok", "Ok", "Ok", "Ok", "Ok", "Pr", "Pr", "Pr", "Pr", "Ok", "Pr", "Pr"}, results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	size := runtimeSize(t, resp)
	if size > limit {
		t.Errorf("response is %d bytes, over the %d limit", size, limit)
	}
	// As full as it can be: the first failed record's line did not fit.
	first := resp.Records[5]
	first.Result, first.Data = events.KinesisFirehoseTransformedStateOk, bytes.Repeat([]byte{'x'}, archive.LineSize(want(recs[5])))
	grown := resp
	grown.Records = append([]events.KinesisFirehoseResponseRecord{}, resp.Records...)
	grown.Records[5] = first
	if runtimeSize(t, grown) <= limit {
		t.Errorf("record 5 was failed, but its line fits: %d bytes with it", runtimeSize(t, grown))
	}
	reasons := 0
	for _, line := range l.lines(t) {
		if line["reason"] == archiver.ReasonResponseFull {
			reasons++
		}
	}
	if reasons != 6 {
		t.Errorf("%d records logged as %s, want 6", reasons, archiver.ReasonResponseFull)
	}
}

// With Lambda's real limit: three records of 1,000 KiB of binary data fill
// 5.6 MB and fit; a fourth does not, and fails alone.
func TestLargestRecordsAgainstTheLambdaLimit(t *testing.T) {
	var recs []events.KinesisFirehoseEventRecord
	for i := range 4 {
		recs = append(recs, firehoseRecord(i, bytes.Repeat([]byte{0x80 + byte(i)}, 1000<<10)))
	}
	resp := invoke(t, archiver.New(archiver.Options{}), batch(recs...))
	var results []string
	for _, r := range resp.Records {
		results = append(results, r.Result)
	}
	ok, failed := events.KinesisFirehoseTransformedStateOk, events.KinesisFirehoseTransformedStateProcessingFailed
	if diff := cmp.Diff([]string{ok, ok, ok, failed}, results); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if size := runtimeSize(t, resp); size > archiver.DefaultMaxResponseBytes {
		t.Errorf("response is %d bytes, over %d", size, archiver.DefaultMaxResponseBytes)
	}
}

// event returns a realistic movie.observed event of about 600 bytes.
func event(i int) []byte {
	return fmt.Appendf(nil, `{"specversion":"1.0","id":"%08x-75eb-5e67-8998-ecdd34e77708","source":"https://films.example.org/site/chart?page=%d",`+
		`"type":"movie.observed","schemaversion":2,"runid":"run-20261127-042000-3f9a2c1b","time":"2026-11-27T04:20:00.123Z",`+
		`"subject":"film-%d","datacontenttype":"application/json","data":{"title":"Film Number %d","certificate":"PG-13",`+
		`"tagline":"Seen on the sample chart","year":%d,"rank":%d,"rating":{"value":8.%d,"votes":%d},"director":"Director %d",`+
		`"genres":["Crime","Drama"],"runtimeMinutes":%d,"detailUrl":"https://films.example.org/site/films/film-%d"}}`,
		i, 1+i%5, i, i, 1950+i%70, 1+i%250, i%10, 10000+i*37, i%300, 80+i%100, i)
}

// fullBatch returns BufferSizeMB of records made by data.
func fullBatch(data func(int) []byte) events.KinesisFirehoseEvent {
	var recs []events.KinesisFirehoseEventRecord
	for n, i := 0, 0; n < archiver.BufferSizeMB<<20; i++ {
		d := data(i)
		recs = append(recs, firehoseRecord(i, d))
		n += len(d)
	}
	return batch(recs...)
}

// A full processor buffer (BufferSizeMB, as infra configures Firehose) of
// realistic events, or of binary records, always fits the response.
func TestAFullBufferFits(t *testing.T) {
	for name, data := range map[string]func(int) []byte{
		"events of 600 bytes":     event,
		"binary records of 1 KiB": func(i int) []byte { return bytes.Repeat([]byte{0xff, byte(i)}, 512) },
	} {
		t.Run(name, func(t *testing.T) {
			ev := fullBatch(data)
			resp := invoke(t, archiver.New(archiver.Options{}), ev)
			for i, r := range resp.Records {
				if r.Result != events.KinesisFirehoseTransformedStateOk {
					t.Fatalf("record %d of %d: %s", i, len(resp.Records), r.Result)
				}
			}
			size := runtimeSize(t, resp)
			t.Logf("%d records, %d bytes of data: a %d-byte response (%.2fx)", len(ev.Records), sumData(ev), size, float64(size)/float64(sumData(ev)))
		})
	}
}

func TestEmptyBatch(t *testing.T) {
	resp := invoke(t, archiver.New(archiver.Options{}), batch())
	if diff := cmp.Diff(`{"records":[]}`, string(mustMarshal(t, resp))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// The response's size is counted exactly, whatever the record ids hold.
func TestResponseSizeIsCountedExactly(t *testing.T) {
	ids := []string{"49601189658422359378836298521827638475320189012309704722000000", `odd "id" <&> é \u2028`, "\x01", ""}
	var recs []events.KinesisFirehoseEventRecord
	for i, id := range ids {
		r := firehoseRecord(i, []byte(`{"i":1}`))
		r.RecordID = id
		recs = append(recs, r)
	}
	noMeta := firehoseRecord(9, nil)
	noMeta.KinesisFirehoseRecordMetadata = events.KinesisFirehoseRecordMetadata{}
	noMeta.RecordID = "<failed>"
	recs = append(recs, noMeta)
	l := newLogs()
	resp := invoke(t, archiver.New(archiver.Options{Logger: slog.New(l)}), batch(recs...))
	lines := l.lines(t)
	summary := lines[len(lines)-1]
	if got, want := summary["response_bytes"], float64(len(mustMarshal(t, resp))+1); got != want {
		t.Errorf("response_bytes logged %v, the response is %v bytes with its newline", got, want)
	}
}
