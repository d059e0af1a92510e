// Package embedded is the store.Store that runs inside the process: the
// tables that devstack persists and that every test uses. It emulates the
// DynamoDB tables of libs/contract and the semantics of the dynamo adapter:
// conditional writes, the byYear, byTime and byStart GSIs, the history
// table, TransactWriteItems-like progress counting and TTL.
//
// # API
//
//	s := embedded.NewMemory()               // in memory: tests, benchmarks
//	s, err := embedded.Open(".devstack/tables.db") // a bbolt file: devstack
//	defer s.Close()
//
// Options: [WithClock] (a fake clock for TTL tests), [WithSweepInterval],
// [WithNoSync] and [WithBulkLoad] (many writes per commit, for loading the
// tables in bulk: tools/replay). Both constructors return *[Store], which
// implements every store.Store method plus [Store.Sweep], [Store.Flush]
// and [Store.Close].
//
// # Semantics
//
//   - ApplyMovie replaces a movie only if the event's (time, id) is newer
//     than the stored one, keeping FirstSeen; otherwise Duplicate (the same
//     event id) or Stale. An event id seen before with another digest, on
//     the movie or on the event's progress marker (read in the same
//     transaction), is a Conflict.
//   - ListMovies without a year lists in id order; with a year it walks the
//     byYear index (year, id), so in id order. Movies with year 0 are in no
//     year listing, as in a sparse GSI. ListErrors walks the byTime index
//     (first failure, id) newest first; its entries hold each item with a
//     payload preview (store.PreviewBytes), so a listing never decodes a
//     payload: GetError reads the item itself. ListRuns walks a byStart
//     index (start time, id) newest first, reading each run to filter by
//     status, at most layout.MaxRunsExamined runs a call.
//   - Page tokens are opaque bytes holding the listing (all movies, movies
//     of year N, errors) and the last key returned; a token of another
//     listing, or anything this package did not issue, is store.ErrBadToken.
//     The last page has a nil Next. Limits below 1 are an error; above 1000
//     they are served as 1000.
//   - CountEvent writes the per-event marker (counter and digest) and bumps
//     the run's counter in one transaction; a marker with another digest
//     is store.ErrConflict. Markers expire after 8 days. ResolveError
//     marks the item resolved and, if its record's marker says failed,
//     moves that count to processed, in one transaction.
//   - History: every observation is kept, keyed by movie and (time, event
//     id), with a changed flag against the one before it; change points
//     are also in their own key range, which ListHistory walks. An insert
//     sets its own flag and its successor's in one transaction, so any
//     order of arrival gives the same history.
//   - FailEvent writes the same marker, bumps the failed counter and stores
//     the error item in one transaction, or writes nothing if the marker
//     is there.
//   - TTL: expired leases, markers and error items are invisible at once
//     (the clock decides; leases are judged by the now passed to
//     AcquireLease) and are deleted by a sweep that writes run every minute,
//     or by Sweep.
//   - Everything returned is a fresh copy: callers may keep or change it.
//   - Input is validated like the dynamo adapter does, so both reject the
//     same things: ids up to 512 bytes of UTF-8, URLs up to 1800, finite
//     ratings, times in years 1-9999, payloads up to store.MaxPayload.
//
// # Design
//
// The store logic is written once over a small transactional ordered
// key-value interface (get, put, delete and ordered scans inside a read or a
// read-write transaction) with two backings: a map with lazily sorted keys,
// and a bbolt file. Items are kept in a compact versioned binary encoding.
// The bbolt backing fsyncs every commit but groups concurrent writers into
// one transaction, so a processor writing from many goroutines pays one
// fsync per group. A bulk load (WithBulkLoad) instead commits every many
// thousand writes, in the background: it keeps the movies and runs it
// writes in a write-back cache, each movie's latest history key, and
// buffers the progress markers, index entries and in-order observations,
// which the commit puts into the file in key order while the next writes
// go on (see bulk.go and bulkcache.go). Per movie event, the writes look
// nothing up in the B+tree and write nothing to it; the commit writes
// three keys.
//
// # Upgrades
//
// Records carry a codec version and decoders read every version they know
// (see codec.go); a file records its layout version and Open upgrades an
// older file once, in one transaction (see migrate.go): devstack data dirs
// survive upgrades. A file from a newer version is refused.
package embedded
