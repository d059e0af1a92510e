package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/internal/layout"
)

// Store is the embedded store.Store. It is safe for concurrent use.
type Store struct {
	kv         kv
	now        func() time.Time
	sweepEvery time.Duration
	lastSweep  atomic.Int64 // unix nanoseconds of the last sweep
	noSync     bool
	bulkEvery  int // > 0: bulk loading (WithBulkLoad)
}

var _ store.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read the time from now instead of time.Now. The
// clock decides TTL expiry (markers, error items) and marker lifetimes;
// leases are judged by the now passed to AcquireLease.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithSweepInterval sets how often a write also deletes expired items
// (default DefaultSweepInterval); zero or less turns that off (Sweep still
// works). Expired items are invisible to reads either way.
func WithSweepInterval(d time.Duration) Option { return func(s *Store) { s.sweepEvery = d } }

// WithNoSync makes a bbolt store return from a write before the disk has
// it (nor syncs the file when it grows): a killed process loses nothing
// (the OS has the pages), a machine crash may lose the last writes.
// devstack uses it, as its event log can replay them; a memory store
// ignores it.
func WithNoSync() Option { return func(s *Store) { s.noSync = true } }

// DefaultSweepInterval is how often writes sweep expired items by default.
const DefaultSweepInterval = time.Minute

// NewMemory returns a store that keeps everything in memory: fast, and gone
// when the value is dropped. Tests and benchmarks use it.
func NewMemory(opts ...Option) *Store { return newStore(newMemKV(), opts) }

// Open returns a store persisted in the bbolt file at path, creating the
// file and its directory if needed; data written before a Close is there on
// the next Open. Only one process may have the file open: Open fails after
// a second if another holds it. Close the store when done.
func Open(path string, opts ...Option) (*Store, error) {
	s := newStore(nil, opts)
	kv, err := openBolt(path)
	if err != nil {
		return nil, fmt.Errorf("embedded store: %w", err)
	}
	if err := migrate(kv); err != nil {
		kv.close()
		return nil, fmt.Errorf("embedded store: %s: %w", path, err)
	}
	// Without sync, growing the file needs none either (bbolt syncs after
	// every growth, 16 MB at a time, by default: a pause of every write).
	kv.db.NoSync, kv.db.NoGrowSync = s.noSync, s.noSync
	if s.bulkEvery > 0 {
		if kv.bulk, err = newBulk(kv.db, s.bulkEvery); err != nil {
			kv.close()
			return nil, fmt.Errorf("embedded store: %s: %w", path, err)
		}
	}
	s.kv = kv
	return s, nil
}

func newStore(kv kv, opts []Option) *Store {
	s := &Store{kv: kv, now: time.Now, sweepEvery: DefaultSweepInterval}
	for _, o := range opts {
		o(s)
	}
	s.lastSweep.Store(s.now().UnixNano())
	return s
}

// Close releases the store's file (a no-op for a memory store). The store
// must not be used afterwards.
func (s *Store) Close() error { return s.kv.close() }

func (s *Store) update(ctx context.Context, fn func(writeTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := s.kv.update(fn); err != nil {
		return err
	}
	s.maybeSweep(ctx)
	return nil
}

func (s *Store) view(ctx context.Context, fn func(readTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.kv.view(fn)
}

// yearKey is the byYear index prefix of year: the year as 8 big-endian
// bytes with the sign bit flipped, so byte order is numeric order.
func yearKey(year int) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8+32), uint64(int64(year))^(1<<63))
}

func byYearKey(year int, id string) []byte { return append(yearKey(year), id...) }

// ApplyMovie implements store.Store. With a digest it also reads the
// event's progress marker, in the same transaction.
func (s *Store) ApplyMovie(ctx context.Context, m store.Movie) (store.Outcome, error) {
	if err := layout.CheckMovie(m); err != nil {
		return 0, fmt.Errorf("apply movie: %w", err)
	}
	var out store.Outcome
	var mk []byte // the event's marker, read to tell a conflict
	if m.LastEventDigest != "" && m.LastRunID != "" {
		mk = layout.AppendMarkerKey(nil, m.LastRunID, m.LastEventID)
	}
	err := s.update(ctx, func(tx writeTx) error {
		if mk != nil {
			seen, ok, err := getMarker(tx, mk, s.now)
			if err != nil {
				return err
			}
			if ok && seen.Digest != "" && seen.Digest != m.LastEventDigest {
				out = store.Conflict
				return nil
			}
		}
		var key []byte // the movie's key in the tree, when the cache does not hold it
		if cacheOf(tx) == nil {
			key = []byte(m.ID)
		}
		next := m
		indexed := false // the byYear entry is there already
		old, exists, err := loadMovie(tx, m.ID, key)
		if err != nil {
			return err
		}
		if exists {
			if old.LastEventID == m.LastEventID && old.LastEventDigest != "" && m.LastEventDigest != "" &&
				old.LastEventDigest != m.LastEventDigest {
				out = store.Conflict
				return nil
			}
			switch {
			case old.Newer(m.LastEventTime, m.LastEventID):
			case old.LastEventID == m.LastEventID:
				out = store.Duplicate
				return nil
			default:
				out = store.Stale
				if !m.FirstSeen.Before(old.FirstSeen) {
					return nil
				}
				// An older event delivered late: the movie was first
				// seen at its time, whatever the order of delivery.
				old.FirstSeen = m.FirstSeen
				return storeMovie(tx, old, key)
			}
			next.FirstSeen = earlier(old.FirstSeen, m.FirstSeen)
			if old.Year == m.Year {
				indexed = true
			} else if old.Year != 0 {
				if err := tx.del(bMoviesByYear, byYearKey(old.Year, m.ID)); err != nil {
					return err
				}
			}
		}
		out = store.Applied
		if m.Year != 0 && !indexed {
			if err := tx.put(bMoviesByYear, byYearKey(m.Year, m.ID), indexValue("")); err != nil {
				return err
			}
		}
		return storeMovie(tx, next, key)
	})
	if err != nil {
		return 0, fmt.Errorf("apply movie %q: %w", m.ID, err)
	}
	return out, nil
}

// earlier returns the earlier of a and b.
func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// GetMovie implements store.Store.
func (s *Store) GetMovie(ctx context.Context, id string) (store.Movie, error) {
	var m store.Movie
	err := s.view(ctx, func(tx readTx) error {
		v := tx.get(bMovies, []byte(id))
		if v == nil {
			return store.ErrNotFound
		}
		var err error
		m, err = decodeMovie(v)
		return err
	})
	if err != nil {
		return store.Movie{}, fmt.Errorf("get movie %q: %w", id, err)
	}
	return m, nil
}

// ListMovies implements store.Store. Without a year, movies come in id
// order.
func (s *Store) ListMovies(ctx context.Context, f store.MovieFilter, limit int, token store.PageToken) (store.Page[store.Movie], error) {
	limit, err := layout.ClampLimit(limit)
	if err != nil {
		return store.Page[store.Movie]{}, fmt.Errorf("list movies: %w", err)
	}
	listing := layout.ListMovies
	if f.Year != 0 {
		listing = layout.ListMoviesByYear
	}
	var after string
	if len(token) > 0 {
		if after, err = layout.DecodeToken(token, listing, f.Year); err != nil {
			return store.Page[store.Movie]{}, fmt.Errorf("list movies: %w", err)
		}
	}
	items := make([]store.Movie, 0, min(limit+1, 128))
	err = s.view(ctx, func(tx readTx) error {
		var derr error
		collect := func(v []byte) bool {
			m, err := decodeMovie(v)
			if err != nil {
				derr = err
				return false
			}
			items = append(items, m)
			return len(items) <= limit
		}
		if f.Year == 0 {
			var from []byte
			if after != "" {
				from = []byte(after)
			}
			tx.ascend(bMovies, from, func(_, v []byte) bool { return collect(v) })
			return derr
		}
		prefix := yearKey(f.Year)
		tx.ascend(bMoviesByYear, append(bytes.Clone(prefix), after...), func(k, _ []byte) bool {
			if !bytes.HasPrefix(k, prefix) {
				return false
			}
			v := tx.get(bMovies, k[len(prefix):])
			if v == nil {
				derr = fmt.Errorf("index entry of movie %q without a movie", k[len(prefix):])
				return false
			}
			return collect(v)
		})
		return derr
	})
	if err != nil {
		return store.Page[store.Movie]{}, fmt.Errorf("list movies: %w", err)
	}
	page := store.Page[store.Movie]{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		page.Next = layout.Token{Listing: listing, Year: f.Year, Key: items[limit-1].ID}.Encode()
	}
	return page, nil
}

// StartRun implements store.Store. It sets the run's Source, StartedAt and
// Trigger where they are not set yet, so a run that progress counting created first
// still gets them; everything else of an existing run is left as it is.
func (s *Store) StartRun(ctx context.Context, r store.Run) error {
	if err := layout.CheckRun(r); err != nil {
		return fmt.Errorf("start run: %w", err)
	}
	err := s.update(ctx, func(tx writeTx) error {
		cur, exists, err := getRun(tx, r.ID)
		if err != nil {
			return err
		}
		changed := !exists
		if cur.Source == "" && r.Source != "" {
			cur.Source, changed = r.Source, true
		}
		before := cur
		if cur.StartedAt.IsZero() && !r.StartedAt.IsZero() {
			cur.StartedAt, changed = r.StartedAt, true
		}
		if cur.Trigger == "" && r.Trigger != "" {
			cur.Trigger, changed = r.Trigger, true
		}
		if !changed {
			return nil
		}
		return putRun(tx, before, cur)
	})
	if err != nil {
		return fmt.Errorf("start run %q: %w", r.ID, err)
	}
	return nil
}

// putRun stores run r, which was before, and keeps its byStart entry: a
// run is listed from the moment it has a start time.
func putRun(tx writeTx, before, r store.Run) error {
	if !before.StartedAt.Equal(r.StartedAt) {
		if !before.StartedAt.IsZero() {
			if err := tx.del(bRunsByStart, []byte(layout.RunsListSK(before.StartedAt, r.ID))); err != nil {
				return err
			}
		}
		if !r.StartedAt.IsZero() {
			if err := tx.put(bRunsByStart, []byte(layout.RunsListSK(r.StartedAt, r.ID)), indexValue("")); err != nil {
				return err
			}
		}
	}
	return writeRun(tx, r)
}

// getMarker returns the unexpired progress marker at key mk; now is read
// only when there is one.
func getMarker(tx readTx, mk []byte, now func() time.Time) (marker, bool, error) {
	v := tx.get(bRuns, mk)
	if v == nil || layout.Expired(expiresAt(v), now()) {
		return marker{}, false, nil
	}
	m, _, err := decodeMarker(v)
	if err != nil {
		return marker{}, false, fmt.Errorf("marker %q: %w", mk, err)
	}
	return m, true, nil
}

// CompleteRun implements store.Store. Source, StartedAt and Trigger are
// also taken from r where the run has none yet.
func (s *Store) CompleteRun(ctx context.Context, r store.Run) error {
	if err := layout.CheckRun(r); err != nil {
		return fmt.Errorf("complete run: %w", err)
	}
	err := s.update(ctx, func(tx writeTx) error {
		cur, _, err := getRun(tx, r.ID)
		if err != nil {
			return err
		}
		before := cur
		if cur.Source == "" {
			cur.Source = r.Source
		}
		if cur.StartedAt.IsZero() {
			cur.StartedAt = r.StartedAt
		}
		if cur.Trigger == "" {
			cur.Trigger = r.Trigger
		}
		cur.Published, cur.PublishFailed, cur.Skipped, cur.Pages = r.Published, r.PublishFailed, r.Skipped, r.Pages
		cur.Unchanged, cur.FinishedAt, cur.DurationMs, cur.Error = r.Unchanged, r.FinishedAt, r.DurationMs, r.Error
		cur.Completed = true
		return putRun(tx, before, cur)
	})
	if err != nil {
		return fmt.Errorf("complete run %q: %w", r.ID, err)
	}
	return nil
}

// CountEvent implements store.Store. The marker expires after
// layout.MarkerTTL (8 days), well beyond the stream's retention.
func (s *Store) CountEvent(ctx context.Context, runID, eventID string, c store.Counter, digest string) (bool, error) {
	if err := errors.Join(layout.CheckID("run id", runID), layout.CheckID("event id", eventID), layout.CheckCounter(c),
		layout.CheckDigest(digest)); err != nil {
		return false, fmt.Errorf("count event: %w", err)
	}
	var counted bool
	// Everything but the transaction's reads and writes is done before it.
	now := s.now()
	mk := layout.AppendMarkerKey(nil, runID, eventID)
	mv := encodeMarker(marker{Counter: c, Digest: digest}, layout.EpochSeconds(now.Add(layout.MarkerTTL)))
	err := s.update(ctx, func(tx writeTx) error {
		counted = false
		old, exists, err := getMarker(tx, mk, func() time.Time { return now })
		if err != nil {
			return err
		}
		if exists {
			if digest != "" && old.Digest != "" && old.Digest != digest {
				return layout.Conflict("counted before with digest %q, now %q", old.Digest, digest)
			}
			return nil
		}
		if err := tx.put(bRuns, mk, mv); err != nil {
			return err
		}
		r, _, err := getRun(tx, runID)
		if err != nil {
			return err
		}
		switch c {
		case store.CounterProcessed:
			r.Processed++
		case store.CounterFailed:
			r.Failed++
		}
		counted = true
		return writeRun(tx, r)
	})
	if err != nil {
		return false, fmt.Errorf("count event %q of run %q: %w", eventID, runID, err)
	}
	return counted, nil
}

// FailEvent implements store.Store. The marker, the run's failed counter
// and the error item are written in one transaction; the marker is the
// one CountEvent writes (an expired marker counts as absent), and e is
// cleaned and indexed as PutError does. An unexpired item with e.ID
// (possible only if it outlived its event's marker) is replaced by e.
func (s *Store) FailEvent(ctx context.Context, runID, eventID string, e store.ErrorItem) (bool, error) {
	e, err := layout.CleanError(e)
	if err = errors.Join(layout.CheckID("run id", runID), layout.CheckID("event id", eventID), err); err != nil {
		return false, fmt.Errorf("fail event: %w", err)
	}
	var failed bool
	err = s.update(ctx, func(tx writeTx) error {
		failed = false
		now := s.now()
		mk := []byte(layout.MarkerKey(runID, eventID))
		if v := tx.get(bRuns, mk); v != nil && !layout.Expired(expiresAt(v), now) {
			return nil
		}
		if err := tx.put(bRuns, mk, encodeMarker(marker{Counter: store.CounterFailed}, layout.EpochSeconds(now.Add(layout.MarkerTTL)))); err != nil {
			return err
		}
		r, _, err := getRun(tx, runID)
		if err != nil {
			return err
		}
		r.Failed++
		if err := writeRun(tx, r); err != nil {
			return err
		}
		failed = true
		return putError(tx, e, now, false)
	})
	if err != nil {
		return false, fmt.Errorf("fail event %q of run %q: %w", eventID, runID, err)
	}
	return failed, nil
}

// GetRun implements store.Store.
func (s *Store) GetRun(ctx context.Context, id string) (store.Run, error) {
	var r store.Run
	err := s.view(ctx, func(tx readTx) error {
		var exists bool
		var err error
		r, exists, err = getRun(tx, id)
		if err == nil && !exists {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return store.Run{}, fmt.Errorf("get run %q: %w", id, err)
	}
	return r, nil
}

// ListRuns implements store.Store: a descending walk of the byStart index,
// reading each run to derive its status.
func (s *Store) ListRuns(ctx context.Context, f store.RunFilter, limit int, token store.PageToken) (store.Page[store.Run], error) {
	limit, err := layout.ClampLimit(limit)
	if err = errors.Join(err, layout.CheckRunFilter(f)); err != nil {
		return store.Page[store.Run]{}, fmt.Errorf("list runs: %w", err)
	}
	var before []byte
	if len(token) > 0 {
		key, err := layout.DecodeScopedToken(token, layout.ListRuns, string(f.Status))
		if err != nil {
			return store.Page[store.Run]{}, fmt.Errorf("list runs: %w", err)
		}
		before = []byte(key)
	}
	items := make([]store.Run, 0, min(limit+1, 64))
	var lastExamined string // set when the examination budget ran out
	err = s.view(ctx, func(tx readTx) error {
		lastExamined = ""
		var derr error
		examined := 0
		tx.descend(bRunsByStart, before, func(k, _ []byte) bool {
			id, ok := layout.RunIDFromListSK(string(k))
			if !ok {
				derr = fmt.Errorf("bad runs index key %q", k)
				return false
			}
			r, exists, err := getRun(tx, id)
			if err == nil && !exists {
				err = fmt.Errorf("index entry of run %q without a run", id)
			}
			if err != nil {
				derr = err
				return false
			}
			if f.Status == "" || r.Status() == f.Status {
				items = append(items, r)
			}
			if examined++; examined >= layout.MaxRunsExamined && len(items) <= limit {
				lastExamined = string(k)
				return false
			}
			return len(items) <= limit
		})
		return derr
	})
	if err != nil {
		return store.Page[store.Run]{}, fmt.Errorf("list runs: %w", err)
	}
	page := store.Page[store.Run]{Items: items}
	switch {
	case len(items) > limit:
		last := items[limit-1]
		page.Items = items[:limit]
		page.Next = layout.Token{Listing: layout.ListRuns, Scope: string(f.Status), Key: layout.RunsListSK(last.StartedAt, last.ID)}.Encode()
	case lastExamined != "":
		page.Next = layout.Token{Listing: layout.ListRuns, Scope: string(f.Status), Key: lastExamined}.Encode()
	}
	return page, nil
}

// AcquireLease implements store.Store. The holder of a lease may take it
// again (it is then extended to now+ttl).
func (s *Store) AcquireLease(ctx context.Context, host, holder string, now time.Time, ttl time.Duration) (bool, time.Duration, error) {
	if err := layout.CheckLease(host, holder, ttl); err != nil {
		return false, 0, fmt.Errorf("acquire lease: %w", err)
	}
	var ok bool
	var retryAfter time.Duration
	err := s.update(ctx, func(tx writeTx) error {
		ok, retryAfter = false, 0
		key := []byte(layout.LeaseKey(host))
		if v := tx.get(bRuns, key); v != nil {
			l, err := decodeLease(v)
			if err != nil {
				return err
			}
			if l.Holder != holder && l.Until.After(now) {
				retryAfter = l.Until.Sub(now)
				return nil
			}
		}
		until := now.Add(ttl)
		ok = true
		return tx.put(bRuns, key, encodeLease(lease{Holder: holder, Until: until}, layout.EpochSeconds(until)))
	})
	if err != nil {
		return false, 0, fmt.Errorf("acquire lease of %q: %w", host, err)
	}
	return ok, retryAfter, nil
}

// PageState implements store.Store.
func (s *Store) PageState(ctx context.Context, url string) (store.PageState, error) {
	var ps store.PageState
	err := s.view(ctx, func(tx readTx) error {
		v := tx.get(bRuns, []byte(layout.PageKey(url)))
		if v == nil {
			return store.ErrNotFound
		}
		var err error
		ps, err = decodePage(v)
		return err
	})
	if err != nil {
		return store.PageState{}, fmt.Errorf("page state of %q: %w", url, err)
	}
	return ps, nil
}

// PutPageState implements store.Store.
func (s *Store) PutPageState(ctx context.Context, ps store.PageState) error {
	if err := layout.CheckPageState(ps); err != nil {
		return fmt.Errorf("put page state: %w", err)
	}
	err := s.update(ctx, func(tx writeTx) error {
		return tx.put(bRuns, []byte(layout.PageKey(ps.URL)), encodePage(ps))
	})
	if err != nil {
		return fmt.Errorf("put page state of %q: %w", ps.URL, err)
	}
	return nil
}

// PutError implements store.Store. An item whose ExpiresAt is zero expires
// contract.ErrorTTL after its LastFailure; ExpiresAt is kept in whole
// seconds, rounded up, as DynamoDB's TTL attribute. Invalid UTF-8 in its
// text fields is replaced by U+FFFD; a Payload longer than store.MaxPayload
// is an error. An expired item with the same id counts as absent.
func (s *Store) PutError(ctx context.Context, e store.ErrorItem) error {
	e, err := layout.CleanError(e)
	if err != nil {
		return fmt.Errorf("put error: %w", err)
	}
	err = s.update(ctx, func(tx writeTx) error { return putError(tx, e, s.now(), true) })
	if err != nil {
		return fmt.Errorf("put error %q: %w", e.ID, err)
	}
	return nil
}

// putError writes the cleaned item e and its byTime listing entry in tx.
// An unexpired item with e.ID keeps its FirstFailure if keepFirst is set;
// otherwise, and if it has expired, e replaces it.
func putError(tx writeTx, e store.ErrorItem, now time.Time, keepFirst bool) error {
	next := e
	key := []byte(e.ID)
	if v := tx.get(bErrors, key); v != nil {
		old, err := decodeError(v)
		if err != nil {
			return err
		}
		if keepFirst && !layout.Expired(old.ExpiresAt.Unix(), now) {
			next.FirstFailure = old.FirstFailure
		}
		if !old.FirstFailure.Equal(next.FirstFailure) {
			if err := tx.del(bErrorsByTime, []byte(layout.ErrorsListSK(old.FirstFailure, e.ID))); err != nil {
				return err
			}
		}
	}
	return writeError(tx, next)
}

// writeError stores e and its byTime listing entry (e with a payload
// preview), whose key its FirstFailure decides.
func writeError(tx writeTx, e store.ErrorItem) error {
	if err := tx.put(bErrors, []byte(e.ID), encodeError(e)); err != nil {
		return err
	}
	return tx.put(bErrorsByTime, []byte(layout.ErrorsListSK(e.FirstFailure, e.ID)), encodeErrorListing(e))
}

// GetError implements store.Store: the item with its whole payload.
func (s *Store) GetError(ctx context.Context, id string) (store.ErrorItem, error) {
	var e store.ErrorItem
	now := s.now()
	err := s.view(ctx, func(tx readTx) error {
		v := tx.get(bErrors, []byte(id))
		if v == nil || layout.Expired(expiresAt(v), now) {
			return store.ErrNotFound
		}
		var err error
		e, err = decodeError(v)
		return err
	})
	if err != nil {
		return store.ErrorItem{}, fmt.Errorf("get error %q: %w", id, err)
	}
	return e, nil
}

// ResolveError implements store.Store in one transaction: the item, its
// listing entry and, when the record was counted as failed, its marker and
// its run's counters.
func (s *Store) ResolveError(ctx context.Context, id string, at time.Time) (bool, error) {
	if err := errors.Join(layout.CheckID("error id", id), layout.CheckResolved(at)); err != nil {
		return false, fmt.Errorf("resolve error: %w", err)
	}
	var resolved bool
	err := s.update(ctx, func(tx writeTx) error {
		resolved = false
		now := s.now()
		v := tx.get(bErrors, []byte(id))
		if v == nil || layout.Expired(expiresAt(v), now) {
			return store.ErrNotFound
		}
		e, err := decodeError(v)
		if err != nil {
			return err
		}
		if !e.Resolved.IsZero() {
			return nil
		}
		e.Resolved = at.UTC()
		if err := writeError(tx, e); err != nil {
			return err
		}
		resolved = true
		if e.RunID == "" {
			return nil
		}
		mk := []byte(layout.MarkerKey(e.RunID, store.EventKey(e.EventID, e.ShardID, e.SequenceNumber)))
		m, ok, err := getMarker(tx, mk, func() time.Time { return now })
		if err != nil || !ok || m.Counter != store.CounterFailed {
			return err
		}
		m.Counter = store.CounterProcessed
		if err := tx.put(bRuns, mk, encodeMarker(m, expiresAt(tx.get(bRuns, mk)))); err != nil {
			return err
		}
		r, _, err := getRun(tx, e.RunID)
		if err != nil {
			return err
		}
		r.Failed--
		r.Processed++
		return writeRun(tx, r)
	})
	if err != nil {
		return false, fmt.Errorf("resolve error %q: %w", id, err)
	}
	return resolved, nil
}

// ListErrors implements store.Store. It reads only the byTime listing
// entries, which hold each item with a payload preview; expired items are
// left out.
func (s *Store) ListErrors(ctx context.Context, limit int, token store.PageToken) (store.Page[store.ErrorItem], error) {
	limit, err := layout.ClampLimit(limit)
	if err != nil {
		return store.Page[store.ErrorItem]{}, fmt.Errorf("list errors: %w", err)
	}
	var before []byte
	if len(token) > 0 {
		key, err := layout.DecodeToken(token, layout.ListErrors, 0)
		if err != nil {
			return store.Page[store.ErrorItem]{}, fmt.Errorf("list errors: %w", err)
		}
		before = []byte(key)
	}
	now := s.now()
	items := make([]store.ErrorItem, 0, min(limit+1, 128))
	err = s.view(ctx, func(tx readTx) error {
		var derr error
		tx.descend(bErrorsByTime, before, func(_, v []byte) bool {
			if layout.Expired(expiresAt(v), now) {
				return true
			}
			e, err := decodeErrorListing(v)
			if err != nil {
				derr = err
				return false
			}
			items = append(items, e)
			return len(items) <= limit
		})
		return derr
	})
	if err != nil {
		return store.Page[store.ErrorItem]{}, fmt.Errorf("list errors: %w", err)
	}
	page := store.Page[store.ErrorItem]{Items: items}
	if len(items) > limit {
		last := items[limit-1]
		page.Items = items[:limit]
		page.Next = layout.Token{Listing: layout.ListErrors, Key: layout.ErrorsListSK(last.FirstFailure, last.ID)}.Encode()
	}
	return page, nil
}

// Sweep deletes the items whose TTL has passed (leases, markers, error
// items), as DynamoDB's TTL does in the background, and reports how many it
// deleted. Writes call it every sweep interval; reads never see expired
// items anyway.
func (s *Store) Sweep(ctx context.Context) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	now := s.now()
	s.lastSweep.Store(now.UnixNano())
	var n int
	err := s.kv.update(func(tx writeTx) error {
		n = 0
		var runKeys, errKeys, listKeys [][]byte
		tx.ascend(bRuns, nil, func(k, v []byte) bool {
			if layout.Expired(expiresAt(v), now) {
				runKeys = append(runKeys, bytes.Clone(k))
			}
			return true
		})
		tx.ascend(bErrors, nil, func(k, v []byte) bool {
			if !layout.Expired(expiresAt(v), now) {
				return true
			}
			if e, err := decodeError(v); err == nil {
				errKeys = append(errKeys, bytes.Clone(k))
				listKeys = append(listKeys, []byte(layout.ErrorsListSK(e.FirstFailure, e.ID)))
			}
			return true
		})
		for _, k := range runKeys {
			if err := tx.del(bRuns, k); err != nil {
				return err
			}
		}
		for i, k := range errKeys {
			if err := tx.del(bErrors, k); err != nil {
				return err
			}
			if err := tx.del(bErrorsByTime, listKeys[i]); err != nil {
				return err
			}
		}
		n = len(runKeys) + len(errKeys)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("sweep expired items: %w", err)
	}
	return n, nil
}

// maybeSweep sweeps if the interval has passed since the last sweep. A
// failed sweep is retried by a later write; expired items stay hidden
// meanwhile.
func (s *Store) maybeSweep(ctx context.Context) {
	if s.sweepEvery <= 0 {
		return
	}
	now := s.now().UnixNano()
	last := s.lastSweep.Load()
	if now-last < int64(s.sweepEvery) || !s.lastSweep.CompareAndSwap(last, now) {
		return
	}
	if _, err := s.Sweep(ctx); err != nil {
		s.lastSweep.Store(last)
	}
}
