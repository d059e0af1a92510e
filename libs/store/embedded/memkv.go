package embedded

import (
	"slices"
	"sort"
	"sync"
	"unsafe"
)

// memKV keeps each bucket in a map and sorts its keys lazily: only inserts
// and deletes invalidate the order, and it is rebuilt on the next scan. The
// store's hot paths (ApplyMovie on a known movie, GetMovie) never scan, and
// listings mostly follow many updates of existing keys, so the rebuild is
// rare. One RWMutex serialises writers; an update writes in place and keeps
// an undo log to roll back on error.
type memKV struct {
	mu      sync.RWMutex
	buckets [numBuckets]memBucket
	// wtx is the one write transaction, reused: updates are exclusive.
	wtx memTx
}

type memBucket struct {
	m map[string][]byte
	// sortMu guards keys and dirty when readers (holding mu.RLock) rebuild.
	sortMu sync.Mutex
	keys   []string // sorted keys of m, valid when !dirty
	dirty  bool
}

func newMemKV() *memKV {
	kv := &memKV{}
	for i := range kv.buckets {
		kv.buckets[i].m = make(map[string][]byte)
	}
	return kv
}

// sorted returns the sorted keys, rebuilding them if needed. The slice is
// never modified afterwards (a rebuild makes a new one), so callers may
// range over it while the bucket changes.
func (b *memBucket) sorted() []string {
	b.sortMu.Lock()
	defer b.sortMu.Unlock()
	if b.dirty || b.keys == nil {
		keys := make([]string, 0, len(b.m))
		for k := range b.m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.keys, b.dirty = keys, false
	}
	return b.keys
}

func (kv *memKV) view(fn func(readTx) error) error {
	kv.mu.RLock()
	defer kv.mu.RUnlock()
	return fn(&memTx{kv: kv})
}

func (kv *memKV) update(fn func(writeTx) error) (err error) {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	tx := &kv.wtx
	tx.kv, tx.undo = kv, tx.undo[:0]
	ok := false
	defer func() {
		if !ok {
			tx.rollback()
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	ok = true
	clear(tx.undo) // do not keep replaced values alive
	return nil
}

func (kv *memKV) close() error { return nil }

type undo struct {
	b       bucket
	key     string
	old     []byte
	existed bool
}

type memTx struct {
	kv   *memKV
	undo []undo
}

func (tx *memTx) get(b bucket, key []byte) []byte { return tx.kv.buckets[b].m[string(key)] }

func (tx *memTx) ascend(b bucket, after []byte, fn func(k, v []byte) bool) {
	bk := &tx.kv.buckets[b]
	keys := bk.sorted()
	i := 0
	if after != nil {
		a := string(after)
		i = sort.SearchStrings(keys, a)
		if i < len(keys) && keys[i] == a {
			i++
		}
	}
	for ; i < len(keys); i++ {
		v, ok := bk.m[keys[i]]
		if !ok { // deleted during the scan
			continue
		}
		if !fn(bytesOf(keys[i]), v) {
			return
		}
	}
}

// bytesOf returns the bytes of s without copying them; readTx callers
// never modify the slices they are given.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

func (tx *memTx) descend(b bucket, before []byte, fn func(k, v []byte) bool) {
	bk := &tx.kv.buckets[b]
	keys := bk.sorted()
	i := len(keys) - 1
	if before != nil {
		i = sort.SearchStrings(keys, string(before)) - 1
	}
	for ; i >= 0; i-- {
		v, ok := bk.m[keys[i]]
		if !ok {
			continue
		}
		if !fn(bytesOf(keys[i]), v) {
			return
		}
	}
}

func (tx *memTx) put(b bucket, key, v []byte) error {
	bk := &tx.kv.buckets[b]
	k := string(key)
	old, existed := bk.m[k]
	tx.undo = append(tx.undo, undo{b: b, key: k, old: old, existed: existed})
	bk.m[k] = v
	if !existed {
		bk.markDirty()
	}
	return nil
}

func (tx *memTx) del(b bucket, key []byte) error {
	bk := &tx.kv.buckets[b]
	k := string(key)
	old, existed := bk.m[k]
	if !existed {
		return nil
	}
	tx.undo = append(tx.undo, undo{b: b, key: k, old: old, existed: true})
	delete(bk.m, k)
	bk.markDirty()
	return nil
}

// markDirty needs no sortMu: writers hold kv.mu exclusively, so no reader
// is rebuilding.
func (b *memBucket) markDirty() { b.dirty = true }

func (tx *memTx) rollback() {
	for i := len(tx.undo) - 1; i >= 0; i-- {
		u := tx.undo[i]
		bk := &tx.kv.buckets[u.b]
		if u.existed {
			bk.m[u.key] = u.old
		} else {
			delete(bk.m, u.key)
		}
		bk.markDirty()
	}
	tx.undo = tx.undo[:0]
}
