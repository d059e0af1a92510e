package kinesis

import (
	"crypto/md5"
	"errors"
	"fmt"
	"math/big"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream/streamtest"
)

func openDB(t testing.TB, dir string) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, "stream.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newStream(t testing.TB, opts Options) *Stream {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "events"
	}
	s, err := Open(openDB(t, t.TempDir()), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestContract(t *testing.T) {
	streamtest.Run(t, func(t *testing.T) streamtest.Stream {
		s := newStream(t, Options{Shards: 3, RetryBudget: 4})
		return streamtest.Stream{
			Publisher: s, Reader: s, ARN: s.ARN(), ReadAll: s.ReadAll,
			Refuse: s.Refuse, RetryBudget: 4,
			Trim: func(shardID, sq string) {
				if err := s.TrimBefore(shardID, sq); err != nil {
					t.Fatal(err)
				}
			},
		}
	})
}

// TestShardForMatchesKinesis checks the hash-key ranges: with n shards,
// shard i starts at i * 2^128 / n, and a key goes where its MD5 falls.
func TestShardForMatchesKinesis(t *testing.T) {
	s := newStream(t, Options{Shards: 4})
	quarter := new(big.Int).Lsh(big.NewInt(1), 126)
	for i := range 200 {
		key := fmt.Sprintf("movie-%d", i)
		sum := md5.Sum([]byte(key))
		h := new(big.Int).SetBytes(sum[:])
		want := ShardID(int(new(big.Int).Div(h, quarter).Int64()))
		if got := s.ShardFor(key); got != want {
			t.Fatalf("ShardFor(%q) = %s, want %s", key, got, want)
		}
	}
}

func TestSequenceNumbersSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "s.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(db, Options{Name: "events", Shards: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(t.Context(), []stream.Record{{PartitionKey: "a", Data: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Latest(ShardID(0))
	db.Close()

	db = openDB(t, dir)
	db.Close()
	db, err = bolt.Open(filepath.Join(dir, "s.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := Open(db, Options{Name: "events", Shards: 2}); err == nil {
		t.Error("reopening with another shard count succeeded")
	}
	s, err = Open(db, Options{Name: "events", Shards: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Publish(t.Context(), []stream.Record{{PartitionKey: "a", Data: []byte("2")}}); err != nil {
		t.Fatal(err)
	}
	after, _ := s.Latest(ShardID(0))
	if stream.CompareSeq(after, before) <= 0 || len(after) != 56 {
		t.Errorf("sequence after restart %s, before %s", after, before)
	}
	recs, err := s.Records(ShardID(0), "", 10)
	if err != nil || len(recs) != 2 || string(recs[0].Data) != "1" || string(recs[1].Data) != "2" {
		t.Errorf("Records = %+v, %v", recs, err)
	}
}

func TestRetention(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	s := newStream(t, Options{Shards: 1, Retention: time.Hour, Now: func() time.Time { return now }})
	pub := func(data string) {
		if _, err := s.Publish(t.Context(), []stream.Record{{PartitionKey: "k", Data: []byte(data)}}); err != nil {
			t.Fatal(err)
		}
	}
	pub("old")
	old, _ := s.Latest(ShardID(0))
	now = now.Add(50 * time.Minute)
	pub("new")
	now = now.Add(20 * time.Minute) // "old" is 70 min old, "new" 20 min
	n, err := s.TrimExpired()
	if err != nil || n != 1 {
		t.Fatalf("TrimExpired = %d, %v; want 1", n, err)
	}
	recs, _ := s.Records(ShardID(0), "", 10)
	if len(recs) != 1 || string(recs[0].Data) != "new" {
		t.Fatalf("after trim: %+v", recs)
	}
	var got []string
	err = s.ReadRange(t.Context(), s.ARN(), ShardID(0), old, recs[0].SequenceNumber, func(r stream.Stored) error {
		got = append(got, string(r.Data))
		return nil
	})
	if !errors.Is(err, stream.ErrTrimmed) || len(got) != 1 {
		t.Errorf("ReadRange over a trimmed start = %v, %v; want ErrTrimmed after [new]", got, err)
	}
}

// TestExpired: a consumer learns how many records it never read were
// trimmed, once: from the position it moves to, nothing more is lost.
func TestExpired(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	s := newStream(t, Options{Shards: 1, Retention: time.Hour, Now: func() time.Time { return now }})
	sh := ShardID(0)
	for i := range 5 {
		if _, err := s.Publish(t.Context(), []stream.Record{{PartitionKey: "k", Data: []byte{byte(i)}}}); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			now = now.Add(2 * time.Hour) // the first three expire
		}
	}
	recs, _ := s.Records(sh, "", 10)
	if n, last, err := s.Expired(sh, ""); n != 0 || last != "" || err != nil {
		t.Errorf("before the trim Expired = %d, %q, %v; want nothing", n, last, err)
	}
	if n, err := s.TrimExpired(); n != 3 || err != nil {
		t.Fatalf("TrimExpired = %d, %v; want 3", n, err)
	}
	for _, tc := range []struct {
		after    string
		wantN    int64
		wantLast string
	}{
		{"", 3, recs[2].SequenceNumber},
		{recs[0].SequenceNumber, 2, recs[2].SequenceNumber},
		{recs[2].SequenceNumber, 0, ""},
		{recs[4].SequenceNumber, 0, ""},
	} {
		n, last, err := s.Expired(sh, tc.after)
		if err != nil || n != tc.wantN || last != tc.wantLast {
			t.Errorf("Expired(after %q) = %d, %q, %v; want %d, %q", tc.after, n, last, err, tc.wantN, tc.wantLast)
		}
	}
	if _, _, err := s.Expired(sh, "12abc"); err == nil {
		t.Error("Expired after a garbage sequence number: no error")
	}
}

// TestPartitionKeyMustBeUTF8: Kinesis's partition keys are strings; the
// archive (and JSON) could not carry other bytes losslessly.
func TestPartitionKeyMustBeUTF8(t *testing.T) {
	s := newStream(t, Options{Shards: 1})
	res, err := s.Publish(t.Context(), []stream.Record{{PartitionKey: "bad\xff", Data: []byte("x")}, {PartitionKey: "good", Data: []byte("y")}})
	if err != nil || res.Published != 1 || len(res.Failed) != 1 || res.Failed[0].Index != 0 || res.Failed[0].Code != CodeInvalidArgument {
		t.Errorf("Publish = %+v, %v; want the invalid key refused alone", res, err)
	}
	if _, _, err := s.PutRecord(t.Context(), stream.Record{PartitionKey: "bad\xff", Data: []byte("x")}); !errors.As(err, new(*InvalidArgumentError)) {
		t.Errorf("PutRecord with an invalid key: %v; want an *InvalidArgumentError", err)
	}
}

func TestReadRangeRefusesForeignInput(t *testing.T) {
	s := newStream(t, Options{Shards: 2})
	if _, err := s.Publish(t.Context(), []stream.Record{{PartitionKey: "a", Data: []byte("1")}}); err != nil {
		t.Fatal(err)
	}
	sh := s.ShardFor("a")
	last, _ := s.Latest(sh)
	nop := func(stream.Stored) error { return nil }
	for name, call := range map[string]func() error{
		"other stream":  func() error { return s.ReadRange(t.Context(), "arn:aws:kinesis:x:1:stream/other", sh, last, last, nop) },
		"unknown shard": func() error { return s.ReadRange(t.Context(), s.ARN(), "shardId-000000000009", last, last, nop) },
		"garbage seq":   func() error { return s.ReadRange(t.Context(), s.ARN(), sh, "12abc", last, nop) },
		"other's seq":   func() error { return s.ReadRange(t.Context(), s.ARN(), ShardID(1-indexOf(sh)), last, last, nop) },
	} {
		if err := call(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func indexOf(shardID string) int {
	if shardID == ShardID(0) {
		return 0
	}
	return 1
}

func BenchmarkPublish(b *testing.B) {
	s := newStream(b, Options{Shards: 2})
	recs := make([]stream.Record, 250)
	for i := range recs {
		recs[i] = stream.Record{PartitionKey: fmt.Sprintf("movie-%d", i), Data: make([]byte, 600)}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Publish(b.Context(), recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(recs))/b.Elapsed().Seconds(), "records/s")
}

// FuzzParseSeq: sequence numbers come back from SQS messages and HTTP
// clients; parsing never panics, and what seq writes reads back.
func FuzzParseSeq(f *testing.F) {
	f.Add(0, uint64(0), "49000000000000000000000000000000000000000000000000000001")
	f.Add(7, uint64(123456789), "4900")
	f.Add(999, ^uint64(0), "x")
	f.Fuzz(func(t *testing.T, shard int, n uint64, raw string) {
		parseSeq(shard, raw) // no panic on anything
		if shard < 0 || shard > 999 {
			return
		}
		s := seq(shard, n)
		if len(s) != 56 {
			t.Fatalf("seq(%d, %d) = %q: not 56 digits", shard, n, s)
		}
		got, err := parseSeq(shard, s)
		if err != nil || got != n {
			t.Fatalf("parseSeq(seq(%d, %d)) = %d, %v", shard, n, got, err)
		}
		if _, err := parseSeq((shard+1)%1000, s); err == nil {
			t.Fatalf("%s accepted as a number of another shard", s)
		}
	})
}
