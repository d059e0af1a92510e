package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store/internal/layout"
)

// DefaultBulkCommitEvery is how many writes a bulk-loading store gathers
// into one transaction by default (see WithBulkLoad).
const DefaultBulkCommitEvery = 20_000

// WithBulkLoad makes a bbolt store gather its writes into large
// transactions, for loading many writes at once (tools/replay rebuilds
// the tables from the archive this way). Each write still runs alone and
// whole — it sees every write before it, and one that fails leaves
// nothing behind (its changes are undone inside the transaction) — but
// it returns as soon as it is applied to the open transaction, which is
// committed every `every` writes (DefaultBulkCommitEvery when every < 1),
// and by Flush and Close. Committing a transaction costs in proportion to
// the pages it changed, not to its writes, so this takes a fraction of a
// commit per write where every write would otherwise wait for one.
//
// Until a commit, the writes are in this process only: reads through the
// store see them (they run in the open transaction), another process
// does not, and a killed process loses them. A loader calls Flush before
// it records how far it got. Should a commit fail, every later write and
// Flush fails with that error. Writes and reads are serialised. A memory
// store ignores the option.
//
// A bulk load keeps in memory what a load writes over and over (the
// movies and runs in use, decoded, each movie's latest history key) and
// the progress markers of the open transaction, and puts them into the
// file at commit (see bulkcache.go); it also keeps a Bloom filter of the
// progress markers' keys (about 10 bits a marker), filled from the file
// when it opens, so that a new event's marker is known to be absent
// without a lookup.
func WithBulkLoad(every int) Option {
	return func(s *Store) {
		if every < 1 {
			every = DefaultBulkCommitEvery
		}
		s.bulkEvery = every
	}
}

// Flush commits the writes a bulk-loading store holds (WithBulkLoad) and,
// without WithNoSync, syncs them to disk. For any other store it does
// nothing: their writes are committed when they return.
func (s *Store) Flush() error {
	if err := s.kv.flush(); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

// bulkFill is how full a bulk load leaves the pages it splits.
var bulkFill = 0.9

// bulk holds a bbolt store's open bulk transaction.
type bulk struct {
	mu    sync.Mutex
	every int
	tx    *bolt.Tx
	btx   *boltTx
	calls int
	undo  undoTx
	// cache holds the movies, runs and greatest history keys the
	// transaction writes (see bulkcache.go).
	cache *writeCache
	// failed is the error of a failed commit: the writes since the last
	// commit are lost, and so every later call fails.
	failed error
}

// newBulk returns the bulk of db, committing every `every` writes. Its
// filter of the markers' keys starts with those in db.
func newBulk(db *bolt.DB, every int) (*bulk, error) {
	b := &bulk{every: every, cache: newWriteCache()}
	err := db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketKeys[bRuns]).Cursor()
		prefix := []byte(layout.MarkerPrefix)
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			b.cache.markerKeys.add(k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the progress markers: %w", err)
	}
	return b, nil
}

// begin opens the transaction if none is open.
func (b *bulk) begin(db *bolt.DB) error {
	if b.failed != nil {
		return b.failed
	}
	if b.tx != nil {
		return nil
	}
	tx, err := db.Begin(true)
	if err != nil {
		return err
	}
	b.tx, b.btx, b.calls = tx, newBoltTx(tx), 0
	b.btx.fill = bulkFill
	return nil
}

// commit commits the open transaction, if any, with the cache's dirty
// values.
func (b *bulk) commit() error {
	if b.tx == nil {
		return b.failed
	}
	err := b.cache.writeBack(b.btx.put, true, nil)
	if err == nil {
		err = b.tx.Commit()
	} else {
		_ = b.tx.Rollback()
	}
	b.tx, b.btx = nil, nil
	if err != nil {
		b.failed = fmt.Errorf("bulk commit failed, the writes since the previous one are lost: %w", err)
		return b.failed
	}
	b.cache.evict()
	return nil
}

func (kv *boltKV) bulkUpdate(fn func(writeTx) error) error {
	b := kv.bulk
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin(kv.db); err != nil {
		return err
	}
	u := &b.undo
	u.reset(b.btx, b.cache)
	err := fn(u)
	if err == nil {
		err = u.err
	}
	if err != nil {
		b.cache.rollback()
		if uerr := u.undo(); uerr != nil {
			// The transaction holds a part of fn's writes: drop it all.
			_ = b.tx.Rollback()
			b.tx, b.btx = nil, nil
			b.failed = fmt.Errorf("bulk write could not be undone, the writes since the last commit are lost: %w", uerr)
			return errors.Join(err, b.failed)
		}
		return err
	}
	b.cache.keep()
	if b.calls++; b.calls >= b.every {
		return b.commit()
	}
	return nil
}

func (kv *boltKV) bulkView(fn func(readTx) error) error {
	b := kv.bulk
	b.mu.Lock()
	if b.tx == nil {
		b.mu.Unlock()
		return kv.db.View(func(tx *bolt.Tx) error { return fn(newBoltTx(tx)) })
	}
	defer b.mu.Unlock()
	// The view reads the tree: the cache's dirty values go there first.
	// (Without a transaction they are all in the file: a commit wrote them.)
	if err := b.cache.writeBack(b.btx.put, true, nil); err != nil {
		return err
	}
	return fn(b.btx)
}

func (kv *boltKV) flush() error {
	if kv.bulk == nil {
		return nil
	}
	kv.bulk.mu.Lock()
	defer kv.bulk.mu.Unlock()
	return kv.bulk.commit()
}

// undoTx records how to undo the writes of one call in a shared
// transaction: the value of each key before the call first wrote it.
// Values the call read before writing are reused (a store method mostly
// reads what it then writes), so most writes cost no extra lookup.
type undoTx struct {
	*boltTx
	cache *writeCache
	undos []boltUndo // in the order of the first writes
	reads []boltRead // reads of keys not written yet
	// keys holds copies of the keys of reads: one buffer, reused from
	// call to call (calls are serialised).
	keys []byte
	// err is the first failure to put a cached value into the
	// transaction for a read: the call fails with it.
	err error
}

// reset readies u for the next call.
func (u *undoTx) reset(tx *boltTx, c *writeCache) {
	clear(u.undos) // drop the references to the transaction's memory
	clear(u.reads)
	u.boltTx, u.cache, u.undos, u.reads, u.keys, u.err = tx, c, u.undos[:0], u.reads[:0], u.keys[:0], nil
}

type boltUndo struct {
	b        bucket
	key, old []byte
	existed  bool
}

type boltRead struct {
	b          bucket
	start, end int // the key in undoTx.keys
	val        []byte
}

func (u *undoTx) get(b bucket, key []byte) []byte {
	if v, ok, err := u.cache.get(u, b, key); ok || err != nil {
		if err != nil && u.err == nil {
			u.err = err
		}
		return v
	}
	v := u.boltTx.get(b, key)
	if !u.written(b, key) {
		start := len(u.keys)
		u.keys = append(u.keys, key...)
		u.reads = append(u.reads, boltRead{b: b, start: start, end: len(u.keys), val: v})
	}
	return v
}

func (u *undoTx) written(b bucket, key []byte) bool {
	for _, d := range u.undos {
		if d.b == b && bytes.Equal(d.key, key) {
			return true
		}
	}
	return false
}

// note records key's value before the call's first write of it. The
// value needs no copy: bbolt keeps a value it returns (a page of the
// memory map, or the bytes a put handed it) unchanged until the
// transaction ends. The key is the one handed to bbolt's put, which
// bbolt keeps as long.
func (u *undoTx) note(b bucket, key []byte) {
	if u.written(b, key) {
		return
	}
	var old []byte
	found := false
	for _, r := range u.reads {
		if r.b == b && bytes.Equal(u.keys[r.start:r.end], key) {
			old, found = r.val, true
			break
		}
	}
	if !found {
		old = u.boltTx.get(b, key)
	}
	u.undos = append(u.undos, boltUndo{b: b, key: key, old: old, existed: old != nil})
}

func (u *undoTx) put(b bucket, key, v []byte) error {
	if done, err := u.cache.put(u, b, key, v); done || err != nil {
		return err
	}
	return u.rawPut(b, key, v)
}

func (u *undoTx) insert(b bucket, key, v []byte) error {
	if done, err := u.cache.put(u, b, key, v); done || err != nil {
		return err
	}
	return u.rawInsert(b, key, v)
}

func (u *undoTx) del(b bucket, key []byte) error {
	if err := u.cache.del(u, b, key); err != nil {
		return err
	}
	return u.rawDel(b, key)
}

// rawPut, rawInsert and rawDel are put, insert and del without a look at
// the cache.
func (u *undoTx) rawPut(b bucket, key, v []byte) error {
	u.note(b, key)
	return u.boltTx.put(b, key, v)
}

func (u *undoTx) rawInsert(b bucket, key, v []byte) error {
	if !u.written(b, key) {
		u.undos = append(u.undos, boltUndo{b: b, key: key})
	}
	return u.boltTx.put(b, key, v)
}

func (u *undoTx) rawDel(b bucket, key []byte) error {
	u.note(b, key)
	return u.boltTx.del(b, key)
}

// rawTx is a bulk write without the cache: its writes are undone with the
// write's, but it neither looks at nor changes the cache. The bulk path of
// RecordObservation, which keeps the cache of the history itself, works
// on the tree through it.
type rawTx struct{ u *undoTx }

func (r rawTx) get(b bucket, key []byte) []byte { return r.u.boltTx.get(b, key) }
func (r rawTx) ascend(b bucket, after []byte, fn func(k, v []byte) bool) {
	r.u.boltTx.ascend(b, after, fn)
}
func (r rawTx) descend(b bucket, before []byte, fn func(k, v []byte) bool) {
	r.u.boltTx.descend(b, before, fn)
}
func (r rawTx) put(b bucket, key, v []byte) error    { return r.u.rawPut(b, key, v) }
func (r rawTx) insert(b bucket, key, v []byte) error { return r.u.rawInsert(b, key, v) }
func (r rawTx) del(b bucket, key []byte) error       { return r.u.rawDel(b, key) }

func (u *undoTx) ascend(b bucket, after []byte, fn func(k, v []byte) bool) {
	if err := u.cache.beforeScan(u, b); err != nil && u.err == nil {
		u.err = err
	}
	u.boltTx.ascend(b, after, fn)
}

func (u *undoTx) descend(b bucket, before []byte, fn func(k, v []byte) bool) {
	if err := u.cache.beforeScan(u, b); err != nil && u.err == nil {
		u.err = err
	}
	u.boltTx.descend(b, before, fn)
}

// undo puts back, last first, what the call's writes replaced.
func (u *undoTx) undo() error {
	for i := len(u.undos) - 1; i >= 0; i-- {
		d := u.undos[i]
		var err error
		if d.existed {
			err = u.boltTx.put(d.b, d.key, d.old)
		} else {
			err = u.boltTx.del(d.b, d.key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
