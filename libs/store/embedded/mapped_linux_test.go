package embedded

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// mappedRSS returns the resident size (kB) of this process's mappings of
// the file at path, from /proc/self/smaps.
func mappedRSS(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI must check the release, but /proc/self/smaps cannot be read: %v", err)
		}
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	var kb int
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) >= 6 && strings.Contains(fields[0], "-") {
			in = fields[len(fields)-1] == path
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			n, err := strconv.Atoi(strings.Fields(line)[1])
			if err != nil {
				t.Fatalf("smaps line %q: %v", line, err)
			}
			kb += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return kb
}

// TestReleaseMappedDropsTheResidentPages: after releaseMapped, the tables
// file's pages no longer count in the process's resident set, and every
// value reads back unchanged. (A few may stay: the kernel may map a large
// page cache folio as a whole, about 2 MB here whatever the file's size.)
func TestReleaseMappedDropsTheResidentPages(t *testing.T) {
	if raceEnabled {
		t.Skip("under the race detector the mapping's resident size is not what this test measures (67 MB for a 16 MB file)")
	}
	path := filepath.Join(t.TempDir(), "tables.db")
	kv, err := openBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer kv.db.Close()
	value := bytes.Repeat([]byte("v"), 1000)
	const n = 16000 // about 16 MB
	err = kv.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucketNames[0]))
		for i := range n {
			if err := b.Put(fmt.Appendf(nil, "key-%06d", i), value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	readAll := func() {
		t.Helper()
		err := kv.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket([]byte(bucketNames[0])).Cursor()
			i := 0
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if !bytes.Equal(v, value) {
					return fmt.Errorf("%s: value changed", k)
				}
				i++
			}
			if i != n {
				return fmt.Errorf("%d keys, want %d", i, n)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	readAll()
	before := mappedRSS(t, path)
	if before < 12_000 {
		t.Fatalf("the mapping holds %d kB after reading 16 MB: cannot test the release", before)
	}
	releaseMapped(kv.db)
	if after := mappedRSS(t, path); after > before/4 {
		t.Errorf("after releaseMapped the mapping holds %d kB, want at most a quarter of the %d kB it held", after, before)
	}
	readAll()
}
