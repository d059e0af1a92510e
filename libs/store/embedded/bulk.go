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
// nothing behind — but it returns as soon as it is applied in memory;
// every `every` writes (DefaultBulkCommitEvery when every < 1) what they
// wrote is committed, in the background while the next writes go on, and
// by Flush and Close. Committing a transaction costs in proportion to the
// pages it changed, not to its writes, so this takes a fraction of a
// commit per write where every write would otherwise wait for one.
//
// Until a commit, the writes are in this process only: reads through the
// store see them, another process does not, and a killed process loses
// them. A loader calls Flush before it records how far it got. Should a
// commit fail, every later write and Flush fails with that error. Writes
// and reads are serialised (the commit in the background is not one of
// them). A memory store ignores the option.
//
// A bulk load keeps in memory what a load writes over and over (the
// movies and runs in use, decoded, each movie's latest history key), the
// progress markers, index entries and in-order history observations
// written since the last commit, and a Bloom filter of the progress
// markers' keys (about 12 bits a marker, filled from the file when it
// opens), so that a new event's marker is known to be absent without a
// lookup. See bulkcache.go. After each commit it drops the tables file's
// pages from the process's resident set (on Linux; see releaseMapped): a
// load walks most of the file, which would otherwise stay mapped in.
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

// bulk is the state of a bbolt store's bulk load. Writes go to the cache
// (bulkcache.go) and, for what it does not hold, to the writers'
// transaction, which is begun only when a write needs the tree. Every
// `every` writes the cache is sealed: what it holds for the file becomes
// a batch, which a goroutine puts into the writers' transaction (or a
// transaction of its own) and commits while the next writes go on. Only a
// write that needs the tree waits for that commit to end (bbolt has one
// writing transaction); a lookup of what the cache does not hold reads
// the file, and the batch in flight.
type bulk struct {
	mu    sync.Mutex
	db    *bolt.DB
	every int
	calls int
	// tx is the writers' transaction, nil until a write needs the tree;
	// it is open only while no commit is in flight.
	tx    *bolt.Tx
	btx   *boltTx
	undo  undoTx
	cache *writeCache
	// flight is the commit in the background, nil if none.
	flight *flight
	// failed is the error of a failed commit: the writes since the last
	// commit are lost, and so every later call fails.
	failed error
}

// flight is a commit in the background.
type flight struct {
	done  chan struct{}
	err   error  // set before done is closed
	batch *batch // what it puts into the file: lookups read its markers
	// ownTx is false when it commits the writers' transaction: a lookup
	// of the file waits for it, as the file does not show that
	// transaction's writes before.
	ownTx bool
}

// newBulk returns the bulk of db, committing every `every` writes. Its
// filter of the markers' keys starts with those in db.
func newBulk(db *bolt.DB, every int) (*bulk, error) {
	b := &bulk{db: db, every: every, cache: newWriteCache()}
	b.undo.b = b
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

// land waits for the commit in flight, if any, and returns the error of
// the load (a failed commit, now or before).
func (b *bulk) land() error {
	if f := b.flight; f != nil {
		<-f.done
		b.flight = nil
		if f.err != nil && b.failed == nil {
			b.failed = fmt.Errorf("bulk commit failed, the writes since the previous one are lost: %w", f.err)
		}
	}
	return b.failed
}

// tree returns the writers' transaction, beginning it (after the commit in
// flight) if needed.
func (b *bulk) tree() (*boltTx, error) {
	if b.btx != nil {
		return b.btx, nil
	}
	if err := b.land(); err != nil {
		return nil, err
	}
	tx, err := b.db.Begin(true)
	if err != nil {
		return nil, err
	}
	b.tx, b.btx = tx, newBoltTx(tx)
	b.btx.fill = bulkFill
	return b.btx, nil
}

// lookup returns the value of key in bucket bk as the file and the batch
// in flight have it, for what the cache does not hold (the caller copies
// nothing: the value is its own).
func (b *bulk) lookup(bk bucket, key []byte) ([]byte, error) {
	if b.btx != nil {
		return b.btx.get(bk, key), nil
	}
	if f := b.flight; f != nil {
		if isMarker(bk, key) {
			if v, ok := f.batch.markers[string(key)]; ok {
				return v, nil
			}
		}
		if !f.ownTx {
			if err := b.land(); err != nil {
				return nil, err
			}
		}
	}
	if b.failed != nil {
		return nil, b.failed
	}
	var v []byte
	err := b.db.View(func(tx *bolt.Tx) error {
		v = bytes.Clone(newBoltTx(tx).get(bk, key))
		return nil
	})
	return v, err
}

// seal ends the commit interval: it waits for the commit in flight, drops
// what the cache need not keep, and starts the commit of what the
// interval wrote.
func (b *bulk) seal() error {
	if err := b.land(); err != nil {
		return err
	}
	b.calls = 0
	b.cache.evict()
	bt := b.cache.seal()
	if b.tx == nil && bt.empty() {
		return nil
	}
	f := &flight{done: make(chan struct{}), batch: bt, ownTx: b.tx == nil}
	tx := b.tx
	b.flight, b.tx, b.btx = f, nil, nil
	go func() {
		defer close(f.done)
		if f.err = commitBatch(b.db, tx, bt); f.err == nil {
			releaseMapped(b.db)
		}
	}()
	return nil
}

// commitBatch puts bt into tx (a transaction of its own if nil) and
// commits it.
func commitBatch(db *bolt.DB, tx *bolt.Tx, bt *batch) error {
	if tx == nil {
		var err error
		if tx, err = db.Begin(true); err != nil {
			return err
		}
	}
	btx := newBoltTx(tx)
	btx.fill = bulkFill
	if err := bt.write(btx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func (kv *boltKV) bulkUpdate(fn func(writeTx) error) error {
	b := kv.bulk
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.failed != nil {
		return b.failed
	}
	u := &b.undo
	u.reset()
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
		return b.seal()
	}
	return nil
}

func (kv *boltKV) bulkView(fn func(readTx) error) error {
	b := kv.bulk
	b.mu.Lock()
	defer b.mu.Unlock()
	// The view reads the writers' transaction, with what the cache holds
	// for the file put into it (it is committed with the next batch).
	btx, err := b.tree()
	if err != nil {
		return err
	}
	if err := b.cache.seal().write(btx); err != nil {
		return err
	}
	return fn(btx)
}

func (kv *boltKV) flush() error {
	if kv.bulk == nil {
		return nil
	}
	b := kv.bulk
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.seal(); err != nil {
		return err
	}
	return b.land()
}

// undoTx is a write of a bulk load. It reads and writes through the cache
// (bulkcache.go) and, for what the cache does not hold, the writers'
// transaction, recording how to undo its writes there: the value of each
// key before the write first wrote it. Values the write read before
// writing are reused (a store method mostly reads what it then writes), so
// most writes cost no extra lookup.
type undoTx struct {
	b     *bulk
	cache *writeCache
	undos []boltUndo // in the order of the first writes
	reads []boltRead // reads of keys not written yet
	// keys holds copies of the keys of reads: one buffer, reused from
	// call to call (calls are serialised).
	keys []byte
	// err is the first failure of a read (beginning the transaction, or
	// putting a cached value into it): the write fails with it.
	err error
}

// reset readies u for the next call.
func (u *undoTx) reset() {
	clear(u.undos) // drop the references to the transaction's memory
	clear(u.reads)
	u.cache, u.undos, u.reads, u.keys, u.err = u.b.cache, u.undos[:0], u.reads[:0], u.keys[:0], nil
}

// tree returns the writers' transaction (see bulk.tree); on failure it
// records the error and returns nil.
func (u *undoTx) tree() *boltTx {
	btx, err := u.b.tree()
	if err != nil {
		u.fail(err)
	}
	return btx
}

func (u *undoTx) fail(err error) {
	if u.err == nil {
		u.err = err
	}
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
		if err != nil {
			u.fail(err)
		}
		return v
	}
	btx := u.tree()
	if btx == nil {
		return nil
	}
	v := btx.get(b, key)
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
func (u *undoTx) note(btx *boltTx, b bucket, key []byte) {
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
		old = btx.get(b, key)
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
	if done, err := u.cache.del(u, b, key); done || err != nil {
		return err
	}
	return u.rawDel(b, key)
}

// rawPut, rawInsert and rawDel are put, insert and del of the writers'
// transaction, without a look at the cache.
func (u *undoTx) rawPut(b bucket, key, v []byte) error {
	btx, err := u.b.tree()
	if err != nil {
		return err
	}
	u.note(btx, b, key)
	return btx.put(b, key, v)
}

func (u *undoTx) rawInsert(b bucket, key, v []byte) error {
	btx, err := u.b.tree()
	if err != nil {
		return err
	}
	if !u.written(b, key) {
		u.undos = append(u.undos, boltUndo{b: b, key: key})
	}
	return btx.put(b, key, v)
}

func (u *undoTx) rawDel(b bucket, key []byte) error {
	btx, err := u.b.tree()
	if err != nil {
		return err
	}
	u.note(btx, b, key)
	return btx.del(b, key)
}

func (u *undoTx) ascend(b bucket, after []byte, fn func(k, v []byte) bool) {
	if err := u.cache.beforeScan(u, b); err != nil {
		u.fail(err)
		return
	}
	if btx := u.tree(); btx != nil {
		btx.ascend(b, after, fn)
	}
}

func (u *undoTx) descend(b bucket, before []byte, fn func(k, v []byte) bool) {
	if err := u.cache.beforeScan(u, b); err != nil {
		u.fail(err)
		return
	}
	if btx := u.tree(); btx != nil {
		btx.descend(b, before, fn)
	}
}

// undo puts back, last first, what the call's writes replaced.
func (u *undoTx) undo() error {
	if len(u.undos) == 0 {
		return nil
	}
	btx := u.b.btx // open: the writes were made in it
	for i := len(u.undos) - 1; i >= 0; i-- {
		d := u.undos[i]
		var err error
		if d.existed {
			err = btx.put(d.b, d.key, d.old)
		} else {
			err = btx.del(d.b, d.key)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// rawTx is a bulk write without the cache: its writes are undone with the
// write's, but it neither looks at nor changes the cache. The bulk path of
// RecordObservation, which keeps the cache of the history itself, works
// on the tree through it.
type rawTx struct{ u *undoTx }

func (r rawTx) get(b bucket, key []byte) []byte {
	if btx := r.u.tree(); btx != nil {
		return btx.get(b, key)
	}
	return nil
}

func (r rawTx) ascend(b bucket, after []byte, fn func(k, v []byte) bool) {
	if btx := r.u.tree(); btx != nil {
		btx.ascend(b, after, fn)
	}
}

func (r rawTx) descend(b bucket, before []byte, fn func(k, v []byte) bool) {
	if btx := r.u.tree(); btx != nil {
		btx.descend(b, before, fn)
	}
}

func (r rawTx) put(b bucket, key, v []byte) error    { return r.u.rawPut(b, key, v) }
func (r rawTx) insert(b bucket, key, v []byte) error { return r.u.rawInsert(b, key, v) }
func (r rawTx) del(b bucket, key []byte) error       { return r.u.rawDel(b, key) }
