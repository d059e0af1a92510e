package embedded

import (
	"bytes"
	"fmt"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store/internal/layout"
)

// A data file records the layout version of its buckets in bMeta, so that
// Open upgrades a file written by an older version once, in one
// transaction, and a newer file is refused rather than misread.
//
//   - Version 1 (no bMeta entry): byTime entries held only the error id,
//     and there was no runs byStart index.
//   - Version 2: byTime entries hold the item with a payload preview
//     (ListErrors reads nothing else), and bRunsByStart indexes every run
//     with a start time. Records themselves are read in either codec
//     version (see codec.go), so nothing else is rewritten.
const layoutVersion = 2

var layoutKey = []byte("layout")

// migrate brings the data in kv to layoutVersion.
func migrate(kv kv) error {
	return kv.update(func(tx writeTx) error {
		v := tx.get(bMeta, layoutKey)
		switch {
		case len(v) == 1 && v[0] == layoutVersion:
			return nil
		case len(v) == 1 && v[0] > layoutVersion:
			return fmt.Errorf("data layout version %d is newer than this program's (%d): use a newer program", v[0], layoutVersion)
		case len(v) > 1:
			return fmt.Errorf("bad data layout version %x", v)
		}
		if err := migrateErrorListing(tx); err != nil {
			return fmt.Errorf("upgrade the errors listing: %w", err)
		}
		if err := migrateRunsIndex(tx); err != nil {
			return fmt.Errorf("index the runs by start time: %w", err)
		}
		return tx.put(bMeta, layoutKey, []byte{layoutVersion})
	})
}

// migrateErrorListing rewrites every version 1 byTime entry (the error id)
// as a listing entry.
func migrateErrorListing(tx writeTx) error {
	var keys, ids [][]byte
	var derr error
	tx.ascend(bErrorsByTime, nil, func(k, v []byte) bool {
		if len(v) < 2 || kind(v[1]) != kindIndex {
			return true
		}
		id, err := decodeIndex(v)
		if err != nil {
			derr = err
			return false
		}
		keys, ids = append(keys, bytes.Clone(k)), append(ids, []byte(id))
		return true
	})
	if derr != nil {
		return derr
	}
	for i, k := range keys {
		v := tx.get(bErrors, ids[i])
		if v == nil { // an index entry without its item: drop it
			if err := tx.del(bErrorsByTime, k); err != nil {
				return err
			}
			continue
		}
		e, err := decodeError(v)
		if err != nil {
			return err
		}
		if err := tx.put(bErrorsByTime, k, encodeErrorListing(e)); err != nil {
			return err
		}
	}
	return nil
}

// migrateRunsIndex adds every run with a start time to bRunsByStart.
func migrateRunsIndex(tx writeTx) error {
	var keys [][]byte
	var derr error
	tx.ascend(bRuns, []byte(layout.RunPrefix), func(k, v []byte) bool {
		if !bytes.HasPrefix(k, []byte(layout.RunPrefix)) {
			return false
		}
		r, err := decodeRun(v)
		if err != nil {
			derr = err
			return false
		}
		if !r.StartedAt.IsZero() {
			keys = append(keys, []byte(layout.RunsListSK(r.StartedAt, r.ID)))
		}
		return true
	})
	if derr != nil {
		return derr
	}
	for _, k := range keys {
		if err := tx.put(bRunsByStart, k, indexValue("")); err != nil {
			return err
		}
	}
	return nil
}
