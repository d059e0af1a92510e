package embedded

import (
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// releaseMapped tells the kernel that this process no longer needs the
// pages of the tables file it has mapped (madvise MADV_DONTNEED). bbolt
// reads the file through a shared, read-only mapping, and every page a
// lookup or a commit walks stays in the process's resident set: a bulk
// load that writes a 570 MB file kept about 280 MB of it there, on top
// of its own memory, though those pages are the kernel's page cache,
// shared and reclaimable. After the advice, the pages stay in the page
// cache and come back, unchanged, the next time they are read (a minor
// fault); only the process's share of them is dropped. bbolt writes
// with pwrite, never through the mapping, so nothing is lost.
//
// A read transaction holds bbolt's mapping lock, so the mapping cannot
// be replaced (the file grown and mapped again) while the advice is
// given; tx.Size is the file's size in that transaction, within the
// mapping. It is advice: a failure changes nothing but the resident set,
// so it is not reported.
func releaseMapped(db *bolt.DB) {
	tx, err := db.Begin(false)
	if err != nil {
		return
	}
	defer func() { _ = tx.Rollback() }()
	_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, db.Info().Data, uintptr(tx.Size()), syscall.MADV_DONTNEED)
}
