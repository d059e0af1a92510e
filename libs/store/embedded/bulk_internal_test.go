package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/internal/layout"
)

// A write that fails after writing leaves nothing behind in the shared
// transaction: what it replaced is put back, what it added removed.
func TestBulkWriteThatFailsIsUndone(t *testing.T) {
	kv, err := openBolt(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	if kv.bulk, err = newBulk(kv.db, 100); err != nil {
		t.Fatal(err)
	}
	defer kv.close()
	put := func(tx writeTx, k, v string) error { return tx.put(bMovies, []byte(k), []byte(v)) }
	if err := kv.update(func(tx writeTx) error {
		return errors.Join(put(tx, "a", "1"), put(tx, "b", "1"))
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := kv.update(func(tx writeTx) error {
		if err := errors.Join(put(tx, "a", "2"), put(tx, "a", "3"), tx.del(bMovies, []byte("b")), put(tx, "c", "2")); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("update = %v, want boom", err)
	}
	for _, flushed := range []bool{false, true} {
		if flushed {
			if err := kv.flush(); err != nil {
				t.Fatal(err)
			}
		}
		got := map[string]string{}
		kv.view(func(tx readTx) error {
			tx.ascend(bMovies, nil, func(k, v []byte) bool { got[string(k)] = string(v); return true })
			return nil
		})
		if want := map[string]string{"a": "1", "b": "1"}; len(got) != 2 || got["a"] != "1" || got["b"] != "1" {
			t.Errorf("flushed %v: after the failed write %v, want %v", flushed, got, want)
		}
	}
}

// openBulkKV opens a bulk-loading bbolt backing committing every `every`
// writes.
func openBulkKV(t *testing.T, path string, every int) *boltKV {
	t.Helper()
	kv, err := openBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	if kv.bulk, err = newBulk(kv.db, every); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kv.close() })
	return kv
}

var bulkT0 = time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)

func bulkMovie(id, title string) store.Movie {
	return store.Movie{ID: id, Title: title, Year: 1994, Genres: []string{"Drama"}, Source: "s", FirstSeen: bulkT0,
		LastSeen: bulkT0, LastRunID: "r1", LastEventID: "e-" + title, LastEventTime: bulkT0}
}

// The movies and runs a bulk write stores stay in the write-back cache;
// code that reads or writes their keys directly sees the cached values,
// and a direct write replaces them.
func TestBulkCacheSeenByDirectAccess(t *testing.T) {
	kv := openBulkKV(t, filepath.Join(t.TempDir(), "t.db"), 1000)
	m1, m2 := bulkMovie("tt1", "one"), bulkMovie("tt1", "two")
	run := store.Run{ID: "r1", Processed: 3}
	if err := kv.update(func(tx writeTx) error {
		return errors.Join(storeMovie(tx, m1, nil), writeRun(tx, run))
	}); err != nil {
		t.Fatal(err)
	}
	if got := len(kv.bulk.cache.movies) + len(kv.bulk.cache.runs); got != 2 {
		t.Fatalf("%d cached entries, want the movie and the run", got)
	}
	decoded := func(v []byte, err error) store.Movie {
		t.Helper()
		m, derr := decodeMovie(v)
		if err = errors.Join(err, derr); err != nil {
			t.Fatal(err)
		}
		return m
	}
	// A get, a scan and a view see the cached values.
	var got []byte
	var scanned []string
	if err := kv.update(func(tx writeTx) error {
		got = bytes.Clone(tx.get(bMovies, []byte("tt1")))
		tx.ascend(bRuns, nil, func(k, _ []byte) bool { scanned = append(scanned, string(k)); return true })
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m1, decoded(got, nil)); diff != "" {
		t.Errorf("get of a cached movie (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{layout.RunKey("r1")}, scanned); diff != "" {
		t.Errorf("scan of the runs (-want +got):\n%s", diff)
	}
	if err := kv.view(func(tx readTx) error {
		r, err := decodeRun(tx.get(bRuns, []byte(layout.RunKey("r1"))))
		if err == nil && r.Processed != 3 {
			err = fmt.Errorf("run in a view = %+v, want Processed 3", r)
		}
		return err
	}); err != nil {
		t.Error(err)
	}
	// A direct put replaces the cached value.
	if err := kv.update(func(tx writeTx) error { return tx.put(bMovies, []byte("tt1"), encodeMovie(m2)) }); err != nil {
		t.Fatal(err)
	}
	if err := kv.update(func(tx writeTx) error {
		m, ok, err := loadMovie(tx, "tt1", nil)
		if err == nil && !ok {
			err = errors.New("no movie")
		}
		if diff := cmp.Diff(m2, m); diff != "" {
			err = errors.Join(err, fmt.Errorf("movie after a direct put (-want +got):\n%s", diff))
		}
		return err
	}); err != nil {
		t.Error(err)
	}
}

// A bulk write that fails leaves the cache, the marker buffer and the
// history's greatest keys as they were, as it leaves the transaction.
func TestBulkCacheUndoneWithFailedWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.db")
	kv := openBulkKV(t, path, 1000)
	s := &Store{kv: kv, now: time.Now}
	ctx := t.Context()
	m1 := bulkMovie("tt1", "one")
	mk1, mk2 := []byte(layout.MarkerKey("r1", "e1")), []byte(layout.MarkerKey("r1", "e2"))
	obs := func(h int) store.Observation {
		return store.Observation{MovieID: "tt1", ObservedAt: bulkT0.Add(time.Duration(h) * time.Hour), EventID: fmt.Sprint("e", h),
			RunID: "r1", Rank: h, Rating: 8, Votes: 100 * h}
	}
	if err := kv.update(func(tx writeTx) error {
		return errors.Join(storeMovie(tx, m1, nil), writeRun(tx, store.Run{ID: "r1", Processed: 1}), tx.put(bRuns, mk1, []byte("m1")))
	}); err != nil {
		t.Fatal(err)
	}
	for _, h := range []int{1, 3} {
		if err := s.RecordObservation(ctx, obs(h)); err != nil {
			t.Fatal(err)
		}
	}
	tail := kv.bulk.cache.history["tt1"]
	if len(tail.pending) != 1 {
		t.Fatalf("%d observations waiting, want the second", len(tail.pending))
	}
	boom := errors.New("boom")
	for _, scan := range []bool{false, true} {
		err := kv.update(func(tx writeTx) error {
			if scan { // the buffered markers and dirty values go into the transaction
				tx.ascend(bRuns, nil, func(k, v []byte) bool { return true })
			}
			m2 := bulkMovie("tt1", "two")
			m3 := bulkMovie("tt2", "three")
			return errors.Join(storeMovie(tx, m2, nil), storeMovie(tx, m3, nil), writeRun(tx, store.Run{ID: "r1", Processed: 2}),
				writeRun(tx, store.Run{ID: "r2", Processed: 1}), tx.put(bRuns, mk1, []byte("changed")), tx.put(bRuns, mk2, []byte("m2")),
				recordIn(tx, obs(4)), recordIn(tx, obs(2)), boom)
		})
		if !errors.Is(err, boom) {
			t.Fatalf("update = %v, want boom", err)
		}
		if diff := cmp.Diff(tail, kv.bulk.cache.history["tt1"], cmp.AllowUnexported(historyTail{}, observation{}, pendingObs{})); diff != "" {
			t.Errorf("scan %v: the movie's greatest history key (-want +got):\n%s", scan, diff)
		}
		checkBulkState(t, kv, m1, mk1, mk2)
	}
	if err := kv.flush(); err != nil {
		t.Fatal(err)
	}
	checkBulkState(t, kv, m1, mk1, mk2)
	p, err := s.ListHistory(ctx, "tt1", store.HistoryFilter{}, 10, nil)
	if err != nil || len(p.Items) != 2 {
		t.Errorf("history = %+v, %v; want the first two observations only", p.Items, err)
	}
}

// recordIn records o in tx as RecordObservation does.
func recordIn(tx writeTx, o store.Observation) error {
	prefix := historyPrefix(o.MovieID)
	key := append(bytes.Clone(prefix), layout.HistoryPos(o.ObservedAt, o.EventID)...)
	return recordObservation(tx, o.MovieID, key, prefix, observation{RunID: o.RunID, Rank: o.Rank, Rating: o.Rating, Votes: o.Votes})
}

// checkBulkState checks the state TestBulkCacheUndoneWithFailedWrite
// expects after its failed write: movie m1, run r1 counted once, no r2,
// tt2 or marker mk2, marker mk1 "m1".
func checkBulkState(t *testing.T, kv *boltKV, m1 store.Movie, mk1, mk2 []byte) {
	t.Helper()
	err := kv.update(func(tx writeTx) error {
		m, ok, err := loadMovie(tx, "tt1", nil)
		if diff := cmp.Diff(m1, m); diff != "" || !ok || err != nil {
			return fmt.Errorf("movie tt1 (%v, %v) (-want +got):\n%s", ok, err, diff)
		}
		if _, ok, _ := loadMovie(tx, "tt2", nil); ok {
			return errors.New("movie tt2 is there")
		}
		if r, _, err := getRun(tx, "r1"); r.Processed != 1 || err != nil {
			return fmt.Errorf("run r1 = %+v, %v; want Processed 1", r, err)
		}
		if _, ok, _ := getRun(tx, "r2"); ok {
			return errors.New("run r2 is there")
		}
		if v := tx.get(bRuns, mk1); string(v) != "m1" {
			return fmt.Errorf("marker 1 = %q, want m1", v)
		}
		if v := tx.get(bRuns, mk2); v != nil {
			return fmt.Errorf("marker 2 = %q, want none", v)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// The observations waiting in the cache are seen by a direct read of the
// history in a write, and a direct write to the history makes the cache
// forget the movies' greatest keys.
func TestBulkHistoryDirectAccess(t *testing.T) {
	kv := openBulkKV(t, filepath.Join(t.TempDir(), "t.db"), 1000)
	o := func(h int) store.Observation {
		return store.Observation{MovieID: "tt1", ObservedAt: bulkT0.Add(time.Duration(h) * time.Hour), EventID: fmt.Sprint("e", h),
			RunID: "r1", Rank: h, Votes: h}
	}
	for h := 1; h <= 3; h++ {
		if err := kv.update(func(tx writeTx) error { return recordIn(tx, o(h)) }); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(kv.bulk.cache.history["tt1"].pending); n != 2 {
		t.Fatalf("%d observations waiting, want 2 (the first looked at the tree)", n)
	}
	var keys []string
	err := kv.update(func(tx writeTx) error {
		tx.ascend(bHistoryChanges, nil, func(k, _ []byte) bool { keys = append(keys, string(k)); return true })
		return nil
	})
	if err != nil || len(keys) != 3 {
		t.Fatalf("change points seen by a scan: %d, %v; want 3", len(keys), err)
	}
	if n := len(kv.bulk.cache.history["tt1"].pending); n != 0 {
		t.Errorf("%d observations waiting after the scan, want none", n)
	}
	if err := kv.update(func(tx writeTx) error { return tx.del(bHistoryChanges, []byte(keys[0])) }); err != nil {
		t.Fatal(err)
	}
	if _, ok := kv.bulk.cache.history["tt1"]; ok {
		t.Error("greatest key still cached after a direct write to the history")
	}
}

// The filter never rules out a key it was given, and rules out nearly
// every other one, across its growth.
func TestKeyFilter(t *testing.T) {
	const first = 1 << 14
	f := newKeyFilter(first)
	const n = 5 * first
	for i := range n {
		f.add(fmt.Appendf(nil, "MARK#run-%d#event-%d", i/250, i))
	}
	for i := range n {
		if !f.mayHave(fmt.Appendf(nil, "MARK#run-%d#event-%d", i/250, i)) {
			t.Fatalf("key %d added, but ruled out", i)
		}
	}
	fp := 0
	for i := range n {
		if f.mayHave(fmt.Appendf(nil, "MARK#run-%d#other-%d", i/250, i)) {
			fp++
		}
	}
	if rate := float64(fp) / n; rate > 0.02 {
		t.Errorf("false-positive rate %.4f, want at most 0.02", rate)
	}
	if len(f.parts) < 2 {
		t.Errorf("%d filters for %d keys, want it to have grown", len(f.parts), n)
	}
}

// A commit in the background that fails makes every later write, view and
// Flush fail: the writes since the commit before are lost.
func TestBulkCommitFailureFailsLaterCalls(t *testing.T) {
	kv := openBulkKV(t, filepath.Join(t.TempDir(), "t.db"), 2)
	put := func(k string) error {
		return kv.update(func(tx writeTx) error { return tx.put(bRuns, []byte(layout.MarkerPrefix+k), []byte("v")) })
	}
	if err := put("a"); err != nil {
		t.Fatal(err)
	}
	kv.bulk.cache.markers[""] = []byte("x") // bbolt refuses an empty key: the commit fails
	if err := put("b"); err != nil {        // the second write seals the interval: its commit starts
		t.Fatalf("the write that starts the commit: %v", err)
	}
	if err := kv.flush(); err == nil {
		t.Fatal("Flush after a failed commit succeeded")
	}
	if err := put("c"); err == nil {
		t.Error("a write after a failed commit succeeded")
	}
	if err := kv.view(func(readTx) error { return nil }); err == nil {
		t.Error("a view after a failed commit succeeded")
	}
}

// A movie and a run stay cached while they go unused for fewer than
// keepIntervals commit intervals (a replay's lane comes back to its keys
// after a few), and are dropped after.
func TestBulkCacheKeepsEntriesForIntervals(t *testing.T) {
	const every = 2
	kv := openBulkKV(t, filepath.Join(t.TempDir(), "t.db"), every)
	if err := kv.update(func(tx writeTx) error {
		return errors.Join(storeMovie(tx, bulkMovie("tt1", "one"), nil), writeRun(tx, store.Run{ID: "r1"}))
	}); err != nil {
		t.Fatal(err)
	}
	n := 0
	other := func() { // a write of neither: a marker
		n++
		if err := kv.update(func(tx writeTx) error {
			return tx.put(bRuns, []byte(fmt.Sprintf("%sr2#e%03d", layout.MarkerPrefix, n)), []byte("v"))
		}); err != nil {
			t.Fatal(err)
		}
	}
	other() // ends the first interval, which wrote them
	cached := func() int { return len(kv.bulk.cache.movies) + len(kv.bulk.cache.runs) }
	for i := 1; i < keepIntervals; i++ {
		other()
		other()
		if got := cached(); got != 2 {
			t.Fatalf("%d of the movie and the run cached after %d intervals unused, want both", got, i)
		}
	}
	other()
	other()
	if got := cached(); got != 0 {
		t.Errorf("%d of the movie and the run cached after %d intervals unused, want none", got, keepIntervals)
	}
}
