package kinesis_test

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	kinesisadapter "github.com/scrape-pipeline/scrape-pipeline/libs/stream/kinesis"
)

// calls notes the Kinesis actions an adapter method makes.
type calls struct {
	kinesisadapter.API
	mu   sync.Mutex
	seen map[string]bool
}

func (c *calls) note(action string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seen["kinesis:"+action] = true
}

func (c *calls) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := slices.Sorted(func(yield func(string) bool) {
		for k := range c.seen {
			if !yield(k) {
				return
			}
		}
	})
	clear(c.seen)
	return out
}

func (c *calls) PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, o ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error) {
	c.note("PutRecords")
	return c.API.PutRecords(ctx, in, o...)
}

func (c *calls) GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, o ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error) {
	c.note("GetShardIterator")
	return c.API.GetShardIterator(ctx, in, o...)
}

func (c *calls) GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, o ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error) {
	c.note("GetRecords")
	return c.API.GetRecords(ctx, in, o...)
}

// TestAccessesMatchTheCalls: the adapter can only call the API interface's
// methods, Accesses covers exactly those, and each method makes exactly the
// calls Accesses lists for it.
func TestAccessesMatchTheCalls(t *testing.T) {
	var api, listed []string
	for m := range reflect.TypeFor[kinesisadapter.API]().Methods() {
		api = append(api, "kinesis:"+m.Name)
	}
	for _, a := range kinesisadapter.Accesses {
		listed = append(listed, a...)
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(api)), slices.Sorted(slices.Values(listed))); diff != "" {
		t.Errorf("the API interface's actions and Accesses differ (-API +Accesses):\n%s", diff)
	}

	f := newFake(1)
	rec := &calls{API: f, seen: map[string]bool{}}
	s := newAdapter(t, rec, fastOpts)
	ctx := t.Context()
	if _, err := s.Publish(ctx, []stream.Record{{PartitionKey: "k", Data: []byte("1")}, {PartitionKey: "k", Data: []byte("2")}}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(kinesisadapter.Accesses["Publish"])), rec.take()); diff != "" {
		t.Errorf("Publish (-Accesses +calls):\n%s", diff)
	}
	all, err := f.readAll(ctx)
	if err != nil || len(all) != 2 {
		t.Fatalf("stored %v, %v", all, err)
	}
	err = s.ReadRange(ctx, f.arn, all[0].ShardID, all[0].SequenceNumber, all[1].SequenceNumber, func(stream.Stored) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(slices.Sorted(slices.Values(kinesisadapter.Accesses["ReadRange"])), rec.take()); diff != "" {
		t.Errorf("ReadRange (-Accesses +calls):\n%s", diff)
	}
}
