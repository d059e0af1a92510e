package embedded

import (
	"bytes"
	"fmt"
	"slices"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/internal/layout"
)

// A bulk load (tools/replay) writes three times per movie event: the
// movie, an observation and the run's counter. The movies (a chart's 250)
// and the runs in progress are few and written over and over, so a bulk
// load keeps them decoded in a write-back cache: a write replaces the
// cached value, which is encoded and put into the B+tree once per commit,
// not once per write. Each movie's greatest history key is cached too:
// observations mostly arrive in time order, so the one before a new
// observation is usually that one, and RecordObservation then needs no
// lookup of its neighbours. Such an observation waits with that key, and
// the movie's others after it, to be put into the tree at commit in key
// order: scattered over the 250 movies' leaves, each put missed the CPU's
// caches all the way down (3x the time of a put in key order). An
// observation that does not come after the movie's greatest key is looked
// up in the tree, after the movie's waiting ones are put there.
//
// The progress markers are buffered: a bulk load writes one per event,
// keyed by run and event id, so the markers of a run in progress go to
// the same leaf of the tree in random order, and every insert there moves
// half of that leaf (it grows by thousands of markers in a transaction,
// as bbolt splits nodes at commit). Buffered, they are put in key order at
// commit: appends. And nearly every marker looked up is not there (a new
// event), which a Bloom filter of the markers' keys tells without looking
// at the tree: each event's marker is looked up twice (ApplyMovie and
// CountEvent), and a lookup in the tree descends through a million keys.
//
// Who sees what:
//   - Store methods read and write movies and runs through loadMovie,
//     storeMovie, getRun and writeRun, which use the cache.
//   - Anything else sees the cache too: a view, and a scan of the movies
//     or runs bucket in a write, first put the dirty values and the
//     buffered markers into the transaction; a write's get of a cached
//     movie or run puts that one first; its put or delete of one drops it
//     from the cache. Markers are read, put and deleted through the buffer.
//     The history's waiting observations go into the transaction before a
//     view or any read of the history in a write other than
//     RecordObservation's (which works on the tree through rawTx); a write
//     to the history other than RecordObservation's also drops the
//     greatest keys.
//   - A write that fails leaves the cache as it found it (the journals), as
//     it leaves the transaction (undoTx).
//   - A commit puts every dirty value into the transaction first, then
//     drops the entries nobody used since the previous commit: the cache
//     holds what a commit interval uses, not every movie and run loaded.

// writeCache is the write-back cache of a bulk load. It is used under the
// bulk's lock only.
type writeCache struct {
	movies  map[string]cachedMovie // by movie id
	runs    map[string]cachedRun   // by run id
	history map[string]historyTail // by movie id
	// markers are the markers written since the commit, by key.
	markers map[string][]byte
	// markerKeys has the key of every marker in the tree or in markers
	// (and of a few deleted since).
	markerKeys *keyFilter
	// The current write's changes, to undo them if it fails.
	movieUndo   []keyed[cachedMovie]
	runUndo     []keyed[cachedRun]
	historyUndo []keyed[historyTail]
	markerUndo  []keyed[[]byte]
	gen         uint32 // the commit interval, to drop the entries it did not use
	dirty       int    // dirty movies and runs: an upper bound
}

type cachedMovie struct {
	m      store.Movie
	exists bool // false: no movie is stored
	dirty  bool // the tree holds another value, or none
	gen    uint32
}

type cachedRun struct {
	r      store.Run
	exists bool
	dirty  bool
	gen    uint32
}

// historyTail is a movie's greatest history key and its observation,
// with the movie's observations not in the tree yet.
type historyTail struct {
	key []byte
	obs observation
	gen uint32
	// pending are the movie's observations after its greatest key in the
	// tree, in key order (the last is key).
	pending []pendingObs
}

// pendingObs is an observation waiting to be put into the history: its
// key and value, and whether it is a change point (also put there).
type pendingObs struct {
	key, v  []byte
	changed bool
}

// keyed is a cache entry as a change found it (had false: absent).
type keyed[T any] struct {
	id  string
	had bool
	old T
}

func newWriteCache() *writeCache {
	return &writeCache{movies: map[string]cachedMovie{}, runs: map[string]cachedRun{}, history: map[string]historyTail{},
		markers: map[string][]byte{}, markerKeys: newKeyFilter(markerFilterKeys)}
}

// cacheOf returns the write-back cache of tx, nil unless tx is a bulk
// load's write.
func cacheOf(tx readTx) *writeCache {
	if u, ok := tx.(*undoTx); ok {
		return u.cache
	}
	return nil
}

// set sets m[id] to v, noting what it replaces in undo.
func set[T any](m map[string]T, undo *[]keyed[T], id string, v T) {
	old, had := m[id]
	*undo = append(*undo, keyed[T]{id: id, had: had, old: old})
	m[id] = v
}

// drop deletes m[id], noting it in undo.
func drop[T any](m map[string]T, undo *[]keyed[T], id string) {
	if old, had := m[id]; had {
		*undo = append(*undo, keyed[T]{id: id, had: true, old: old})
		delete(m, id)
	}
}

// rollback puts back, last first, what the changes in undo replaced.
func rollback[T any](m map[string]T, undo *[]keyed[T]) {
	for i := len(*undo) - 1; i >= 0; i-- {
		if u := (*undo)[i]; u.had {
			m[u.id] = u.old
		} else {
			delete(m, u.id)
		}
	}
	clear(*undo) // drop the references
	*undo = (*undo)[:0]
}

// rollback undoes the changes of the write that failed.
func (c *writeCache) rollback() {
	rollback(c.movies, &c.movieUndo)
	rollback(c.runs, &c.runUndo)
	rollback(c.history, &c.historyUndo)
	rollback(c.markers, &c.markerUndo)
}

// keep ends a write that succeeded: its changes stay.
func (c *writeCache) keep() {
	clear(c.movieUndo)
	clear(c.runUndo)
	clear(c.historyUndo)
	clear(c.markerUndo)
	c.movieUndo, c.runUndo, c.historyUndo, c.markerUndo = c.movieUndo[:0], c.runUndo[:0], c.historyUndo[:0], c.markerUndo[:0]
}

// writeBack puts every dirty movie and run, and the buffered markers in
// key order, with put. With clean set (a commit's, between writes) the
// movies and runs are clean afterwards; without (in a write, which may be
// undone) they stay dirty. The markers leave the buffer either way: a
// write that is undone takes its puts back, and its journal the buffer's
// markers.
func (c *writeCache) writeBack(put func(b bucket, key, v []byte) error, clean bool, undo *[]keyed[[]byte]) error {
	if err := c.writeMarkers(put, undo); err != nil {
		return err
	}
	if err := c.writePending(put, !clean); err != nil {
		return err
	}
	if c.dirty == 0 {
		return nil
	}
	for id, e := range c.movies {
		if !e.dirty {
			continue
		}
		if err := put(bMovies, []byte(id), encodeMovie(e.m)); err != nil {
			return fmt.Errorf("write back movie %q: %w", id, err)
		}
		if clean {
			e.dirty = false
			c.movies[id] = e
		}
	}
	for id, e := range c.runs {
		if !e.dirty {
			continue
		}
		if err := put(bRuns, []byte(layout.RunKey(id)), encodeRun(e.r)); err != nil {
			return fmt.Errorf("write back run %q: %w", id, err)
		}
		if clean {
			e.dirty = false
			c.runs[id] = e
		}
	}
	if clean {
		c.dirty = 0
	}
	return nil
}

// writeMarkers puts the buffered markers with put, in key order, and
// empties the buffer (noting each in undo, if not nil).
func (c *writeCache) writeMarkers(put func(b bucket, key, v []byte) error, undo *[]keyed[[]byte]) error {
	if len(c.markers) == 0 {
		return nil
	}
	keys := make([]string, 0, len(c.markers))
	for k := range c.markers {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		// bbolt copies the key; the value is the transaction's.
		if err := put(bRuns, bytesOf(k), c.markers[k]); err != nil {
			return fmt.Errorf("write back marker %q: %w", k, err)
		}
	}
	if undo == nil {
		clear(c.markers)
		return nil
	}
	for k := range c.markers {
		drop(c.markers, undo, k)
	}
	return nil
}

// writePending puts every movie's waiting observations into the history
// with put, in key order, and empties their lists (through the journal
// with journal set: in a write, which may be undone).
func (c *writeCache) writePending(put func(b bucket, key, v []byte) error, journal bool) error {
	var movies []string
	for id, t := range c.history {
		if len(t.pending) > 0 {
			movies = append(movies, id)
		}
	}
	if len(movies) == 0 {
		return nil
	}
	// The movies' key ranges are disjoint: their greatest keys order them.
	slices.SortFunc(movies, func(a, b string) int { return bytes.Compare(c.history[a].key, c.history[b].key) })
	for _, b := range []bucket{bHistory, bHistoryChanges} {
		for _, id := range movies {
			for _, p := range c.history[id].pending {
				if b == bHistoryChanges && !p.changed {
					continue
				}
				if err := put(b, p.key, p.v); err != nil {
					return fmt.Errorf("write back the history of movie %q: %w", id, err)
				}
			}
		}
	}
	for _, id := range movies {
		t := c.history[id]
		t.pending = nil
		if journal {
			set(c.history, &c.historyUndo, id, t)
		} else {
			c.history[id] = t
		}
	}
	return nil
}

// writeMoviePending puts the waiting observations of movie id into the
// tree through u (undone with the write) and empties its list.
func (c *writeCache) writeMoviePending(u *undoTx, id string) error {
	t, ok := c.history[id]
	if !ok || len(t.pending) == 0 {
		return nil
	}
	for _, p := range t.pending {
		if err := u.rawInsert(bHistory, p.key, p.v); err != nil {
			return err
		}
		if p.changed {
			if err := u.rawInsert(bHistoryChanges, p.key, p.v); err != nil {
				return err
			}
		}
	}
	t.pending = nil
	set(c.history, &c.historyUndo, id, t)
	return nil
}

// evict drops the clean entries that the commit interval now ending did
// not use, and starts the next interval.
func (c *writeCache) evict() {
	for id, e := range c.movies {
		if !e.dirty && e.gen != c.gen {
			delete(c.movies, id)
		}
	}
	for id, e := range c.runs {
		if !e.dirty && e.gen != c.gen {
			delete(c.runs, id)
		}
	}
	for id, t := range c.history {
		if t.gen != c.gen && len(t.pending) == 0 {
			delete(c.history, id)
		}
	}
	c.gen++
}

// isMarker reports whether key of b is a progress marker's.
func isMarker(b bucket, key []byte) bool {
	return b == bRuns && bytes.HasPrefix(key, []byte(layout.MarkerPrefix))
}

// isRun reports whether key of b is a run's.
func isRun(b bucket, key []byte) bool {
	return b == bRuns && bytes.HasPrefix(key, []byte(layout.RunPrefix))
}

// get serves a bulk write's get of a marker (ok set). A cached movie or
// run that the tree does not hold yet is put there first (it stays dirty:
// the write may be undone), so that the tree's value, read next, is it.
func (c *writeCache) get(u *undoTx, b bucket, key []byte) (v []byte, ok bool, err error) {
	switch {
	case isMarker(b, key):
		if !c.markerKeys.mayHave(key) {
			return nil, true, nil
		}
		if v, ok := c.markers[string(key)]; ok {
			return v, true, nil
		}
		return u.boltTx.get(b, key), true, nil
	case b == bMovies:
		if e, ok := c.movies[string(key)]; ok && e.dirty && e.exists {
			return nil, false, u.rawPut(bMovies, bytes.Clone(key), encodeMovie(e.m))
		}
	case isRun(b, key):
		if e, ok := c.runs[string(key[len(layout.RunPrefix):])]; ok && e.dirty && e.exists {
			return nil, false, u.rawPut(bRuns, bytes.Clone(key), encodeRun(e.r))
		}
	case b == bHistory || b == bHistoryChanges:
		return nil, false, c.writePending(u.rawInsert, true)
	}
	return nil, false, nil
}

// put buffers a bulk write's put of a marker (done set). A put or delete
// of a cached movie or run makes the cached value stale: the cache drops
// it. One of the history (not RecordObservation's) may change a movie's
// greatest key: the waiting observations go into the tree and the cache
// forgets the greatest keys.
func (c *writeCache) put(u *undoTx, b bucket, key, v []byte) (done bool, err error) {
	switch {
	case isMarker(b, key):
		c.markerKeys.add(key)
		set(c.markers, &c.markerUndo, string(key), v)
		return true, nil
	case b == bMovies:
		drop(c.movies, &c.movieUndo, string(key))
	case isRun(b, key):
		drop(c.runs, &c.runUndo, string(key[len(layout.RunPrefix):]))
	case b == bHistory || b == bHistoryChanges:
		return false, c.forgetHistory(u)
	}
	return false, nil
}

// del is put for a delete: a buffered marker leaves the buffer (and is
// then deleted from the tree, which may hold an older value).
func (c *writeCache) del(u *undoTx, b bucket, key []byte) error {
	switch {
	case isMarker(b, key):
		drop(c.markers, &c.markerUndo, string(key))
	case b == bMovies:
		drop(c.movies, &c.movieUndo, string(key))
	case isRun(b, key):
		drop(c.runs, &c.runUndo, string(key[len(layout.RunPrefix):]))
	case b == bHistory || b == bHistoryChanges:
		return c.forgetHistory(u)
	}
	return nil
}

// forgetHistory puts the waiting observations into the tree and drops the
// greatest keys, before a write to the history that RecordObservation did
// not make.
func (c *writeCache) forgetHistory(u *undoTx) error {
	if err := c.writePending(u.rawInsert, true); err != nil {
		return err
	}
	for id := range c.history {
		drop(c.history, &c.historyUndo, id)
	}
	return nil
}

// beforeScan is called before a bulk write scans bucket b: the dirty
// values of the cache, the buffered markers and the waiting observations
// are put into the transaction first.
func (c *writeCache) beforeScan(u *undoTx, b bucket) error {
	switch b {
	case bMovies, bRuns:
		return c.writeBack(u.rawPut, false, &c.markerUndo)
	case bHistory, bHistoryChanges:
		return c.writePending(u.rawInsert, true)
	}
	return nil
}

// loadMovie returns the stored movie id, and whether there is one.
func loadMovie(tx readTx, id string) (store.Movie, bool, error) {
	c := cacheOf(tx)
	if c != nil {
		if e, ok := c.movies[id]; ok {
			if e.gen != c.gen {
				e.gen = c.gen // used: kept at the next commit
				c.movies[id] = e
			}
			return e.m, e.exists, nil
		}
		tx = tx.(*undoTx).boltTx // the tree, unrecorded: the write puts the movie into the cache
	}
	v := tx.get(bMovies, []byte(id))
	var m store.Movie
	if v != nil {
		var err error
		if m, err = decodeMovie(v); err != nil {
			return store.Movie{}, false, fmt.Errorf("movie %q: %w", id, err)
		}
	}
	if c != nil {
		set(c.movies, &c.movieUndo, id, cachedMovie{m: m, exists: v != nil, gen: c.gen})
	}
	return m, v != nil, nil
}

// storeMovie stores m.
func storeMovie(tx writeTx, m store.Movie) error {
	if c := cacheOf(tx); c != nil {
		m.Genres = slices.Clone(m.Genres) // kept: not the caller's
		set(c.movies, &c.movieUndo, m.ID, cachedMovie{m: m, exists: true, dirty: true, gen: c.gen})
		c.dirty++
		return nil
	}
	return tx.put(bMovies, []byte(m.ID), encodeMovie(m))
}

// getRun returns run id as stored, and whether there is one; without one,
// a run with only its ID.
func getRun(tx readTx, id string) (store.Run, bool, error) {
	c := cacheOf(tx)
	if c != nil {
		if e, ok := c.runs[id]; ok {
			if e.gen != c.gen {
				e.gen = c.gen
				c.runs[id] = e
			}
			return e.r, e.exists, nil
		}
		tx = tx.(*undoTx).boltTx
	}
	v := tx.get(bRuns, []byte(layout.RunKey(id)))
	r := store.Run{ID: id}
	if v != nil {
		var err error
		if r, err = decodeRun(v); err != nil {
			return store.Run{}, false, err
		}
	}
	if c != nil {
		set(c.runs, &c.runUndo, id, cachedRun{r: r, exists: v != nil, gen: c.gen})
	}
	return r, v != nil, nil
}

// writeRun stores run r; putRun also keeps its byStart entry.
func writeRun(tx writeTx, r store.Run) error {
	if c := cacheOf(tx); c != nil {
		set(c.runs, &c.runUndo, r.ID, cachedRun{r: r, exists: true, dirty: true, gen: c.gen})
		c.dirty++
		return nil
	}
	return tx.put(bRuns, []byte(layout.RunKey(r.ID)), encodeRun(r))
}
