// Package embedded is the store.Store that runs inside the process: the
// tables that devstack persists and that every test uses. It emulates the
// DynamoDB tables of libs/contract and the semantics of the dynamo adapter:
// conditional writes, the byYear and byTime GSIs, TransactWriteItems-like
// progress counting and TTL.
//
// # API
//
//	s := embedded.NewMemory()               // in memory: tests, benchmarks
//	s, err := embedded.Open(".devstack/tables.db") // a bbolt file: devstack
//	defer s.Close()
//
// Options: [WithClock] (a fake clock for TTL tests) and [WithSweepInterval].
// Both constructors return *[Store], which implements every store.Store
// method plus [Store.Sweep] and [Store.Close].
//
// # Semantics
//
//   - ApplyMovie replaces a movie only if the event's (time, id) is newer
//     than the stored one, keeping FirstSeen; otherwise Duplicate (the same
//     event id) or Stale.
//   - ListMovies without a year lists in id order; with a year it walks the
//     byYear index (year, id), so in id order. Movies with year 0 are in no
//     year listing, as in a sparse GSI. ListErrors walks the byTime index
//     (first failure, id) newest first.
//   - Page tokens are opaque bytes holding the listing (all movies, movies
//     of year N, errors) and the last key returned; a token of another
//     listing, or anything this package did not issue, is store.ErrBadToken.
//     The last page has a nil Next. Limits below 1 are an error; above 1000
//     they are served as 1000.
//   - CountEvent writes the per-event marker and bumps the run's counter in
//     one transaction. Markers expire after 8 days.
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
// fsync per group.
package embedded
