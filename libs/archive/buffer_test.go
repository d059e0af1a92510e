package archive_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
)

// clock is a test clock the test moves.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// gunzipLines returns the lines of a stored object.
func gunzipLines(t *testing.T, body []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("object is not gzip: %v", err)
	}
	lines, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip: %v", err)
	}
	return lines
}

func shardRec(shard int, seq string, at time.Time, data string) archive.Record {
	return archive.Record{ShardID: fmt.Sprintf("shardId-%012d", shard), SequenceNumber: seq,
		PartitionKey: "k" + seq, ArrivalTime: at, Data: []byte(data)}
}

func TestBufferFlush(t *testing.T) {
	ctx := t.Context()
	clk := &clock{now: time.Date(2026, 11, 27, 4, 30, 0, 0, time.UTC)}
	store := newMemStore()
	b, err := archive.NewBuffer(store, archive.BufferOptions{Name: "devstack", MaxBytes: 1000, Interval: 5 * time.Second,
		Now: clk.Now, Unique: func() string { return "u1" }})
	if err != nil {
		t.Fatal(err)
	}
	if f, err := b.Flush(ctx); err != nil || f.Records != 0 || len(store.objs) != 0 {
		t.Fatalf("Flush of an empty buffer = %+v, %v and %d objects; want nothing written", f, err, len(store.objs))
	}
	if b.Due() {
		t.Errorf("an empty buffer is due")
	}

	at := time.Date(2026, 11, 27, 4, 20, 0, 0, time.UTC)
	recs := []archive.Record{
		shardRec(1, "100", at.Add(2*time.Second), `{"a":1}`),
		shardRec(0, "7", at.Add(time.Second), "\x00poison"),
		shardRec(1, "99", at.Add(-time.Minute), `{"late":true}`), // a lower sequence number after a higher one
		shardRec(0, "0010", at.Add(3*time.Second), `{}`),         // 10, with leading zeros
	}
	var want []byte
	for i, r := range recs {
		full, err := b.Add(r)
		if err != nil || full {
			t.Fatalf("Add %d = %v, %v; want not full", i, full, err)
		}
		line, _ := archive.Encode(r)
		want = append(want, line...)
		clk.Add(time.Second)
	}
	if n, size := b.Pending(); n != 4 || size != len(want) {
		t.Errorf("Pending = %d, %d; want 4, %d", n, size, len(want))
	}
	if b.Due() {
		t.Errorf("due 4 s after the first record, want 5 s")
	}
	clk.Add(time.Second)
	if !b.Due() {
		t.Errorf("not due 5 s after the first record")
	}
	f, err := b.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	key := "events/2026/11/27/04/devstack-2026-11-27-04-19-00-u1.gz" // the oldest record's time
	wantF := archive.Flushed{Key: key, Records: 4, Bytes: len(store.objs[key]), RawBytes: len(want),
		Oldest: at.Add(-time.Minute), Newest: at.Add(3 * time.Second),
		Last: map[string]string{"shardId-000000000000": "0010", "shardId-000000000001": "100"}}
	if diff := cmp.Diff(wantF, f); diff != "" {
		t.Errorf("Flushed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(string(want), string(gunzipLines(t, store.objs[key]))); diff != "" {
		t.Errorf("object lines (-want +got):\n%s", diff)
	}
	if n, size := b.Pending(); n != 0 || size != 0 || b.Due() {
		t.Errorf("after Flush: Pending = %d, %d, Due = %v; want empty", n, size, b.Due())
	}

	// Full at MaxBytes: Add says so.
	var full bool
	n := 0
	for !full {
		full, err = b.Add(shardRec(2, fmt.Sprint(1000+n), at, `{"pad":"`+strings.Repeat("p", 100)+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if _, size := b.Pending(); size < 1000 || size-1000 > archive.LineSize(shardRec(2, "1000", at, `{"pad":"`+strings.Repeat("p", 100)+`"}`)) {
		t.Errorf("full at %d bytes of lines, want 1000 up to one line more", size)
	}
	if !b.Due() {
		t.Errorf("a full buffer is not due")
	}
}

func TestBufferRefusesInvalidRecords(t *testing.T) {
	b, err := archive.NewBuffer(newMemStore(), archive.BufferOptions{Name: "w"})
	if err != nil {
		t.Fatal(err)
	}
	bad := shardRec(0, "x1", time.Now(), "{}")
	if _, err := b.Add(bad); !errors.Is(err, archive.ErrInvalidRecord) {
		t.Errorf("Add(invalid) = %v, want ErrInvalidRecord", err)
	}
	if n, size := b.Pending(); n != 0 || size != 0 {
		t.Errorf("after a refused Add, Pending = %d, %d", n, size)
	}
}

// flaky fails its first failures Puts and records every key tried.
type flaky struct {
	*memStore
	failures int
	tried    []string
}

func (f *flaky) Put(ctx context.Context, key string, body []byte) error {
	f.tried = append(f.tried, key)
	if f.failures > 0 {
		f.failures--
		return errors.New("service unavailable")
	}
	return f.memStore.Put(ctx, key, body)
}

func TestBufferKeepsRecordsWhenAWriteFails(t *testing.T) {
	ctx := t.Context()
	w := &flaky{memStore: newMemStore(), failures: 2}
	u := 0
	b, err := archive.NewBuffer(w, archive.BufferOptions{Name: "w", Unique: func() string { u++; return fmt.Sprint("u", u) }})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 4, 20, 0, 0, time.UTC)
	var want []archive.Record
	add := func(r archive.Record) {
		t.Helper()
		if _, err := b.Add(r); err != nil {
			t.Fatal(err)
		}
		want = append(want, r)
	}
	add(shardRec(0, "1", at, `1`))
	if _, err := b.Flush(ctx); err == nil || !strings.Contains(err.Error(), "service unavailable") {
		t.Fatalf("Flush with a failing writer = %v, want its error", err)
	}
	add(shardRec(0, "2", at.Add(-time.Hour), `2`)) // older: the key stays
	if _, err := b.Flush(ctx); err == nil {
		t.Fatal("second Flush succeeded, want the writer's second failure")
	}
	add(shardRec(1, "3", at, `3`))
	f, err := b.Flush(ctx)
	if err != nil {
		t.Fatalf("third Flush: %v", err)
	}
	key := "events/2026/11/27/04/w-2026-11-27-04-20-00-u1.gz"
	if diff := cmp.Diff([]string{key, key, key}, w.tried); diff != "" {
		t.Errorf("keys tried (-want +got): the retries must reuse the first key\n%s", diff)
	}
	if f.Key != key || f.Records != 3 || !cmp.Equal(f.Last, map[string]string{"shardId-000000000000": "2", "shardId-000000000001": "3"}) {
		t.Errorf("Flushed = %+v", f)
	}
	var got []archive.Record
	if err := archive.Scan(ctx, w.memStore, archive.ScanOptions{}, func(r archive.Record) error {
		got = append(got, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records stored (-want +got):\n%s", diff)
	}
}

func TestBufferOptionsValidate(t *testing.T) {
	err := archive.BufferOptions{Name: "a/b", MaxBytes: -1, Interval: -time.Second}.Validate()
	for _, msg := range []string{`writer name "a/b"`, "MaxBytes -1 is negative", "Interval -1s is negative"} {
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Validate = %v, want it to say %q", err, msg)
		}
	}
	if _, err := archive.NewBuffer(newMemStore(), archive.BufferOptions{}); err == nil {
		t.Errorf("NewBuffer without a name succeeded")
	}
	if err := (archive.BufferOptions{Name: "devstack"}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// Records added from many goroutines while others flush end up stored
// exactly once, and the checkpoints reach each shard's last record.
func TestBufferConcurrentAddAndFlush(t *testing.T) {
	ctx := t.Context()
	store := newMemStore()
	b, err := archive.NewBuffer(store, archive.BufferOptions{Name: "w", MaxBytes: 2000})
	if err != nil {
		t.Fatal(err)
	}
	const shards, each = 4, 300
	at := time.Date(2026, 11, 27, 4, 20, 0, 0, time.UTC)
	var mu sync.Mutex
	last := map[string]string{}
	record := func(f archive.Flushed) {
		mu.Lock()
		defer mu.Unlock()
		for shard, seq := range f.Last {
			// Sequence numbers here have no leading zeros.
			if prev := last[shard]; len(seq) > len(prev) || len(seq) == len(prev) && seq > prev {
				last[shard] = seq
			}
		}
	}
	var wg sync.WaitGroup
	for s := range shards {
		wg.Go(func() {
			for i := range each {
				full, err := b.Add(shardRec(s, fmt.Sprint(i+1), at.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf(`{"s":%d,"i":%d}`, s, i)))
				if err != nil {
					t.Error(err)
					return
				}
				if full {
					f, err := b.Flush(ctx)
					if err != nil {
						t.Error(err)
						return
					}
					record(f)
				}
			}
		})
	}
	wg.Wait()
	f, err := b.Flush(ctx)
	if err != nil {
		t.Fatal(err)
	}
	record(f)
	seen := map[string]int{}
	if err := archive.Scan(ctx, store, archive.ScanOptions{}, func(r archive.Record) error {
		seen[r.ShardID+"/"+r.SequenceNumber]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(seen) != shards*each {
		t.Errorf("%d distinct records stored, want %d", len(seen), shards*each)
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("record %s stored %d times", k, n)
		}
	}
	want := map[string]string{}
	for s := range shards {
		want[fmt.Sprintf("shardId-%012d", s)] = fmt.Sprint(each)
	}
	if diff := cmp.Diff(want, last, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("final checkpoints (-want +got):\n%s", diff)
	}
}
