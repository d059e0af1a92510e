package awsbackend

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/google/go-cmp/cmp"
)

// fakeKinesis is one shard of n records (sequence numbers 100, 101, …)
// whose GetRecords calls fail as faults says, in order.
type fakeKinesis struct {
	n int

	mu        sync.Mutex
	faults    []error // next GetRecords results; nil entries succeed
	always    error   // when set, every GetRecords fails with it
	iterators []string
	reads     int
}

func (f *fakeKinesis) DescribeStreamSummary(context.Context, *kinesis.DescribeStreamSummaryInput, ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error) {
	return &kinesis.DescribeStreamSummaryOutput{StreamDescriptionSummary: &types.StreamDescriptionSummary{
		StreamARN: aws.String("arn:aws:kinesis:eu-west-2:000000000000:stream/fake"), StreamStatus: types.StreamStatusActive,
	}}, nil
}

func (f *fakeKinesis) ListShards(context.Context, *kinesis.ListShardsInput, ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error) {
	return &kinesis.ListShardsOutput{Shards: []types.Shard{{ShardId: aws.String("shardId-000000000000")}}}, nil
}

func (f *fakeKinesis) PutRecord(context.Context, *kinesis.PutRecordInput, ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error) {
	return nil, errors.New("fake: PutRecord not supported")
}

func (f *fakeKinesis) PutRecords(context.Context, *kinesis.PutRecordsInput, ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	return nil, errors.New("fake: PutRecords not supported")
}

func (f *fakeKinesis) GetShardIterator(_ context.Context, in *kinesis.GetShardIteratorInput, _ ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pos := 0
	desc := string(in.ShardIteratorType)
	if in.ShardIteratorType == types.ShardIteratorTypeAfterSequenceNumber {
		seq, err := strconv.Atoi(aws.ToString(in.StartingSequenceNumber))
		if err != nil {
			return nil, err
		}
		pos = seq - 100 + 1
		desc += " " + aws.ToString(in.StartingSequenceNumber)
	}
	f.iterators = append(f.iterators, desc)
	return &kinesis.GetShardIteratorOutput{ShardIterator: aws.String(fmt.Sprint("it-", pos))}, nil
}

func (f *fakeKinesis) GetRecords(_ context.Context, in *kinesis.GetRecordsInput, _ ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	if f.always != nil {
		return nil, f.always
	}
	if len(f.faults) > 0 {
		err := f.faults[0]
		f.faults = f.faults[1:]
		if err != nil {
			return nil, err
		}
	}
	pos, err := strconv.Atoi(strings.TrimPrefix(aws.ToString(in.ShardIterator), "it-"))
	if err != nil {
		return nil, err
	}
	end := min(f.n, pos+int(aws.ToInt32(in.Limit)))
	out := &kinesis.GetRecordsOutput{NextShardIterator: aws.String(fmt.Sprint("it-", end)), MillisBehindLatest: aws.Int64(0)}
	if end < f.n {
		out.MillisBehindLatest = aws.Int64(1000)
	}
	for i := pos; i < end; i++ {
		out.Records = append(out.Records, types.Record{
			SequenceNumber: aws.String(strconv.Itoa(100 + i)), PartitionKey: aws.String("k"),
			Data: []byte(fmt.Sprint("r", i)), ApproximateArrivalTimestamp: aws.Time(time.Unix(1e9, 0)),
		})
	}
	return out, nil
}

var (
	throttled = &types.ProvisionedThroughputExceededException{Message: aws.String("Rate exceeded for shard")}
	expired   = &types.ExpiredIteratorException{Message: aws.String("Iterator expired")}
)

func TestRecordsRetriesThrottlingAndRenewsExpiredIterators(t *testing.T) {
	tests := []struct {
		name   string
		faults []error
		// iterators are the GetShardIterator calls reading all ten
		// records three at a time should make.
		iterators []string
		reads     int
	}{
		{"no faults: one iterator for the whole shard", nil, []string{"TRIM_HORIZON"}, 5},
		{"throttled twice, then served", []error{throttled, throttled}, []string{"TRIM_HORIZON"}, 7},
		{"throttled between batches", []error{nil, throttled, nil, throttled}, []string{"TRIM_HORIZON"}, 7},
		{"iterator expired after the first batch: renewed after its last record",
			[]error{nil, expired}, []string{"TRIM_HORIZON", "AFTER_SEQUENCE_NUMBER 102"}, 6},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeKinesis{n: 10, faults: tc.faults}
			s, err := OpenStream(t.Context(), f, "fake", withReadBackoff(time.Millisecond, 2*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			got := readShard(t, s, s.Shards()[0], "", 3)
			var want []string
			for i := range 10 {
				want = append(want, fmt.Sprint("r", i))
			}
			if diff := cmp.Diff(want, dataOf(got)); diff != "" {
				t.Errorf("records (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.iterators, f.iterators); diff != "" {
				t.Errorf("GetShardIterator calls (-want +got):\n%s", diff)
			}
			if f.reads != tc.reads {
				t.Errorf("GetRecords calls = %d, want %d", f.reads, tc.reads)
			}
		})
	}
}

func TestRecordsFailures(t *testing.T) {
	tests := []struct {
		name   string
		always error
		want   string
	}{
		{"permanent error is returned at once", &types.InvalidArgumentException{Message: aws.String("bad iterator")}, "InvalidArgumentException"},
		{"throttled until the call timeout", throttled, "throttled"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeKinesis{n: 10, always: tc.always}
			s, err := OpenStream(t.Context(), f, "fake", WithCallTimeout(50*time.Millisecond), withReadBackoff(time.Millisecond, 5*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Records(s.Shards()[0], "", 3)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Records = %v, want an error mentioning %q", err, tc.want)
			}
			if _, err := s.Latest(s.Shards()[0]); err == nil {
				t.Error("Latest succeeded on a failing stream")
			}
		})
	}
}

func TestLatestStartsAfterWhatWasRead(t *testing.T) {
	f := &fakeKinesis{n: 10}
	s, err := OpenStream(t.Context(), f, "fake")
	if err != nil {
		t.Fatal(err)
	}
	sh := s.Shards()[0]
	if _, err := s.Records(sh, "", 6); err != nil {
		t.Fatal(err)
	}
	latest, err := s.Latest(sh)
	if err != nil || latest != "109" {
		t.Fatalf("Latest = %q, %v; want 109", latest, err)
	}
	if latest, err := s.Latest(sh); err != nil || latest != "109" {
		t.Fatalf("Latest again = %q, %v; want 109", latest, err)
	}
	want := []string{"TRIM_HORIZON", "AFTER_SEQUENCE_NUMBER 105"}
	if diff := cmp.Diff(want, f.iterators); diff != "" {
		t.Errorf("GetShardIterator calls (-want +got):\n%s", diff)
	}
}

// TestReaderKeepsItsOwnPosition: two consumers of one stream (the
// processor mapping and the archiver), each reading along at its own
// pace, cost one shard iterator each, not one per call.
func TestReaderKeepsItsOwnPosition(t *testing.T) {
	f := &fakeKinesis{n: 10}
	s, err := OpenStream(t.Context(), f, "fake")
	if err != nil {
		t.Fatal(err)
	}
	r := s.Reader(time.Second)
	sh := s.Shards()[0]
	var fromS, fromR []string
	posS, posR := "", ""
	for range 5 {
		a, err := s.Records(sh, posS, 2)
		if err != nil {
			t.Fatal(err)
		}
		b, err := r.Records(sh, posR, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(a) > 0 {
			posS = a[len(a)-1].SequenceNumber
		}
		if len(b) > 0 {
			posR = b[len(b)-1].SequenceNumber
		}
		fromS, fromR = append(fromS, dataOf(a)...), append(fromR, dataOf(b)...)
	}
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprint("r", i))
	}
	if diff := cmp.Diff(want, fromS); diff != "" {
		t.Errorf("the stream's reads (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, fromR); diff != "" {
		t.Errorf("the second reader's reads (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"TRIM_HORIZON", "TRIM_HORIZON"}, f.iterators); diff != "" {
		t.Errorf("GetShardIterator calls (-want +got):\n%s", diff)
	}
	if r.ARN() != s.ARN() || r.Name() != s.Name() || !cmp.Equal(r.Shards(), s.Shards()) {
		t.Errorf("the reader reads %s %s %v, not the stream's %s %s %v", r.Name(), r.ARN(), r.Shards(), s.Name(), s.ARN(), s.Shards())
	}
}
