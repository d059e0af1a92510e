package embedded

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func kvBackings(t *testing.T) map[string]kv {
	b, err := openBolt(filepath.Join(t.TempDir(), "kv.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.close() })
	return map[string]kv{"memory": newMemKV(), "bolt": b}
}

func keysOf(t *testing.T, s kv, b bucket, desc bool, from []byte) []string {
	t.Helper()
	var out []string
	err := s.view(func(tx readTx) error {
		fn := func(k, v []byte) bool { out = append(out, string(k)+"="+string(v)); return true }
		if desc {
			tx.descend(b, from, fn)
		} else {
			tx.ascend(b, from, fn)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestKVScansAndRollback(t *testing.T) {
	for name, s := range kvBackings(t) {
		t.Run(name, func(t *testing.T) {
			err := s.update(func(tx writeTx) error {
				for _, k := range []string{"b", "d", "a", "c"} {
					if err := tx.put(bMovies, []byte(k), []byte("1")); err != nil {
						return err
					}
				}
				return tx.put(bRuns, []byte("a"), []byte("other bucket"))
			})
			if err != nil {
				t.Fatal(err)
			}
			errBoom := errors.New("boom")
			err = s.update(func(tx writeTx) error {
				tx.put(bMovies, []byte("b"), []byte("2"))
				tx.put(bMovies, []byte("e"), []byte("2"))
				tx.del(bMovies, []byte("a"))
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				t.Fatalf("failed update returned %v", err)
			}
			tests := []struct {
				name string
				desc bool
				from string
				want []string
			}{
				{"ascend all", false, "", []string{"a=1", "b=1", "c=1", "d=1"}},
				{"ascend after b", false, "b", []string{"c=1", "d=1"}},
				{"ascend after bb", false, "bb", []string{"c=1", "d=1"}},
				{"ascend after z", false, "z", nil},
				{"descend all", true, "", []string{"d=1", "c=1", "b=1", "a=1"}},
				{"descend before c", true, "c", []string{"b=1", "a=1"}},
				{"descend before bb", true, "bb", []string{"b=1", "a=1"}},
				{"descend before z", true, "z", []string{"d=1", "c=1", "b=1", "a=1"}},
				{"descend before a", true, "a", nil},
			}
			for _, tt := range tests {
				var from []byte
				if tt.from != "" {
					from = []byte(tt.from)
				}
				if diff := cmp.Diff(tt.want, keysOf(t, s, bMovies, tt.desc, from)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", tt.name, diff)
				}
			}
		})
	}
}

// TestBoltGroupCommitIsolatesFailures checks that a failing update grouped
// with others fails alone.
func TestBoltGroupCommitIsolatesFailures(t *testing.T) {
	s := kvBackings(t)["bolt"]
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			errs[i] = s.update(func(tx writeTx) error {
				if err := tx.put(bMovies, fmt.Appendf(nil, "k%03d", i), []byte("v")); err != nil {
					return err
				}
				if i%10 == 0 {
					return fmt.Errorf("update %d fails", i)
				}
				return nil
			})
		})
	}
	wg.Wait()
	var want []string
	for i := range n {
		if (errs[i] != nil) != (i%10 == 0) {
			t.Errorf("update %d: error %v", i, errs[i])
		}
		if i%10 != 0 {
			want = append(want, fmt.Sprintf("k%03d=v", i))
		}
	}
	if diff := cmp.Diff(want, keysOf(t, s, bMovies, false, nil)); diff != "" {
		t.Errorf("keys (-want +got):\n%s", diff)
	}
}
