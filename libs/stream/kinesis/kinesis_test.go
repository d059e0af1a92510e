package kinesis_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	kinesisadapter "github.com/scrape-pipeline/scrape-pipeline/libs/stream/kinesis"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream/streamtest"
)

func TestMain(m *testing.M) { os.Exit(awsemu.Main(m)) }

// fastOpts keep the fake tests quick: tiny backoffs.
var fastOpts = kinesisadapter.Options{StreamName: "fake", MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 4 * time.Millisecond}

func newAdapter(t testing.TB, client kinesisadapter.API, opts kinesisadapter.Options) *kinesisadapter.Stream {
	t.Helper()
	s, err := kinesisadapter.New(client, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContractOnFake(t *testing.T) {
	streamtest.Run(t, func(t *testing.T) streamtest.Stream {
		f := newFake(3)
		s := newAdapter(t, f, fastOpts)
		return streamtest.Stream{
			Publisher:   s,
			Reader:      s,
			ARN:         f.arn,
			ReadAll:     f.readAll,
			Refuse:      f.refuseKey,
			RetryBudget: fastOpts.MaxAttempts,
			Trim:        f.trim,
		}
	})
}

func TestContractOnKinesisMock(t *testing.T) {
	cfg := awsemu.Kinesis(t)
	client := kinesis.NewFromConfig(cfg)
	streamtest.Run(t, func(t *testing.T) streamtest.Stream {
		name := awsemu.Name(t, "events")
		awsemu.CreateStream(t, cfg, name, 2)
		sum, err := client.DescribeStreamSummary(t.Context(), &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			t.Fatal(err)
		}
		arn := aws.ToString(sum.StreamDescriptionSummary.StreamARN)
		s := newAdapter(t, client, kinesisadapter.Options{StreamARN: arn})
		return streamtest.Stream{
			Publisher: s,
			Reader:    s,
			ARN:       arn,
			ReadAll:   func(ctx context.Context) ([]stream.Stored, error) { return readAllKinesis(ctx, client, arn) },
		}
	})
}

// readAllKinesis reads every shard of the stream from its trim horizon with
// the raw client, independently of the adapter.
func readAllKinesis(ctx context.Context, client *kinesis.Client, arn string) ([]stream.Stored, error) {
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
		iter := it.ShardIterator
		for iter != nil {
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

func distinct(n int) []stream.Record {
	recs := make([]stream.Record, n)
	for i := range recs {
		recs[i] = stream.Record{PartitionKey: fmt.Sprintf("movie-%04d", i), Data: fmt.Appendf(nil, `{"i":%d}`, i)}
	}
	return recs
}

func TestBatchesStayWithinTheLimits(t *testing.T) {
	big := strings.Repeat("x", 900<<10) // 900 KiB: five fit in 5 MiB, six do not
	tests := []struct {
		name      string
		recs      []stream.Record
		wantCalls int
	}{
		{"1000 distinct keys take two calls", distinct(1000), 2},
		{"1001 distinct keys take three calls", distinct(1001), 3},
		{"12 records of 900 KiB take three calls", func() []stream.Record {
			recs := distinct(12)
			for i := range recs {
				recs[i].Data = []byte(big)
			}
			return recs
		}(), 3},
		{"one key goes one record per call", func() []stream.Record {
			recs := distinct(5)
			for i := range recs {
				recs[i].PartitionKey = "same"
			}
			return recs
		}(), 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(2)
			res, err := newAdapter(t, f, fastOpts).Publish(t.Context(), tc.recs)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(stream.Result{Published: len(tc.recs)}, res); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if len(f.calls) != tc.wantCalls {
				t.Errorf("PutRecords calls = %d, want %d", len(f.calls), tc.wantCalls)
			}
			for i, keys := range f.calls {
				if len(keys) > kinesisadapter.MaxBatchRecords || f.bytes[i] > kinesisadapter.MaxBatchBytes {
					t.Errorf("call %d: %d records, %d bytes", i, len(keys), f.bytes[i])
				}
			}
		})
	}
}

// TestRefusedRecordsAreNeverOvertaken refuses the first records of a key and
// checks that no call ever carried a later record of that key alongside or
// before the refused one, and that the stored order is the input order.
func TestRefusedRecordsAreNeverOvertaken(t *testing.T) {
	f := newFake(1)
	var recs []stream.Record
	for i := range 6 {
		recs = append(recs, stream.Record{PartitionKey: "k", Data: fmt.Appendf(nil, "k%d", i)},
			stream.Record{PartitionKey: fmt.Sprintf("o%d", i), Data: []byte("other")})
	}
	f.refuseKey("k", 3)
	res, err := newAdapter(t, f, fastOpts).Publish(t.Context(), recs)
	if err != nil || res.Published != len(recs) {
		t.Fatalf("Publish = %+v, %v", res, err)
	}
	for i, keys := range f.callKeys() {
		seen := map[string]bool{}
		for _, k := range keys {
			if seen[k] {
				t.Errorf("call %d carries key %s twice: %v", i, k, keys)
			}
			seen[k] = true
		}
	}
	all, _ := f.readAll(t.Context())
	var got []string
	for _, r := range all {
		if r.PartitionKey == "k" {
			got = append(got, string(r.Data))
		}
	}
	if diff := cmp.Diff([]string{"k0", "k1", "k2", "k3", "k4", "k5"}, got); diff != "" {
		t.Errorf("stored order of key k (-want +got):\n%s", diff)
	}
}

func TestCallErrors(t *testing.T) {
	notFound := &types.ResourceNotFoundException{Message: aws.String("Stream fake not found")}
	throttled := &types.ProvisionedThroughputExceededException{Message: aws.String("slow down")}
	tests := []struct {
		name          string
		callErr       func(n int) error
		recs          int
		wantPublished int
		wantFailed    int
		wantCode      string
		wantErr       error
		wantCalls     int
	}{
		{
			name:          "transient call errors are retried",
			callErr:       func(n int) error { return map[bool]error{true: throttled}[n <= 2] },
			recs:          10,
			wantPublished: 10,
			wantCalls:     3,
		},
		{
			name:       "a transient error past the budget fails the records",
			callErr:    func(int) error { return throttled },
			recs:       3,
			wantFailed: 3,
			wantCode:   "ProvisionedThroughputExceededException",
			wantCalls:  fastOpts.MaxAttempts,
		},
		{
			name:       "a missing stream is an error and fails everything",
			callErr:    func(int) error { return notFound },
			recs:       3,
			wantFailed: 3,
			wantCode:   "ResourceNotFoundException",
			wantErr:    notFound,
			wantCalls:  1,
		},
		{
			name: "a permanent error after some success fails the rest without an error",
			callErr: func(n int) error {
				if n == 2 {
					return notFound
				}
				return nil
			},
			recs:          700,
			wantPublished: 500,
			wantFailed:    200,
			wantCode:      "ResourceNotFoundException",
			wantCalls:     2,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(1)
			f.callErr = tc.callErr
			res, err := newAdapter(t, f, fastOpts).Publish(t.Context(), distinct(tc.recs))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Errorf("error = %v, want %v", err, tc.wantErr)
			}
			if res.Published != tc.wantPublished || len(res.Failed) != tc.wantFailed {
				t.Errorf("published %d, failed %d; want %d, %d", res.Published, len(res.Failed), tc.wantPublished, tc.wantFailed)
			}
			for _, fl := range res.Failed {
				if fl.Code != tc.wantCode {
					t.Errorf("failure %+v: want code %s", fl, tc.wantCode)
					break
				}
			}
			if len(f.calls) != tc.wantCalls {
				t.Errorf("calls = %d, want %d", len(f.calls), tc.wantCalls)
			}
		})
	}
}

// TestPublishStopsAtTheDeadline: a key refused forever with a generous
// budget must not outlive the context's deadline.
func TestPublishStopsAtTheDeadline(t *testing.T) {
	f := newFake(1)
	f.refuseKey("stuck", 1<<30)
	opts := fastOpts
	opts.MaxAttempts = 1 << 20
	opts.BaseDelay, opts.MaxDelay = 5*time.Millisecond, 20*time.Millisecond
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	began := time.Now()
	res, err := newAdapter(t, f, opts).Publish(ctx, []stream.Record{
		{PartitionKey: "stuck", Data: []byte("1")},
		{PartitionKey: "free", Data: []byte("2")},
		{PartitionKey: "stuck", Data: []byte("3")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Errorf("Publish took %v past a 200ms deadline", took)
	}
	want := stream.Result{Published: 1, Failed: []stream.Failure{
		{Index: 0, Code: kinesisadapter.CodeDeadline},
		{Index: 2, Code: kinesisadapter.CodeBlocked},
	}}
	if diff := cmp.Diff(want, res, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Message" }, cmp.Ignore())); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if !strings.Contains(res.Failed[0].Message, "ProvisionedThroughputExceededException") {
		t.Errorf("deadline failure does not name the last refusal: %q", res.Failed[0].Message)
	}
}

// hangingPut is a client whose PutRecords lasts until the caller's
// context ends, as a call does when the function's deadline comes first.
type hangingPut struct{ *fake }

func (h hangingPut) PutRecords(ctx context.Context, _ *kinesis.PutRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	<-ctx.Done()
	return nil, fmt.Errorf("operation error Kinesis: PutRecords, %w", ctx.Err())
}

// TestPublishDeadlineDuringACall: the context ending inside a PutRecords
// call fails the records with the deadline code, as it does between
// calls, and is not a stream error (Publish's error means the stream or
// the configuration is wrong).
func TestPublishDeadlineDuringACall(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	res, err := newAdapter(t, hangingPut{newFake(1)}, fastOpts).Publish(ctx, []stream.Record{
		{PartitionKey: "a", Data: []byte("1")},
		{PartitionKey: "a", Data: []byte("2")},
		{PartitionKey: "b", Data: []byte("3")},
	})
	if err != nil {
		t.Fatalf("Publish error %v, want the records failed and no error", err)
	}
	want := stream.Result{Failed: []stream.Failure{
		{Index: 0, Code: kinesisadapter.CodeDeadline},
		{Index: 1, Code: kinesisadapter.CodeBlocked},
		{Index: 2, Code: kinesisadapter.CodeDeadline},
	}}
	if diff := cmp.Diff(want, res, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Message" }, cmp.Ignore())); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, opts := range []kinesisadapter.Options{
		{MaxBatchRecords: 501},
		{MaxBatchBytes: 6 << 20},
		{MaxAttempts: -1},
	} {
		if _, err := kinesisadapter.New(newFake(1), opts); err == nil {
			t.Errorf("New(%+v) accepted", opts)
		}
	}
	if _, err := kinesisadapter.New(nil, kinesisadapter.Options{}); err == nil {
		t.Error("New(nil client) accepted")
	}
	s := newAdapter(t, newFake(1), kinesisadapter.Options{})
	if _, err := s.Publish(t.Context(), distinct(1)); err == nil {
		t.Error("Publish without a stream name accepted")
	}
}

func TestReadRangeFaults(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(f *fake)
		wantErr error
	}{
		{"throttled reads are retried", func(f *fake) { f.throttleReads = 3 }, nil},
		{"an expired iterator is renewed", func(f *fake) { f.expireReads = 2 }, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(1)
			s := newAdapter(t, f, fastOpts)
			recs := make([]stream.Record, 20)
			for i := range recs {
				recs[i] = stream.Record{PartitionKey: "k", Data: fmt.Appendf(nil, "%d", i)}
			}
			if _, err := s.Publish(t.Context(), recs); err != nil {
				t.Fatal(err)
			}
			all, _ := f.readAll(t.Context())
			tc.setup(f)
			var got []stream.Stored
			err := s.ReadRange(t.Context(), f.arn, all[0].ShardID, all[0].SequenceNumber, all[19].SequenceNumber, func(r stream.Stored) error {
				got = append(got, r)
				return nil
			})
			if !errors.Is(err, tc.wantErr) || (err == nil) != (tc.wantErr == nil) {
				t.Fatalf("ReadRange = %v, want %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(all, got); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadRangeErrors(t *testing.T) {
	f := newFake(1)
	s := newAdapter(t, f, fastOpts)
	if _, err := s.Publish(t.Context(), distinct(3)); err != nil {
		t.Fatal(err)
	}
	all, _ := f.readAll(t.Context())
	nop := func(stream.Stored) error { return nil }
	tests := []struct {
		name                        string
		arn, shard, first, last     string
		wantTrimmed, wantErr, setup bool
		throttleForever             bool
	}{
		{name: "first after last", arn: f.arn, shard: all[0].ShardID, first: all[2].SequenceNumber, last: all[0].SequenceNumber, wantErr: true},
		{name: "missing arguments", arn: f.arn, shard: "", first: "1", last: "2", wantErr: true},
		{name: "unknown stream", arn: "arn:aws:kinesis:eu-west-2:000000000000:stream/nope", shard: all[0].ShardID, first: all[0].SequenceNumber, last: all[2].SequenceNumber, wantErr: true},
		{name: "deleted shard is trimmed", arn: f.arn, shard: "shardId-000000000007", first: all[0].SequenceNumber, last: all[2].SequenceNumber, wantErr: true, wantTrimmed: true},
		{name: "throttled past the budget", arn: f.arn, shard: all[0].ShardID, first: all[0].SequenceNumber, last: all[2].SequenceNumber, wantErr: true, throttleForever: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.throttleForever {
				f.throttleReads = 1 << 20
				defer func() { f.throttleReads = 0 }()
			}
			err := s.ReadRange(t.Context(), tc.arn, tc.shard, tc.first, tc.last, nop)
			if (err != nil) != tc.wantErr || errors.Is(err, stream.ErrTrimmed) != tc.wantTrimmed {
				t.Errorf("ReadRange = %v; want error %v, trimmed %v", err, tc.wantErr, tc.wantTrimmed)
			}
		})
	}
}

// BenchmarkPublish1000 reports PutRecords calls per 1,000 events of distinct
// keys (one key per movie, as the scraper publishes); the target is 2.
func BenchmarkPublish1000(b *testing.B) {
	recs := distinct(1000)
	for i := range recs {
		recs[i].Data = []byte(strings.Repeat("x", 600)) // about a movie.observed event
	}
	var calls int
	for b.Loop() {
		f := newFake(4)
		s := newAdapter(b, f, fastOpts)
		if res, err := s.Publish(context.Background(), recs); err != nil || res.Published != len(recs) {
			b.Fatalf("Publish = %+v, %v", res, err)
		}
		calls += len(f.calls)
	}
	b.ReportMetric(float64(calls)/float64(b.N), "calls/1000events")
}

// countingClient counts PutRecords calls on the way to a real client.
type countingClient struct {
	kinesisadapter.API
	puts int
}

func (c *countingClient) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	c.puts++
	return c.API.PutRecords(ctx, in, optFns...)
}

// BenchmarkPublish1000KinesisMock publishes 1,000 events of distinct keys
// to kinesis-mock over HTTP: calls per 1,000 events and events/s on the
// wire.
func BenchmarkPublish1000KinesisMock(b *testing.B) {
	cfg := awsemu.Kinesis(b)
	name := awsemu.Name(b, "bench")
	awsemu.CreateStream(b, cfg, name, 2)
	client := &countingClient{API: kinesis.NewFromConfig(cfg)}
	s := newAdapter(b, client, kinesisadapter.Options{StreamName: name})
	recs := distinct(1000)
	for i := range recs {
		recs[i].Data = []byte(strings.Repeat("x", 600))
	}
	for b.Loop() {
		if res, err := s.Publish(context.Background(), recs); err != nil || res.Published != len(recs) {
			b.Fatalf("Publish = %d published, %d failed, %v", res.Published, len(res.Failed), err)
		}
	}
	b.ReportMetric(float64(client.puts)/float64(b.N), "calls/1000events")
	b.ReportMetric(float64(1000*b.N)/b.Elapsed().Seconds(), "events/s")
}

// TestRecordLargerThanTheBatchCap: with MaxBatchBytes below a record's
// size, each record still goes out, alone.
func TestRecordLargerThanTheBatchCap(t *testing.T) {
	f := newFake(1)
	opts := fastOpts
	opts.MaxBatchBytes = 10
	res, err := newAdapter(t, f, opts).Publish(t.Context(), distinct(3))
	if err != nil || res.Published != 3 || len(f.calls) != 3 {
		t.Errorf("Publish = %+v, %v in %d calls; want 3 published in 3 calls", res, err, len(f.calls))
	}
}
