package firehose

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/dir"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/esm"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/kinesis"
)

// fixture is an embedded stream, checkpoints and a directory archive.
type fixture struct {
	t      testing.TB
	db     *bolt.DB
	stream *kinesis.Stream
	store  *dir.Store
	now    func() time.Time
}

func newFixture(t testing.TB, opts kinesis.Options) *fixture {
	t.Helper()
	d := t.TempDir()
	db, err := bolt.Open(filepath.Join(d, "stream.db"), 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	db.NoSync = true
	t.Cleanup(func() { db.Close() })
	opts.Name = "events"
	if opts.Shards == 0 {
		opts.Shards = 2
	}
	s, err := kinesis.Open(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	store, err := dir.New(filepath.Join(d, "archive"))
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, db: db, stream: s, store: store, now: time.Now}
}

func (f *fixture) options() Options {
	return Options{Name: "archiver test", Writer: "test", Interval: 20 * time.Millisecond, Backoff: time.Millisecond,
		MaxBackoff: 10 * time.Millisecond, Now: f.now}
}

// publish puts n records over keys; data i is its index, and every fifth
// is bytes that are not UTF-8 (a poison record).
func (f *fixture) publish(from, n int) {
	f.t.Helper()
	var recs []stream.Record
	for i := from; i < from+n; i++ {
		data := fmt.Appendf(nil, `{"n":%d}`, i)
		if i%5 == 0 {
			data = append([]byte{0xff, 0xfe, byte(i)}, "poison"...)
		}
		recs = append(recs, stream.Record{PartitionKey: fmt.Sprintf("key-%d", i%7), Data: data})
	}
	res, err := f.stream.Publish(context.Background(), recs)
	if err != nil || len(res.Failed) > 0 {
		f.t.Fatalf("publish: %+v, %v", res, err)
	}
}

// archived returns every record in the archive, in key then line order.
func (f *fixture) archived() []archive.Record {
	f.t.Helper()
	var out []archive.Record
	if err := archive.Scan(context.Background(), f.store, archive.ScanOptions{}, func(r archive.Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		f.t.Fatal(err)
	}
	return out
}

// streamed returns every record on the stream as the archive keeps them.
func (f *fixture) streamed() []archive.Record {
	f.t.Helper()
	all, err := f.stream.ReadAll(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	out := make([]archive.Record, len(all))
	for i, r := range all {
		out[i] = archive.Record{ShardID: r.ShardID, SequenceNumber: r.SequenceNumber, PartitionKey: r.PartitionKey,
			ArrivalTime: r.ArrivalTime.UTC(), Data: r.Data}
	}
	return out
}

// byPlace sorts records as the stream holds them: shard, then sequence.
func byPlace(recs []archive.Record) []archive.Record {
	out := append([]archive.Record(nil), recs...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && less(out[j], out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

func less(a, b archive.Record) bool {
	if a.ShardID != b.ShardID {
		return a.ShardID < b.ShardID
	}
	return stream.CompareSeq(a.SequenceNumber, b.SequenceNumber) < 0
}

// running is an archiver serving in the background.
type running struct {
	*Archiver
	stop func()
}

func start(t *testing.T, src Source, cps Checkpoints, w archive.Writer, o Options) *running {
	t.Helper()
	a, err := New(src, cps, w, o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return &running{a, stop}
}

// waitFor polls cond for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestArchivesEveryRecordByteForByte: what reaches the stream, poison
// records included, is in the archive with its shard, sequence number,
// partition key, arrival time and exact bytes; checkpoints follow.
func TestArchivesEveryRecordByteForByte(t *testing.T) {
	f := newFixture(t, kinesis.Options{})
	f.publish(0, 30)
	a := start(t, f.stream, esm.BoltCheckpoints{DB: f.db}, f.store, f.options())
	waitFor(t, "30 records archived", func() bool { return a.Status().Records == 30 })
	f.publish(30, 20) // while it runs
	// Records count once the object is written; the checkpoints follow.
	waitFor(t, "50 records archived and checkpointed", func() bool {
		st := a.Status()
		for _, sh := range st.Shards {
			if latest, _ := f.stream.Latest(sh.ShardID); sh.ArchivedUpTo != latest {
				return false
			}
		}
		return st.Records == 50
	})

	if diff := cmp.Diff(f.streamed(), byPlace(f.archived())); diff != "" {
		t.Errorf("archive differs from the stream (-stream +archive):\n%s", diff)
	}
	st := a.Status()
	for _, sh := range st.Shards {
		latest, _ := f.stream.Latest(sh.ShardID)
		if sh.ArchivedUpTo != latest || sh.LagMs != 0 || sh.Lost != 0 {
			t.Errorf("shard %+v, want archived up to %s with no lag", sh, latest)
		}
	}
	if st.Objects < 2 || st.LastObject == nil || !strings.HasPrefix(st.LastObject.Key, "events/") || st.PendingRecords != 0 {
		t.Errorf("status %+v, want at least two objects written and nothing pending", st)
	}
}

// TestRestartResumesFromItsCheckpoints: a graceful stop writes what is
// buffered; the next run archives only what is new, each record once.
func TestRestartResumesFromItsCheckpoints(t *testing.T) {
	f := newFixture(t, kinesis.Options{})
	cps := esm.BoltCheckpoints{DB: f.db}
	o := f.options()
	o.Interval = time.Hour // only the stop writes
	f.publish(0, 10)
	a := start(t, f.stream, cps, f.store, o)
	waitFor(t, "10 records buffered", func() bool { return a.Status().PendingRecords == 10 })
	a.stop()
	if got := len(f.archived()); got != 10 {
		t.Fatalf("after a graceful stop the archive holds %d records, want 10", got)
	}
	f.publish(10, 15)
	b := start(t, f.stream, cps, f.store, f.options())
	waitFor(t, "15 new records archived", func() bool { return b.Status().Records == 15 })
	if diff := cmp.Diff(f.streamed(), byPlace(f.archived())); diff != "" {
		t.Errorf("archive after a restart (-stream +archive):\n%s", diff)
	}
}

// flakyWriter fails every Put while down is set.
type flakyWriter struct {
	archive.Writer
	down atomic.Bool
	puts atomic.Int64
}

func (w *flakyWriter) Put(ctx context.Context, key string, body []byte) error {
	w.puts.Add(1)
	if w.down.Load() {
		return errors.New("injected: no space left")
	}
	return w.Writer.Put(ctx, key, body)
}

// TestCheckpointsOnlyWhatIsDurable: while writes fail nothing is
// checkpointed, reading stops at MaxPending, and once writes succeed
// every record is archived.
func TestCheckpointsOnlyWhatIsDurable(t *testing.T) {
	f := newFixture(t, kinesis.Options{Shards: 1})
	w := &flakyWriter{Writer: f.store}
	w.down.Store(true)
	cps := esm.BoltCheckpoints{DB: f.db}
	o := f.options()
	o.MaxBytes, o.MaxPending = 200, 400 // a few lines each
	f.publish(0, 40)
	a := start(t, f.stream, cps, w, o)
	waitFor(t, "failed writes retried", func() bool { return w.puts.Load() >= 3 })
	st := a.Status()
	if st.LastError == "" || st.Objects != 0 || st.Shards[0].ArchivedUpTo != "" {
		t.Errorf("while writes fail: %+v; want the error, no object and no checkpoint", st)
	}
	if cp, _ := cps.Checkpoint(o.Name, kinesis.ShardID(0)); cp != "" {
		t.Errorf("checkpoint %q stored while no object was written", cp)
	}
	if st.PendingRecords == 0 || st.PendingRecords == 40 || st.PendingBytes > o.MaxPending+archive.MaxLineSize {
		t.Errorf("pending %d records, %d bytes; want reading stopped near MaxPending %d", st.PendingRecords, st.PendingBytes, o.MaxPending)
	}
	if st.Shards[0].LagMs <= 0 {
		t.Errorf("lag %d ms while records wait", st.Shards[0].LagMs)
	}
	w.down.Store(false)
	waitFor(t, "every record archived", func() bool { return a.Status().Records == 40 })
	if st := a.Status(); st.LastError != "" {
		t.Errorf("last error %q after writes recovered", st.LastError)
	}
	if diff := cmp.Diff(f.streamed(), byPlace(f.archived())); diff != "" {
		t.Errorf("archive (-stream +archive):\n%s", diff)
	}
}

// lockedBuffer is a log destination tests read while the archiver writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestExpiredRecordsAreCountedOnce: records retention trimmed before the
// archiver read them are counted as lost and logged as an error, once,
// across restarts; the archiver goes on with the rest.
func TestExpiredRecordsAreCountedOnce(t *testing.T) {
	var offset atomic.Int64 // the clock runs, two hours ahead once the first records are in
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	f := newFixture(t, kinesis.Options{Shards: 1, Retention: time.Hour, Now: now})
	f.now = now
	f.publish(0, 4)
	offset.Store(int64(2 * time.Hour))
	f.publish(4, 3)
	if n, err := f.stream.TrimExpired(); n != 4 || err != nil {
		t.Fatalf("TrimExpired = %d, %v", n, err)
	}
	var logs lockedBuffer
	cps := esm.BoltCheckpoints{DB: f.db}
	o := f.options()
	o.Retention = time.Hour
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	a := start(t, f.stream, cps, f.store, o)
	waitFor(t, "the 3 kept records archived", func() bool { return a.Status().Records == 3 })
	if st := a.Status(); st.Lost != 4 || st.Shards[0].Lost != 4 {
		t.Errorf("status %+v, want 4 lost", st)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "records=4") {
		t.Errorf("no error logged for the lost records:\n%s", logs.String())
	}
	a.stop()
	b := start(t, f.stream, cps, f.store, o)
	if st := b.Status(); st.Lost != 4 {
		t.Errorf("after a restart lost = %d, want the same 4", st.Lost)
	}
	f.publish(7, 2)
	waitFor(t, "new records archived", func() bool { return b.Status().Records == 2 })
	if st := b.Status(); st.Lost != 4 {
		t.Errorf("lost = %d after more records, want 4", st.Lost)
	}
	if diff := cmp.Diff(f.streamed(), byPlace(f.archived())); diff != "" {
		t.Errorf("archive (-stream +archive):\n%s", diff)
	}
}

// TestWarnsBeforeRecordsExpire: a record waiting longer than half the
// retention is an error in the log.
func TestWarnsBeforeRecordsExpire(t *testing.T) {
	f := newFixture(t, kinesis.Options{Shards: 1})
	f.publish(0, 1)
	w := &flakyWriter{Writer: f.store}
	w.down.Store(true)
	var logs lockedBuffer
	o := f.options()
	o.Retention = 40 * time.Millisecond
	o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	start(t, f.stream, esm.BoltCheckpoints{DB: f.db}, w, o)
	waitFor(t, "the lag error", func() bool { return strings.Contains(logs.String(), "falling behind") })
}

func TestNewRefusesBadOptions(t *testing.T) {
	f := newFixture(t, kinesis.Options{})
	for name, o := range map[string]Options{
		"no name":    {Writer: "w"},
		"bad writer": {Name: "n", Writer: ".w"},
		"pending":    {Name: "n", Writer: "w", MaxBytes: 100, MaxPending: 50},
	} {
		if _, err := New(f.stream, esm.BoltCheckpoints{DB: f.db}, f.store, o); err == nil {
			t.Errorf("%s: New accepted %+v", name, o)
		}
	}
}
