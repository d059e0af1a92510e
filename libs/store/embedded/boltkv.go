package embedded

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// boltKV keeps the buckets in a bbolt file. Every commit is fsynced, so
// concurrent updates are grouped: while one commit is in flight the next
// callers queue up and then share one transaction and one fsync (group
// commit). A lone caller commits at once — unlike bolt.DB.Batch, nobody waits
// for a timer.
type boltKV struct {
	db *bolt.DB

	mu      sync.Mutex
	queue   []*call
	running bool // a committer is active

	// bulk is set in bulk-loading mode (WithBulkLoad).
	bulk *bulk
}

type call struct {
	fn   func(writeTx) error
	done chan error
}

// openBolt opens (creating it and its directory if needed) the bbolt file
// at path. It fails after a second if another process holds the file.
func openBolt(path string) (*boltKV, error) {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range bucketNames {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return &boltKV{db: db}, nil
}

func (kv *boltKV) view(fn func(readTx) error) error {
	if kv.bulk != nil {
		return kv.bulkView(fn)
	}
	return kv.db.View(func(tx *bolt.Tx) error { return fn(newBoltTx(tx)) })
}

func (kv *boltKV) update(fn func(writeTx) error) error {
	if kv.bulk != nil {
		return kv.bulkUpdate(fn)
	}
	c := &call{fn: fn, done: make(chan error, 1)}
	kv.mu.Lock()
	kv.queue = append(kv.queue, c)
	if kv.running {
		kv.mu.Unlock()
		return <-c.done
	}
	kv.running = true
	kv.mu.Unlock()
	// This caller leads: it commits the queue (its own call included) and,
	// if more callers queued up meanwhile, hands on to a goroutine so that
	// it returns as soon as its own commit is done.
	kv.commitNext()
	return <-c.done
}

// commitNext commits the queued calls, then starts another round in a
// goroutine if the queue filled up again, or marks the committer idle.
func (kv *boltKV) commitNext() {
	kv.mu.Lock()
	batch := kv.queue
	kv.queue = nil
	kv.mu.Unlock()

	kv.commit(batch)

	kv.mu.Lock()
	defer kv.mu.Unlock()
	if len(kv.queue) == 0 {
		kv.running = false
		return
	}
	go kv.commitNext()
}

// commit runs batch in one transaction. If a call fails, the transaction is
// rolled back and every call is run again in its own transaction, so that
// one call's error never undoes another's writes.
func (kv *boltKV) commit(batch []*call) {
	if len(batch) > 1 {
		err := kv.db.Update(func(tx *bolt.Tx) error {
			btx := newBoltTx(tx)
			for _, c := range batch {
				if err := c.fn(btx); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			for _, c := range batch {
				c.done <- nil
			}
			return
		}
	}
	for _, c := range batch {
		c.done <- kv.db.Update(func(tx *bolt.Tx) error { return c.fn(newBoltTx(tx)) })
	}
}

func (kv *boltKV) close() error {
	return errors.Join(kv.flush(), kv.db.Close())
}

type boltTx struct {
	tx *bolt.Tx
	// fill, when not zero, is the FillPercent of the buckets (bulk
	// loading: mostly appends).
	fill float64
	// buckets are opened on first use: opening one allocates, and most
	// transactions touch two or three of them.
	buckets [numBuckets]*bolt.Bucket
}

func newBoltTx(tx *bolt.Tx) *boltTx { return &boltTx{tx: tx} }

// bucket returns bucket b of the transaction, opening it if needed (Open
// created them all).
func (t *boltTx) bucket(b bucket) *bolt.Bucket {
	if t.buckets[b] == nil {
		t.buckets[b] = t.tx.Bucket(bucketKeys[b])
		if t.fill != 0 {
			t.buckets[b].FillPercent = t.fill
		}
	}
	return t.buckets[b]
}

// bucketKeys are the bucket names as bbolt keys.
var bucketKeys = func() (keys [numBuckets][]byte) {
	for i, name := range bucketNames {
		keys[i] = []byte(name)
	}
	return keys
}()

func (t *boltTx) get(b bucket, key []byte) []byte { return t.bucket(b).Get(key) }

func (t *boltTx) ascend(b bucket, after []byte, fn func(k, v []byte) bool) {
	c := t.bucket(b).Cursor()
	var k, v []byte
	if after == nil {
		k, v = c.First()
	} else {
		k, v = c.Seek(after)
		if k != nil && bytes.Equal(k, after) {
			k, v = c.Next()
		}
	}
	for ; k != nil; k, v = c.Next() {
		if !fn(k, v) {
			return
		}
	}
}

func (t *boltTx) descend(b bucket, before []byte, fn func(k, v []byte) bool) {
	c := t.bucket(b).Cursor()
	var k, v []byte
	if before == nil {
		k, v = c.Last()
	} else {
		// Seek finds the first key >= before; the one before it is the
		// first key < before.
		if k, _ = c.Seek(before); k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
	}
	for ; k != nil; k, v = c.Prev() {
		if !fn(k, v) {
			return
		}
	}
}

func (t *boltTx) put(b bucket, key, v []byte) error {
	if err := t.bucket(b).Put(key, v); err != nil {
		return fmt.Errorf("put %s: %w", b, err)
	}
	return nil
}

func (t *boltTx) insert(b bucket, key, v []byte) error { return t.put(b, key, v) }

func (t *boltTx) del(b bucket, key []byte) error {
	if err := t.bucket(b).Delete(key); err != nil {
		return fmt.Errorf("delete %s: %w", b, err)
	}
	return nil
}
