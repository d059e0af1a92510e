package awsbackend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream/streamtest"
	"github.com/scrape-pipeline/scrape-pipeline/services/errorsink"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/esm"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/sqs"
)

func TestMain(m *testing.M) { os.Exit(awsemu.Main(m)) }

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// standardConfig points the SDK's standard settings (AWS_ENDPOINT_URL_*,
// AWS_REGION, static keys) at the emulators and loads the config the way
// devstack does.
func standardConfig(t *testing.T) aws.Config {
	t.Helper()
	for _, kv := range awsemu.All(t).Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	cfg, err := LoadConfig(testCtx(t), "", "")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// suffix is a fresh stack suffix (at most 32 characters).
func suffix(t *testing.T) string {
	t.Helper()
	n := awsemu.Name(t, "s")
	return "t" + n[len(n)-14:]
}

func TestOpenWithoutCreateNamesEveryMissingResource(t *testing.T) {
	cfg := standardConfig(t)
	names := NamesFor(suffix(t))
	_, err := Open(testCtx(t), cfg, names, false)
	if !errors.Is(err, ErrMissing) {
		t.Fatalf("Open without create on fresh names = %v, want ErrMissing", err)
	}
	for _, want := range []string{"stream " + names.Stream, "table " + names.Tables.Movies, "table " + names.Tables.Runs,
		"table " + names.Tables.Errors, "queue " + names.Queue, "queue " + names.DLQ, "--create"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestOpenRefusesBadNamesAndOptions(t *testing.T) {
	good := NamesFor("dev")
	tests := []struct {
		name  string
		names Names
		opts  []Option
		want  []string
	}{
		{"bad suffix", NamesFor("-x"), nil, []string{`suffix "-x"`}},
		{"empty names", Names{Suffix: "dev", Tables: good.Tables}, nil, []string{"stream name is empty", "queue name is empty", "dead-letter queue name is empty"}},
		{"tables not the suffix's", func() Names { n := good; n.Tables.Movies = "films"; return n }(), nil, []string{"want the suffix's"}},
		{"queue is its own DLQ", func() Names { n := good; n.DLQ = n.Queue; return n }(), nil, []string{"both"}},
		{"options", good, []Option{WithShards(0), WithPollInterval(0), WithCallTimeout(-1), WithMaxReceiveCount(0)},
			[]string{"shards 0", "poll interval 0s", "call timeout -1ns", "max receive count 0"}},
		{"retention under Kinesis's least", good, []Option{WithRetention(time.Hour)}, []string{"retention 1h0m0s: Kinesis keeps records 24h0m0s..168h0m0s"}},
		{"retention past the markers' life", good, []Option{WithRetention(8 * 24 * time.Hour)}, []string{"retention 192h0m0s"}},
		{"retention in part hours", good, []Option{WithRetention(36*time.Hour + time.Minute)}, []string{"retention 36h1m0s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No emulator needed: validation happens before any call.
			_, err := Open(t.Context(), aws.Config{Region: "eu-west-2"}, tc.names, true, tc.opts...)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestOpenCreatesEverythingOnceAndReopens(t *testing.T) {
	cfg := standardConfig(t)
	ctx := testCtx(t)
	names := NamesFor(suffix(t))
	b, err := Open(ctx, cfg, names, true, WithShards(3), WithRetention(72*time.Hour), WithMaxReceiveCount(4), WithSerialTables())
	if err != nil {
		t.Fatalf("Open with create: %v", err)
	}
	// Again: everything exists now, which is fine.
	if _, err := Open(ctx, cfg, names, true, WithShards(3)); err != nil {
		t.Fatalf("Open with create on existing resources: %v", err)
	}
	again, err := Open(ctx, cfg, names, false)
	if err != nil {
		t.Fatalf("Open without create on existing resources: %v", err)
	}

	got := map[string]any{
		"stream": again.Stream.Name(), "shards": len(again.Stream.Shards()),
		"queue": again.Queue.Name(), "dlq": again.DLQ.Name(),
		"same arn": again.Stream.ARN() == b.Stream.ARN() && strings.HasSuffix(b.Stream.ARN(), ":stream/"+names.Stream),
	}
	want := map[string]any{"stream": names.Stream, "shards": 3, "queue": names.Queue, "dlq": names.DLQ, "same arn": true}
	sum, err := kinesis.NewFromConfig(cfg).DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(names.Stream)})
	if err != nil {
		t.Fatal(err)
	}
	got["retention hours"], want["retention hours"] = aws.ToInt32(sum.StreamDescriptionSummary.RetentionPeriodHours), int32(72)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("opened resources (-want +got):\n%s", diff)
	}

	// The tables answer as a store.
	if _, err := b.Tables.GetRun(ctx, "no-such-run"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRun on the new tables = %v, want store.ErrNotFound", err)
	}

	// The on-failure queue redrives to the DLQ after 4 receives, and both
	// keep messages as long as the contract says.
	attrs, err := awssqs.NewFromConfig(cfg).GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
		QueueUrl:       aws.String(b.Queue.URL()),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameRedrivePolicy, sqstypes.QueueAttributeNameMessageRetentionPeriod},
	})
	if err != nil {
		t.Fatal(err)
	}
	var policy map[string]any
	if err := json.Unmarshal([]byte(attrs.Attributes["RedrivePolicy"]), &policy); err != nil {
		t.Fatalf("RedrivePolicy %q: %v", attrs.Attributes["RedrivePolicy"], err)
	}
	if fmt.Sprint(policy["deadLetterTargetArn"]) != b.DLQ.ARN() || fmt.Sprint(policy["maxReceiveCount"]) != "4" {
		t.Errorf("RedrivePolicy = %v, want the DLQ %s after 4 receives", policy, b.DLQ.ARN())
	}
	if got, want := attrs.Attributes["MessageRetentionPeriod"], fmt.Sprint(int(contract.OnFailureQueueRetention.Seconds())); got != want {
		t.Errorf("MessageRetentionPeriod = %s, want %s", got, want)
	}
}

// newStream creates a fresh stream on kinesis-mock and opens it.
func newStream(t *testing.T, shards int, opts ...Option) (*Stream, *kinesis.Client) {
	t.Helper()
	cfg := awsemu.Kinesis(t)
	client := kinesis.NewFromConfig(cfg)
	name := awsemu.Name(t, "events")
	awsemu.CreateStream(t, cfg, name, int32(shards))
	s, err := OpenStream(testCtx(t), client, name, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s, client
}

// readAllRaw reads every shard from its trim horizon with the raw client,
// independently of Stream.
func readAllRaw(ctx context.Context, client *kinesis.Client, arn string) ([]stream.Stored, error) {
	shards, err := client.ListShards(ctx, &kinesis.ListShardsInput{StreamARN: aws.String(arn)})
	if err != nil {
		return nil, err
	}
	var all []stream.Stored
	for _, sh := range shards.Shards {
		it, err := client.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamARN: aws.String(arn), ShardId: sh.ShardId, ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			return nil, err
		}
		for iter := it.ShardIterator; iter != nil; {
			out, err := client.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, StreamARN: aws.String(arn)})
			if err != nil {
				return nil, err
			}
			for _, r := range out.Records {
				all = append(all, stream.Stored{
					ShardID: aws.ToString(sh.ShardId), SequenceNumber: aws.ToString(r.SequenceNumber),
					PartitionKey: aws.ToString(r.PartitionKey), Data: r.Data, ArrivalTime: aws.ToTime(r.ApproximateArrivalTimestamp),
				})
			}
			if len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0 {
				break
			}
			iter = out.NextShardIterator
		}
	}
	return all, nil
}

func TestStreamContract(t *testing.T) {
	streamtest.Run(t, func(t *testing.T) streamtest.Stream {
		s, client := newStream(t, 2)
		return streamtest.Stream{
			Publisher: s, Reader: s, ARN: s.ARN(),
			ReadAll: func(ctx context.Context) ([]stream.Stored, error) { return readAllRaw(ctx, client, s.ARN()) },
		}
	})
}

func publish(t *testing.T, p stream.Publisher, n, keys int, prefix string) []stream.Record {
	t.Helper()
	recs := make([]stream.Record, n)
	for i := range recs {
		recs[i] = stream.Record{PartitionKey: fmt.Sprintf("%s-%02d", prefix, i%keys), Data: fmt.Appendf(nil, "%s-%03d", prefix, i)}
	}
	res, err := p.Publish(t.Context(), recs)
	if err != nil || res.Published != n {
		t.Fatalf("Publish: %+v, %v", res, err)
	}
	return recs
}

// readShard reads shard through Records as a mapping does: max at a time,
// each call after the last record of the one before, until one is empty.
func readShard(t *testing.T, s *Stream, shard, after string, limit int) []stream.Stored {
	t.Helper()
	var got []stream.Stored
	for {
		recs, err := s.Records(shard, after, limit)
		if err != nil {
			t.Fatalf("Records(%s, %q, %d): %v", shard, after, limit, err)
		}
		if len(recs) > limit {
			t.Fatalf("Records(%s, %q, %d) returned %d records", shard, after, limit, len(recs))
		}
		if len(recs) == 0 {
			return got
		}
		got = append(got, recs...)
		after = recs[len(recs)-1].SequenceNumber
	}
}

func TestStreamRecordsLatestAndPutRecord(t *testing.T) {
	s, client := newStream(t, 2)
	ctx := testCtx(t)
	for _, sh := range s.Shards() {
		if latest, err := s.Latest(sh); err != nil || latest != "" {
			t.Errorf("Latest(%s) of an empty shard = %q, %v; want \"\"", sh, latest, err)
		}
	}
	publish(t, s, 60, 12, "a")
	all, err := readAllRaw(ctx, client, s.ARN())
	if err != nil {
		t.Fatal(err)
	}
	_, want := byShard(all)
	if len(want) != 2 {
		t.Fatalf("60 records over 12 keys landed on %d shards, want 2", len(want))
	}
	for _, sh := range s.Shards() {
		got := readShard(t, s, sh, "", 7)
		if diff := cmp.Diff(want[sh], got, ignoreArrival); diff != "" {
			t.Errorf("Records of %s, 7 at a time (-want +got):\n%s", sh, diff)
		}
		latest, err := s.Latest(sh)
		if err != nil || latest != want[sh][len(want[sh])-1].SequenceNumber {
			t.Errorf("Latest(%s) = %q, %v; want the last record's %s", sh, latest, err, want[sh][len(want[sh])-1].SequenceNumber)
		}
		// Asking again from a position read before is served in order.
		mid := want[sh][len(want[sh])/2]
		if got := readShard(t, s, sh, mid.SequenceNumber, 1000); !cmp.Equal(want[sh][len(want[sh])/2+1:], got, ignoreArrival) {
			t.Errorf("Records of %s after %s: got %d records, want the %d after it", sh, mid.SequenceNumber, len(got), len(want[sh])-len(want[sh])/2-1)
		}
	}

	// A mapping filling its batching window asks from one position again:
	// it sees the records it saw plus the new ones.
	sh := s.Shards()[0]
	last := want[sh][len(want[sh])-1].SequenceNumber
	if recs, err := s.Records(sh, last, 10); err != nil || len(recs) != 0 {
		t.Fatalf("Records after the last record = %d records, %v; want none", len(recs), err)
	}
	notify := s.Notify()
	shardID, seq, err := s.PutRecord(ctx, stream.Record{PartitionKey: want[sh][0].PartitionKey, Data: []byte("put-1")})
	if err != nil || shardID != sh {
		t.Fatalf("PutRecord = %s, %s, %v; want shard %s", shardID, seq, err, sh)
	}
	select {
	case <-notify:
	default:
		t.Error("PutRecord did not close the Notify channel")
	}
	if _, _, err := s.PutRecord(ctx, stream.Record{PartitionKey: want[sh][0].PartitionKey, Data: []byte("put-2")}); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Records(sh, last, 10)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"put-1", "put-2"}, dataOf(recs)); diff != "" {
		t.Errorf("Records after two puts (-want +got):\n%s", diff)
	}
	if recs[0].SequenceNumber != seq || recs[0].ShardID != sh || recs[0].ArrivalTime.IsZero() {
		t.Errorf("first put read back as %+v, want sequence number %s on %s with an arrival time", recs[0], seq, sh)
	}
	if latest, err := s.Latest(sh); err != nil || latest != recs[1].SequenceNumber {
		t.Errorf("Latest after the puts = %q, %v; want %s", latest, err, recs[1].SequenceNumber)
	}
}

func TestStreamRefusesBadCalls(t *testing.T) {
	s, _ := newStream(t, 1)
	sh := s.Shards()[0]
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"unknown shard", func() error { _, err := s.Records("shardId-000000000099", "", 1); return err }, "no such shard"},
		{"max 0", func() error { _, err := s.Records(sh, "", 0); return err }, "want at least 1"},
		{"latest of an unknown shard", func() error { _, err := s.Latest("nope"); return err }, "no such shard"},
		{"empty key", func() error { _, _, err := s.PutRecord(t.Context(), stream.Record{Data: []byte("x")}); return err }, "partition key"},
		{"key too long", func() error {
			_, _, err := s.PutRecord(t.Context(), stream.Record{PartitionKey: strings.Repeat("k", 257), Data: []byte("x")})
			return err
		}, "partition key"},
		{"record too big", func() error {
			_, _, err := s.PutRecord(t.Context(), stream.Record{PartitionKey: "k", Data: make([]byte, 1<<20)})
			return err
		}, "exceed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestOpenStreamThatDoesNotExist(t *testing.T) {
	client := kinesis.NewFromConfig(awsemu.Kinesis(t))
	name := awsemu.Name(t, "nope")
	_, err := OpenStream(testCtx(t), client, name)
	if !errors.Is(err, ErrMissing) || !strings.Contains(err.Error(), name) {
		t.Errorf("OpenStream of a missing stream = %v, want ErrMissing naming it", err)
	}
}

func dataOf(recs []stream.Stored) []string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Data))
	}
	return out
}

func byShard(all []stream.Stored) ([]string, map[string][]stream.Stored) {
	var order []string
	m := map[string][]stream.Stored{}
	for _, r := range all {
		if _, ok := m[r.ShardID]; !ok {
			order = append(order, r.ShardID)
		}
		m[r.ShardID] = append(m[r.ShardID], r)
	}
	return order, m
}

// ignoreArrival compares records without their arrival times, which differ
// in precision between reads.
var ignoreArrival = cmp.Transformer("noArrival", func(s stream.Stored) stream.Stored {
	s.ArrivalTime = time.Time{}
	return s
})

// newQueues creates a fresh queue and DLQ on moto_server and opens both.
func newQueues(t *testing.T, maxReceiveCount int) (q, dlq *Queue) {
	t.Helper()
	ctx := testCtx(t)
	client := awssqs.NewFromConfig(awsemu.Moto(t))
	name, dlqName := awsemu.Name(t, "onfailure"), awsemu.Name(t, "dlq")
	if err := CreateQueues(ctx, client, name, dlqName, maxReceiveCount); err != nil {
		t.Fatal(err)
	}
	var err error
	if q, err = OpenQueue(ctx, client, name, WithPollInterval(20*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if dlq, err = OpenQueue(ctx, client, dlqName); err != nil {
		t.Fatal(err)
	}
	return q, dlq
}

func depth(t *testing.T, q *Queue) [2]int {
	t.Helper()
	v, f, err := q.Depth()
	if err != nil {
		t.Fatal(err)
	}
	return [2]int{v, f}
}

// pollPause is the pause between two receives of a test waiting for a
// message to come back.
const pollPause = 25 * time.Millisecond

func TestQueueSendReceiveDeleteDepth(t *testing.T) {
	q, dlq := newQueues(t, 2)
	ctx := testCtx(t)
	if !strings.HasSuffix(q.ARN(), ":"+q.Name()) || q.URL() == "" {
		t.Errorf("queue ARN %q, URL %q: want an ARN ending in its name and a URL", q.ARN(), q.URL())
	}
	notify := q.Notify()
	sentAt := time.Now()
	for _, body := range []string{"m1", "m2", "m3"} {
		if err := q.Send(ctx, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-notify:
	default:
		t.Error("Send did not close the Notify channel")
	}
	if diff := cmp.Diff([2]int{3, 0}, depth(t, q)); diff != "" {
		t.Errorf("depth after 3 sends (-want +got):\n%s", diff)
	}

	var got []string
	var msgs = map[string]string{} // body → receipt handle
	for len(got) < 3 {
		batch, err := q.Receive(10, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			t.Fatalf("receive returned nothing after %v", got)
		}
		for _, m := range batch {
			got = append(got, m.Body)
			msgs[m.Body] = m.ReceiptHandle
			if m.ID == "" || m.ReceiptHandle == "" || m.ReceiveCount != 1 ||
				m.SentAt.Before(sentAt.Add(-time.Minute)) || m.FirstReceiveAt.Before(m.SentAt.Add(-time.Second)) {
				t.Errorf("received %+v: want an id, a receipt handle, receive count 1, sent and first-receive times", m)
			}
		}
	}
	if diff := cmp.Diff([2]int{0, 3}, depth(t, q)); diff != "" {
		t.Errorf("depth with 3 in flight (-want +got):\n%s", diff)
	}
	for _, body := range []string{"m1", "m2", "m3"} {
		if err := q.Delete(msgs[body]); err != nil {
			t.Fatalf("Delete(%s): %v", body, err)
		}
	}
	if diff := cmp.Diff([2]int{0, 0}, depth(t, q)); diff != "" {
		t.Errorf("depth after deleting all (-want +got):\n%s", diff)
	}

	// A message received and not deleted comes back with its count up,
	// and after maxReceiveCount receives it moves to the DLQ.
	if err := q.Send(ctx, []byte("again")); err != nil {
		t.Fatal(err)
	}
	var counts []int
	for deadline := time.Now().Add(30 * time.Second); len(counts) < 2 && time.Now().Before(deadline); {
		batch, err := q.Receive(1, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range batch {
			counts = append(counts, m.ReceiveCount)
		}
		if len(batch) == 0 {
			// The message comes back after a visibility of at least a
			// second: receiving again at once only keeps moto busy.
			time.Sleep(pollPause)
		}
	}
	if diff := cmp.Diff([]int{1, 2}, counts); diff != "" {
		t.Errorf("receive counts of a message not deleted (-want +got):\n%s", diff)
	}
	var moved []string
	for deadline := time.Now().Add(30 * time.Second); len(moved) == 0 && time.Now().Before(deadline); {
		if batch, err := q.Receive(1, 0); err != nil || len(batch) > 0 {
			t.Fatalf("third receive = %+v, %v; want nothing (moved to the DLQ)", batch, err)
		}
		batch, err := dlq.Receive(10, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		moved = append(moved, dataOfMsgs(batch)...)
		if len(moved) == 0 {
			time.Sleep(pollPause)
		}
	}
	if diff := cmp.Diff([]string{"again"}, moved); diff != "" {
		t.Errorf("dead-letter queue (-want +got):\n%s", diff)
	}
}

func TestQueueRefusesBadCalls(t *testing.T) {
	q, _ := newQueues(t, 5)
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"empty body", func() error { return q.Send(t.Context(), nil) }, "want 1..262144"},
		{"body too big", func() error { return q.Send(t.Context(), make([]byte, 256<<10+1)) }, "want 1..262144"},
		{"receive 0", func() error { _, err := q.Receive(0, time.Second); return err }, "want at least 1"},
		{"visibility too long", func() error { _, err := q.Receive(1, 13*time.Hour); return err }, "visibility"},
		{"empty receipt handle", func() error { return q.Delete("") }, "empty receipt handle"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.call()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func dataOfMsgs(msgs []sqs.Message) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Body)
	}
	return out
}

// memCheckpoints is an in-memory esm.Checkpoints.
type memCheckpoints struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *memCheckpoints) Checkpoint(mapping, shard string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[mapping+"/"+shard], nil
}

func (c *memCheckpoints) SetCheckpoint(mapping, shard, seq string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]string{}
	}
	c.m[mapping+"/"+shard] = seq
	return nil
}

// The backends satisfy the ports devstack's mappings declare.
var (
	_ esm.KinesisSource = (*Stream)(nil)
	_ esm.SQSSource     = (*Queue)(nil)
	_ esm.Destination   = (*Queue)(nil)
)

// TestKinesisMappingOverTheBackends runs devstack's Kinesis event source
// mapping over a kinesis-mock stream with the on-failure destination on a
// moto_server queue: every good record is handled once, in per-key order,
// and the poison record ends, alone, in the on-failure queue.
func TestKinesisMappingOverTheBackends(t *testing.T) {
	s, _ := newStream(t, 2, WithPollInterval(20*time.Millisecond))
	q, _ := newQueues(t, 5)
	ctx := testCtx(t)

	var mu sync.Mutex
	handled := map[string][]string{} // partition key → data, in handling order
	handler := func(_ context.Context, ev lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
		for _, r := range ev.Records {
			if string(r.Kinesis.Data) == "poison" {
				return lambdaevents.KinesisEventResponse{}, errors.New("poison record")
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for _, r := range ev.Records {
			handled[r.Kinesis.PartitionKey] = append(handled[r.Kinesis.PartitionKey], string(r.Kinesis.Data))
		}
		return lambdaevents.KinesisEventResponse{}, nil
	}
	set := contract.ProcessorMapping
	set.BatchSize, set.MaximumBatchingWindowInSeconds, set.MaximumRetryAttempts = 4, 0, 1
	set.FunctionResponseTypes = nil
	m, err := esm.NewKinesis(s, &memCheckpoints{}, set, handler, q, esm.Options{
		Name: "processor", FunctionARN: "arn:aws:lambda:eu-west-2:000000000000:function:processor",
		Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.RunWindow(runCtx, 0) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("mapping Run: %v", err)
		}
	}()

	want := map[string][]string{}
	var recs []stream.Record
	for i := range 40 {
		key := fmt.Sprintf("k%d", i%6)
		data := fmt.Sprintf("r%02d", i)
		recs = append(recs, stream.Record{PartitionKey: key, Data: []byte(data)})
		want[key] = append(want[key], data)
	}
	publishOK(t, s, recs[:20])
	shard, poisonSeq, err := s.PutRecord(ctx, stream.Record{PartitionKey: "poison-key", Data: []byte("poison")})
	if err != nil {
		t.Fatal(err)
	}
	publishOK(t, s, recs[20:])

	// Caught up: every shard's checkpoint is its latest record.
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := m.Status()
		if err != nil {
			t.Fatal(err)
		}
		caught := true
		for _, sh := range st {
			caught = caught && sh.Latest != "" && sh.Checkpoint == sh.Latest && sh.BatchesInFlight == 0
		}
		if caught {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("mapping did not catch up: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	if diff := cmp.Diff(want, handled); diff != "" {
		t.Errorf("records handled per key (-want +got):\n%s", diff)
	}
	mu.Unlock()

	var failures []errorsink.OnFailure
	for deadline := time.Now().Add(20 * time.Second); len(failures) == 0 && time.Now().Before(deadline); {
		msgs, err := q.Receive(10, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for _, msg := range msgs {
			rec, err := errorsink.DecodeOnFailure([]byte(msg.Body))
			if err != nil {
				t.Fatalf("on-failure message %q: %v", msg.Body, err)
			}
			failures = append(failures, rec)
		}
		if len(failures) == 0 {
			time.Sleep(pollPause)
		}
	}
	if len(failures) != 1 {
		t.Fatalf("on-failure records = %+v, want one", failures)
	}
	info := failures[0].KinesisBatchInfo
	got := [5]string{info.ShardID, info.StartSequenceNumber, info.EndSequenceNumber, fmt.Sprint(info.BatchSize), info.StreamARN}
	if diff := cmp.Diff([5]string{shard, poisonSeq, poisonSeq, "1", s.ARN()}, got); diff != "" {
		t.Errorf("KinesisBatchInfo [shard, start, end, size, stream] (-want +got):\n%s", diff)
	}
}

func publishOK(t *testing.T, p stream.Publisher, recs []stream.Record) {
	t.Helper()
	res, err := p.Publish(t.Context(), recs)
	if err != nil || res.Published != len(recs) {
		t.Fatalf("Publish: %+v, %v", res, err)
	}
}

// TestRecreatedStreamIsTold: a stream deleted and created again under its
// name has the same ARN but another creation time, which devstack's
// checkpoints are named by (an emulator restarted keeps no stream).
func TestRecreatedStreamIsTold(t *testing.T) {
	ctx := testCtx(t)
	client := kinesis.NewFromConfig(awsemu.Kinesis(t))
	name := awsemu.Name(t, "again")
	open := func() *Stream {
		t.Helper()
		if err := CreateStream(ctx, client, name, 1, minRetention); err != nil {
			t.Fatal(err)
		}
		s, err := OpenStream(ctx, client, name)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	first := open()
	if _, err := client.DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String(name)}); err != nil {
		t.Fatal(err)
	}
	for {
		_, err := OpenStream(ctx, client, name)
		if errors.Is(err, ErrMissing) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("stream %s never went away: %v", name, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	second := open()
	if first.Created().IsZero() || first.ARN() != second.ARN() || !second.Created().After(first.Created()) {
		t.Errorf("first %s created %v, second %s created %v; want one ARN, a later creation time",
			first.ARN(), first.Created(), second.ARN(), second.Created())
	}
}
