package embedded

import (
	"errors"
	"path/filepath"
	"testing"
)

// A write that fails after writing leaves nothing behind in the shared
// transaction: what it replaced is put back, what it added removed.
func TestBulkWriteThatFailsIsUndone(t *testing.T) {
	kv, err := openBolt(filepath.Join(t.TempDir(), "t.db"))
	if err != nil {
		t.Fatal(err)
	}
	kv.bulk = &bulk{every: 100}
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
