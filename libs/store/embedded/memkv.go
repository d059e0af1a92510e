package embedded

import (
	"slices"
	"sort"
	"sync"
	"unsafe"
)

// memKV keeps each bucket in a map and orders its keys lazily: an insert
// only notes the new key, and the next scan sorts the keys noted since the
// last one and merges them into the ordered keys (deleted keys are dropped
// then too; until then scans skip them). Updates of existing keys cost
// nothing here, so the store's hot paths (ApplyMovie on a known movie,
// GetMovie) never pay for order, and a scan after a few inserts (history,
// which looks up an observation's neighbours after each insert) costs one
// merge, not a sort of the whole bucket. One RWMutex serialises writers; an
// update writes in place and keeps an undo log to roll back on error.
type memKV struct {
	mu      sync.RWMutex
	buckets [numBuckets]memBucket
	// wtx is the one write transaction, reused: updates are exclusive.
	wtx memTx
}

type memBucket struct {
	m map[string][]byte
	// sortMu guards keys and added when readers (holding mu.RLock) merge.
	sortMu sync.Mutex
	// keys are sorted, without duplicates; they may hold keys deleted
	// since (scans skip keys that are not in m).
	keys []string
	// added are the keys inserted since keys was built, unsorted; some may
	// be in keys already (deleted and inserted again).
	added []string
	// deleted counts deletions since keys was built: once they are half of
	// keys, the next scan compacts keys even without inserts.
	deleted int
}

func newMemKV() *memKV {
	kv := &memKV{}
	for i := range kv.buckets {
		kv.buckets[i].m = make(map[string][]byte)
	}
	return kv
}

// sorted returns the sorted keys, merging the added ones first if needed.
// The slice is never modified afterwards (a merge makes a new one), so
// callers may range over it while the bucket changes; it may hold deleted
// keys, which callers skip.
func (b *memBucket) sorted() []string {
	b.sortMu.Lock()
	defer b.sortMu.Unlock()
	if len(b.added) == 0 && b.deleted*2 <= len(b.keys) {
		return b.keys
	}
	slices.Sort(b.added)
	merged := make([]string, 0, len(b.keys)+len(b.added))
	i, j := 0, 0
	for i < len(b.keys) || j < len(b.added) {
		var k string
		switch {
		case j == len(b.added) || (i < len(b.keys) && b.keys[i] < b.added[j]):
			k, i = b.keys[i], i+1
		case i == len(b.keys) || b.added[j] < b.keys[i]:
			k, j = b.added[j], j+1
		default: // equal
			k, i, j = b.keys[i], i+1, j+1
		}
		if _, live := b.m[k]; !live || (len(merged) > 0 && merged[len(merged)-1] == k) {
			continue
		}
		merged = append(merged, k)
	}
	b.keys, b.added, b.deleted = merged, nil, 0
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

func (kv *memKV) flush() error { return nil }

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
		bk.noteAdded(k)
	}
	return nil
}

func (tx *memTx) insert(b bucket, key, v []byte) error { return tx.put(b, key, v) }

func (tx *memTx) del(b bucket, key []byte) error {
	bk := &tx.kv.buckets[b]
	k := string(key)
	old, existed := bk.m[k]
	if !existed {
		return nil
	}
	tx.undo = append(tx.undo, undo{b: b, key: k, old: old, existed: true})
	delete(bk.m, k) // the ordered keys keep it until the next merge; scans skip it
	bk.deleted++
	return nil
}

// noteAdded needs no sortMu: writers hold kv.mu exclusively, so no reader
// is merging.
func (b *memBucket) noteAdded(k string) { b.added = append(b.added, k) }

func (tx *memTx) rollback() {
	for i := len(tx.undo) - 1; i >= 0; i-- {
		u := tx.undo[i]
		bk := &tx.kv.buckets[u.b]
		if u.existed {
			if _, ok := bk.m[u.key]; !ok {
				bk.noteAdded(u.key) // a scan in the transaction may have merged it away
			}
			bk.m[u.key] = u.old
		} else {
			delete(bk.m, u.key)
		}
	}
	tx.undo = tx.undo[:0]
}
