// Package streamtest is the contract suite of the stream ports: every
// backend (the Kinesis adapter on kinesis-mock or on a fake client,
// devstack's embedded stream) must pass Run. A backend's test hands Run a
// function that opens a fresh, empty stream:
//
//	func TestContract(t *testing.T) {
//		streamtest.Run(t, func(t *testing.T) streamtest.Stream {
//			s := newEmbeddedStream(t)
//			return streamtest.Stream{Publisher: s, Reader: s, ARN: s.ARN(), ReadAll: s.ReadAll}
//		})
//	}
//
// The suite publishes records, reads them all back with the backend's own
// ReadAll (independent of the RangeReader under test) to observe where they
// went, then reads ranges back by those sequence numbers through the
// RangeReader. Faults (transient refusals, trimming) are tested only when
// the backend can inject them.
package streamtest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu/short"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
)

// Stream is one fresh, empty stream of the backend under test.
type Stream struct {
	Publisher stream.Publisher
	Reader    stream.RangeReader
	// ARN is the stream's ARN, as ReadRange takes it.
	ARN string
	// ReadAll returns every record of the stream, grouped by shard and in
	// sequence order within a shard, read without Reader.
	ReadAll func(ctx context.Context) ([]stream.Stored, error)
	// Refuse, if not nil, makes the stream refuse the next n records of
	// partition key key with a transient error (as Kinesis does with
	// ProvisionedThroughputExceededException); the publisher is expected to
	// resend them within its retry budget. Setting it enables the
	// transient-failure tests.
	Refuse func(key string, n int)
	// RetryBudget is the most times the publisher sends one record; with
	// Refuse, the suite refuses a key more often than that to see it fail
	// for good. 0 skips that test.
	RetryBudget int
	// Trim, if not nil, drops the records of shardID whose sequence
	// number is below seq, as retention does. Setting it enables the
	// trimming test.
	Trim func(shardID, seq string)
}

// Harness opens a fresh stream for one test; it registers its own cleanup
// with t.
type Harness func(t *testing.T) Stream

// timeout bounds each test's calls.
const timeout = 60 * time.Second

// Run runs the contract suite against the backend that open creates.
func Run(t *testing.T, open Harness) {
	t.Run("PublishNothing", func(t *testing.T) { testPublishNothing(t, open(t)) })
	t.Run("PublishAndReadBack", func(t *testing.T) { testPublishAndReadBack(t, open(t)) })
	t.Run("SubRanges", func(t *testing.T) { testSubRanges(t, open(t)) })
	t.Run("InvalidRecordsFailAlone", func(t *testing.T) { testInvalidRecords(t, open(t)) })
	t.Run("ConcurrentPublish", func(t *testing.T) { testConcurrentPublish(t, open(t)) })
	t.Run("ReadRangeStopsAtCallbackError", func(t *testing.T) { testCallbackError(t, open(t)) })
	t.Run("ReadRangeHonoursContext", func(t *testing.T) { testReadCanceled(t, open(t)) })
	t.Run("TransientRefusalsAreResentInOrder", func(t *testing.T) { testTransientRefusals(t, open(t)) })
	t.Run("ExhaustedRetriesBlockTheKey", func(t *testing.T) { testExhaustedRetries(t, open(t)) })
	t.Run("TrimmedRange", func(t *testing.T) { testTrimmed(t, open(t)) })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	return c
}

// records returns n records over keys keys: record i has key "key-(i%keys)"
// and data "rec-i", so data tells the input position.
func records(prefix string, n, keys int) []stream.Record {
	recs := make([]stream.Record, n)
	for i := range recs {
		recs[i] = stream.Record{
			PartitionKey: fmt.Sprintf("%s-key-%03d", prefix, i%keys),
			Data:         fmt.Appendf(nil, `{"rec":%d,"pad":"%s"}`, i, strings.Repeat("x", i%50)),
		}
	}
	return recs
}

// simple is a Stored without the fields a test cannot predict.
type simple struct {
	Key  string
	Data string
}

func simplify(st []stream.Stored) []simple {
	out := make([]simple, len(st))
	for i, s := range st {
		out[i] = simple{s.PartitionKey, string(s.Data)}
	}
	return out
}

// perKey groups data by partition key, keeping order.
func perKey[T any](items []T, key func(T) string, data func(T) string) map[string][]string {
	m := map[string][]string{}
	for _, it := range items {
		m[key(it)] = append(m[key(it)], data(it))
	}
	return m
}

func publish(t *testing.T, c context.Context, p stream.Publisher, recs []stream.Record) stream.Result {
	t.Helper()
	res, err := p.Publish(c, recs)
	if err != nil {
		t.Fatalf("Publish(%d records): %v", len(recs), err)
	}
	return res
}

func readAll(t *testing.T, c context.Context, s Stream) []stream.Stored {
	t.Helper()
	all, err := s.ReadAll(c)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	return all
}

// byShard splits records into shards, keeping order.
func byShard(all []stream.Stored) (order []string, shards map[string][]stream.Stored) {
	shards = map[string][]stream.Stored{}
	for _, r := range all {
		if _, ok := shards[r.ShardID]; !ok {
			order = append(order, r.ShardID)
		}
		shards[r.ShardID] = append(shards[r.ShardID], r)
	}
	return order, shards
}

func readRange(t *testing.T, c context.Context, s Stream, shard, first, last string) ([]stream.Stored, error) {
	t.Helper()
	var got []stream.Stored
	err := s.Reader.ReadRange(c, s.ARN, shard, first, last, func(r stream.Stored) error {
		got = append(got, r)
		return nil
	})
	return got, err
}

// ignoreArrival compares Stored values without ArrivalTime, which readers
// may report with different precision.
var ignoreArrival = cmp.Transformer("noArrival", func(s stream.Stored) stream.Stored {
	s.ArrivalTime = time.Time{}
	return s
})

func testPublishNothing(t *testing.T, s Stream) {
	c := ctx(t)
	res := publish(t, c, s.Publisher, nil)
	if diff := cmp.Diff(stream.Result{}, res); diff != "" {
		t.Errorf("Publish(nil) (-want +got):\n%s", diff)
	}
}

func testPublishAndReadBack(t *testing.T, s Stream) {
	c := ctx(t)
	// More than one PutRecords batch (500 records), several records per
	// key; -short publishes two batches' worth rather than three.
	n := 1200
	if short.On(t) {
		n = 600
	}
	recs := records("a", n, 40)
	res := publish(t, c, s.Publisher, recs)
	if diff := cmp.Diff(stream.Result{Published: len(recs)}, res); diff != "" {
		t.Fatalf("Publish result (-want +got):\n%s", diff)
	}
	all := readAll(t, c, s)

	// Every record exactly once, each key's records in input order.
	want := perKey(recs, func(r stream.Record) string { return r.PartitionKey }, func(r stream.Record) string { return string(r.Data) })
	got := perKey(all, func(r stream.Stored) string { return r.PartitionKey }, func(r stream.Stored) string { return string(r.Data) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records per key as stored (-want +got):\n%s", diff)
	}
	// All records of a key on one shard; sequence numbers rising per shard.
	keyShard := map[string]string{}
	for i, r := range all {
		if r.SequenceNumber == "" || r.ShardID == "" {
			t.Fatalf("record %d stored without shard or sequence number: %+v", i, r)
		}
		if sh, ok := keyShard[r.PartitionKey]; ok && sh != r.ShardID {
			t.Errorf("key %s on shards %s and %s", r.PartitionKey, sh, r.ShardID)
		}
		keyShard[r.PartitionKey] = r.ShardID
		if i > 0 && all[i-1].ShardID == r.ShardID && stream.CompareSeq(all[i-1].SequenceNumber, r.SequenceNumber) >= 0 {
			t.Errorf("sequence numbers not rising in shard %s: %s then %s", r.ShardID, all[i-1].SequenceNumber, r.SequenceNumber)
		}
	}

	// Each shard read back whole by its observed sequence numbers.
	order, shards := byShard(all)
	for _, sh := range order {
		recs := shards[sh]
		got, err := readRange(t, c, s, sh, recs[0].SequenceNumber, recs[len(recs)-1].SequenceNumber)
		if err != nil {
			t.Fatalf("ReadRange(%s, whole shard): %v", sh, err)
		}
		if diff := cmp.Diff(recs, got, ignoreArrival); diff != "" {
			t.Errorf("ReadRange(%s, whole shard) (-want +got):\n%s", sh, diff)
		}
	}
}

func testSubRanges(t *testing.T, s Stream) {
	c := ctx(t)
	publish(t, c, s.Publisher, records("b", 60, 3))
	order, shards := byShard(readAll(t, c, s))
	sh := order[0]
	recs := shards[sh]
	n := len(recs)
	for _, tc := range []struct {
		name        string
		first, last int
	}{
		{"single first", 0, 0},
		{"single middle", n / 2, n / 2},
		{"single last", n - 1, n - 1},
		{"middle", n / 4, 3 * n / 4},
		{"tail", n / 3, n - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readRange(t, c, s, sh, recs[tc.first].SequenceNumber, recs[tc.last].SequenceNumber)
			if err != nil {
				t.Fatalf("ReadRange: %v", err)
			}
			if diff := cmp.Diff(recs[tc.first:tc.last+1], got, ignoreArrival); diff != "" {
				t.Errorf("ReadRange(%d..%d) (-want +got):\n%s", tc.first, tc.last, diff)
			}
		})
	}
	t.Run("last beyond the shard's end", func(t *testing.T) {
		got, err := readRange(t, c, s, sh, recs[n-2].SequenceNumber, recs[n-1].SequenceNumber+"9")
		if err != nil {
			t.Fatalf("ReadRange: %v", err)
		}
		if diff := cmp.Diff(recs[n-2:], got, ignoreArrival); diff != "" {
			t.Errorf("ReadRange (-want +got):\n%s", diff)
		}
	})
}

func testInvalidRecords(t *testing.T, s Stream) {
	c := ctx(t)
	big := make([]byte, 1<<20+1) // over the 1 MiB record limit
	recs := []stream.Record{
		{PartitionKey: "c-a", Data: []byte("a1")},
		{PartitionKey: "", Data: []byte("no key")},
		{PartitionKey: "c-b", Data: []byte("b1")},
		{PartitionKey: "c-a", Data: big},
		{PartitionKey: "c-a", Data: []byte("a3")}, // must not overtake the failed a2
		{PartitionKey: "c-b", Data: []byte("b2")},
		{PartitionKey: strings.Repeat("k", 257), Data: []byte("key too long")},
	}
	res := publish(t, c, s.Publisher, recs)
	if res.Published != 3 {
		t.Errorf("Published = %d, want 3", res.Published)
	}
	var idx []int
	for _, f := range res.Failed {
		idx = append(idx, f.Index)
		if f.Code == "" {
			t.Errorf("failure %d without a code: %+v", f.Index, f)
		}
	}
	if diff := cmp.Diff([]int{1, 3, 4, 6}, idx); diff != "" {
		t.Errorf("failed indexes (-want +got):\n%s", diff)
	}
	want := []simple{{"c-a", "a1"}, {"c-b", "b1"}, {"c-b", "b2"}}
	got := simplify(readAll(t, c, s))
	sortByKey(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored records (-want +got):\n%s", diff)
	}
}

// sortByKey orders records by key, keeping each key's order.
func sortByKey(s []simple) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j-1].Key > s[j].Key; j-- {
			s[j-1], s[j] = s[j], s[j-1]
		}
	}
}

func testConcurrentPublish(t *testing.T, s Stream) {
	c := ctx(t)
	var wg sync.WaitGroup
	const workers = 4
	batches := make([][]stream.Record, workers)
	results := make([]stream.Result, workers)
	errs := make([]error, workers)
	for w := range workers {
		batches[w] = records(fmt.Sprintf("d%d", w), 120, 7)
		wg.Go(func() { results[w], errs[w] = s.Publisher.Publish(c, batches[w]) })
	}
	wg.Wait()
	var want []stream.Record
	for w := range workers {
		if errs[w] != nil || results[w].Published != len(batches[w]) || len(results[w].Failed) != 0 {
			t.Errorf("worker %d: %+v, %v", w, results[w], errs[w])
		}
		want = append(want, batches[w]...)
	}
	all := readAll(t, c, s)
	wantKeys := perKey(want, func(r stream.Record) string { return r.PartitionKey }, func(r stream.Record) string { return string(r.Data) })
	gotKeys := perKey(all, func(r stream.Stored) string { return r.PartitionKey }, func(r stream.Stored) string { return string(r.Data) })
	if diff := cmp.Diff(wantKeys, gotKeys); diff != "" {
		t.Errorf("records per key (-want +got):\n%s", diff)
	}
}

func testCallbackError(t *testing.T, s Stream) {
	c := ctx(t)
	publish(t, c, s.Publisher, records("e", 10, 1))
	all := readAll(t, c, s)
	stop := errors.New("stop here")
	var got []stream.Stored
	err := s.Reader.ReadRange(c, s.ARN, all[0].ShardID, all[0].SequenceNumber, all[len(all)-1].SequenceNumber, func(r stream.Stored) error {
		got = append(got, r)
		if len(got) == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("ReadRange error = %v, want the callback's error", err)
	}
	if diff := cmp.Diff(all[:3], got, ignoreArrival); diff != "" {
		t.Errorf("records passed before the error (-want +got):\n%s", diff)
	}
}

func testReadCanceled(t *testing.T, s Stream) {
	c := ctx(t)
	publish(t, c, s.Publisher, records("f", 3, 1))
	all := readAll(t, c, s)
	canceled, cancel := context.WithCancel(c)
	cancel()
	err := s.Reader.ReadRange(canceled, s.ARN, all[0].ShardID, all[0].SequenceNumber, all[2].SequenceNumber, func(stream.Stored) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("ReadRange with a canceled context = %v, want context.Canceled", err)
	}
}

func testTransientRefusals(t *testing.T, s Stream) {
	if s.Refuse == nil {
		t.Skip("backend cannot inject refusals")
	}
	c := ctx(t)
	recs := []stream.Record{
		{PartitionKey: "g-a", Data: []byte("a1")},
		{PartitionKey: "g-b", Data: []byte("b1")},
		{PartitionKey: "g-a", Data: []byte("a2")},
		{PartitionKey: "g-a", Data: []byte("a3")},
		{PartitionKey: "g-b", Data: []byte("b2")},
	}
	s.Refuse("g-a", 2)
	res := publish(t, c, s.Publisher, recs)
	if diff := cmp.Diff(stream.Result{Published: len(recs)}, res); diff != "" {
		t.Errorf("Publish result (-want +got):\n%s", diff)
	}
	got := simplify(readAll(t, c, s))
	sortByKey(got)
	want := []simple{{"g-a", "a1"}, {"g-a", "a2"}, {"g-a", "a3"}, {"g-b", "b1"}, {"g-b", "b2"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored records (-want +got):\n%s", diff)
	}
}

func testExhaustedRetries(t *testing.T, s Stream) {
	if s.Refuse == nil || s.RetryBudget == 0 {
		t.Skip("backend cannot inject refusals")
	}
	c := ctx(t)
	recs := []stream.Record{
		{PartitionKey: "h-a", Data: []byte("a1")},
		{PartitionKey: "h-b", Data: []byte("b1")},
		{PartitionKey: "h-a", Data: []byte("a2")},
		{PartitionKey: "h-b", Data: []byte("b2")},
	}
	s.Refuse("h-a", s.RetryBudget+1)
	res := publish(t, c, s.Publisher, recs)
	if res.Published != 2 {
		t.Errorf("Published = %d, want 2", res.Published)
	}
	var idx []int
	for _, f := range res.Failed {
		idx = append(idx, f.Index)
	}
	if diff := cmp.Diff([]int{0, 2}, idx); diff != "" {
		t.Errorf("failed indexes (-want +got):\n%s", diff)
	}
	got := simplify(readAll(t, c, s))
	if diff := cmp.Diff([]simple{{"h-b", "b1"}, {"h-b", "b2"}}, got); diff != "" {
		t.Errorf("stored records (-want +got):\n%s", diff)
	}
}

func testTrimmed(t *testing.T, s Stream) {
	if s.Trim == nil {
		t.Skip("backend cannot trim")
	}
	c := ctx(t)
	publish(t, c, s.Publisher, records("i", 10, 1))
	all := readAll(t, c, s)
	s.Trim(all[0].ShardID, all[4].SequenceNumber)
	got, err := readRange(t, c, s, all[0].ShardID, all[1].SequenceNumber, all[6].SequenceNumber)
	if !errors.Is(err, stream.ErrTrimmed) {
		t.Errorf("ReadRange over trimmed records = %v, want ErrTrimmed", err)
	}
	if diff := cmp.Diff(all[4:7], got, ignoreArrival); diff != "" {
		t.Errorf("records still kept, passed first (-want +got):\n%s", diff)
	}
	_, err = readRange(t, c, s, all[0].ShardID, all[0].SequenceNumber, all[2].SequenceNumber)
	if !errors.Is(err, stream.ErrTrimmed) {
		t.Errorf("ReadRange of a fully trimmed range = %v, want ErrTrimmed", err)
	}
}
