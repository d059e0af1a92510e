package embedded

import (
	"bytes"
	"fmt"
	"maps"
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
// The index entries (movies by year, runs by start), which writes only
// put and delete, are buffered too.
//
// So a replay's writes need no transaction: the commit, in the background
// (bulk.go), puts what an interval wrote into the tree while the next
// interval writes to the cache.
//
// Who sees what:
//   - Store methods read and write movies and runs through loadMovie,
//     storeMovie, getRun and writeRun, which use the cache and, for what
//     it does not hold, the file (bulk.lookup).
//   - Anything else sees the cache too: a view, and a scan of the movies
//     or runs bucket in a write, first put the dirty values and the
//     buffered markers into the transaction; a write's get of a cached
//     movie or run puts that one first; its put or delete of one drops it
//     from the cache. Markers and index entries are read, put and deleted
//     through the buffers (a read or scan of an index puts its buffered
//     entries into the transaction first). The history's waiting
//     observations go into the transaction before a view or any read of
//     the history in a write other than RecordObservation's (which works
//     on the tree through rawTx); a write to the history other than
//     RecordObservation's also drops the greatest keys.
//   - A write that fails leaves the cache as it found it (the journals), as
//     it leaves the transaction (undoTx).
//   - At the end of a commit interval the cache is sealed: what it holds
//     for the file becomes the batch a commit puts there, its dirty values
//     become clean, and the entries nobody used in the interval are
//     dropped (they are in the file: the commit before is over).

// writeCache is the write-back cache of a bulk load. It is used under the
// bulk's lock only.
type writeCache struct {
	movies  map[string]cachedMovie // by movie id
	runs    map[string]cachedRun   // by run id
	history map[string]historyTail // by movie id
	// markers are the markers written since the last seal, by key.
	markers map[string][]byte
	// markerKeys has the key of every marker in the file, in a batch or
	// in markers (and of a few deleted since).
	markerKeys *keyFilter
	// byYear and byStart are the index entries written since the last
	// seal, by key (nil: deleted).
	byYear, byStart map[string][]byte
	// The current write's changes, to undo them if it fails.
	movieUndo   []keyed[cachedMovie]
	runUndo     []keyed[cachedRun]
	historyUndo []keyed[historyTail]
	markerUndo  []keyed[[]byte]
	indexUndo   [2][]keyed[[]byte] // byYear, byStart
	gen         uint32             // the commit interval, to drop the entries it did not use
	dirty       int                // dirty movies and runs: an upper bound
}

type cachedMovie struct {
	m      store.Movie
	exists bool // false: no movie is stored
	dirty  bool // the file holds another value, or none
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
		markers: map[string][]byte{}, markerKeys: newKeyFilter(markerFilterKeys),
		byYear: map[string][]byte{}, byStart: map[string][]byte{}}
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
	forget(undo)
}

// forget empties undo.
func forget[T any](undo *[]keyed[T]) {
	clear(*undo) // drop the references
	*undo = (*undo)[:0]
}

// rollback undoes the changes of the write that failed.
func (c *writeCache) rollback() {
	rollback(c.movies, &c.movieUndo)
	rollback(c.runs, &c.runUndo)
	rollback(c.history, &c.historyUndo)
	rollback(c.markers, &c.markerUndo)
	rollback(c.byYear, &c.indexUndo[0])
	rollback(c.byStart, &c.indexUndo[1])
}

// keep ends a write that succeeded: its changes stay.
func (c *writeCache) keep() {
	forget(&c.movieUndo)
	forget(&c.runUndo)
	forget(&c.historyUndo)
	forget(&c.markerUndo)
	forget(&c.indexUndo[0])
	forget(&c.indexUndo[1])
}

// index returns the buffer of index bucket b and its journal, nil for any
// other bucket.
func (c *writeCache) index(b bucket) (map[string][]byte, *[]keyed[[]byte]) {
	switch b {
	case bMoviesByYear:
		return c.byYear, &c.indexUndo[0]
	case bRunsByStart:
		return c.byStart, &c.indexUndo[1]
	}
	return nil, nil
}

// batch is what a commit puts into the file: the cache's dirty movies and
// runs, encoded, and the markers, index entries and history observations
// written in the interval.
type batch struct {
	movies, runs    map[string][]byte // by movie id, by run id
	markers         map[string][]byte
	byYear, byStart map[string][]byte // nil values: deleted
	history         []pendingObs      // in key order
}

// seal ends a commit interval: it returns what the cache holds for the
// file and empties its buffers; its dirty values become clean.
func (c *writeCache) seal() *batch {
	bt := &batch{markers: c.markers, byYear: c.byYear, byStart: c.byStart}
	// The next interval writes about as many markers as this one: sized
	// for them, the map is not grown (and rehashed) step by step.
	c.markers, c.byYear, c.byStart = make(map[string][]byte, len(bt.markers)), map[string][]byte{}, map[string][]byte{}
	if c.dirty > 0 {
		bt.movies, bt.runs = map[string][]byte{}, map[string][]byte{}
		for id, e := range c.movies {
			if e.dirty {
				bt.movies[id] = encodeMovie(e.m)
				e.dirty = false
				c.movies[id] = e
			}
		}
		for id, e := range c.runs {
			if e.dirty {
				bt.runs[id] = encodeRun(e.r)
				e.dirty = false
				c.runs[id] = e
			}
		}
		c.dirty = 0
	}
	var movies []string
	pending := 0
	for id, t := range c.history {
		if len(t.pending) > 0 {
			movies = append(movies, id)
			pending += len(t.pending)
		}
	}
	bt.history = make([]pendingObs, 0, pending)
	// The movies' key ranges are disjoint: their greatest keys order them.
	slices.SortFunc(movies, func(a, b string) int { return bytes.Compare(c.history[a].key, c.history[b].key) })
	for _, id := range movies {
		t := c.history[id]
		bt.history = append(bt.history, t.pending...)
		t.pending = nil
		c.history[id] = t
	}
	return bt
}

// empty reports whether bt holds nothing.
func (bt *batch) empty() bool {
	return len(bt.movies)+len(bt.runs)+len(bt.markers)+len(bt.byYear)+len(bt.byStart)+len(bt.history) == 0
}

// write puts bt into tx, each bucket in key order.
func (bt *batch) write(tx writeTx) error {
	buckets := []struct {
		b    bucket
		m    map[string][]byte
		key  func(string) []byte
		what string
	}{
		{bMovies, bt.movies, func(id string) []byte { return []byte(id) }, "movie"},
		{bRuns, bt.runs, func(id string) []byte { return []byte(layout.RunKey(id)) }, "run"},
		{bRuns, bt.markers, bytesOf, "marker"},
		{bMoviesByYear, bt.byYear, bytesOf, "year index entry"},
		{bRunsByStart, bt.byStart, bytesOf, "start index entry"},
	}
	for _, w := range buckets {
		// bbolt copies the keys; the values are the transaction's.
		for _, k := range slices.Sorted(maps.Keys(w.m)) {
			var err error
			if v := w.m[k]; v != nil {
				err = tx.put(w.b, w.key(k), v)
			} else {
				err = tx.del(w.b, w.key(k))
			}
			if err != nil {
				return fmt.Errorf("write %s %q: %w", w.what, k, err)
			}
		}
	}
	for _, b := range []bucket{bHistory, bHistoryChanges} {
		for _, p := range bt.history {
			if b == bHistoryChanges && !p.changed {
				continue
			}
			if err := tx.insert(b, p.key, p.v); err != nil {
				return fmt.Errorf("write history entry %q: %w", p.key, err)
			}
		}
	}
	return nil
}

// flush puts, in a write, everything the cache holds for the file into
// the writers' transaction (the dirty movies and runs stay dirty: the
// write may be undone; the buffered entries leave the buffers through the
// journals).
func (c *writeCache) flush(u *undoTx) error {
	for id, e := range c.movies {
		if e.dirty && e.exists {
			if err := u.rawPut(bMovies, []byte(id), encodeMovie(e.m)); err != nil {
				return err
			}
		}
	}
	for id, e := range c.runs {
		if e.dirty && e.exists {
			if err := u.rawPut(bRuns, []byte(layout.RunKey(id)), encodeRun(e.r)); err != nil {
				return err
			}
		}
	}
	if err := c.flushBuffer(u, bRuns, c.markers, &c.markerUndo); err != nil {
		return err
	}
	for _, b := range []bucket{bMoviesByYear, bRunsByStart} {
		m, undo := c.index(b)
		if err := c.flushBuffer(u, b, m, undo); err != nil {
			return err
		}
	}
	return c.flushPending(u)
}

// flushBuffer puts the entries of buffer m (of bucket b) into the writers'
// transaction, in key order, and empties m through its journal.
func (c *writeCache) flushBuffer(u *undoTx, b bucket, m map[string][]byte, undo *[]keyed[[]byte]) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		var err error
		if v := m[k]; v != nil {
			err = u.rawPut(b, []byte(k), v)
		} else {
			err = u.rawDel(b, []byte(k))
		}
		if err != nil {
			return err
		}
		drop(m, undo, k)
	}
	return nil
}

// flushPending puts every movie's waiting observations into the writers'
// transaction and empties their lists, through the journal.
func (c *writeCache) flushPending(u *undoTx) error {
	for id, t := range c.history {
		if len(t.pending) > 0 {
			if err := c.writeMoviePending(u, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeMoviePending puts the waiting observations of movie id into the
// writers' transaction (undone with the write) and empties its list.
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

// keepIntervals is how many commit intervals a clean entry is kept
// unused. A replay's lanes each hold a share of the partition keys and
// hand the processor batches of 2,000 records, so an interval (20,000
// writes, about 6,700 events) can end before a lane's next batch. When
// entries unused for one interval were dropped, a lane's movies and runs
// went at a seal and came back soon after: a history read back opened the
// writers' transaction, and a movie read back while the next commit
// committed it waited for that commit under the lock, with every writer
// (about a tenth of a replay's time, once per interval).
const keepIntervals = 4

// evict drops the clean entries that the last keepIntervals commit
// intervals did not use, and starts the next interval. The commit before
// is over, so the file has their values.
func (c *writeCache) evict() {
	for id, e := range c.movies {
		if !e.dirty && c.gen-e.gen >= keepIntervals {
			delete(c.movies, id)
		}
	}
	for id, e := range c.runs {
		if !e.dirty && c.gen-e.gen >= keepIntervals {
			delete(c.runs, id)
		}
	}
	for id, t := range c.history {
		if c.gen-t.gen >= keepIntervals && len(t.pending) == 0 {
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
// run that the file does not hold yet is put into the writers'
// transaction first (it stays dirty: the write may be undone), so that its
// value there, read next, is the cached one; so are the buffered entries
// of an index and the waiting observations of the history.
func (c *writeCache) get(u *undoTx, b bucket, key []byte) (v []byte, ok bool, err error) {
	switch {
	case isMarker(b, key):
		if !c.markerKeys.mayHave(key) {
			return nil, true, nil
		}
		if v, ok := c.markers[string(key)]; ok {
			return v, true, nil
		}
		v, err := u.b.lookup(b, key)
		return v, true, err
	case b == bMovies:
		if e, ok := c.movies[string(key)]; ok && e.dirty && e.exists {
			return nil, false, u.rawPut(bMovies, bytes.Clone(key), encodeMovie(e.m))
		}
	case isRun(b, key):
		if e, ok := c.runs[string(key[len(layout.RunPrefix):])]; ok && e.dirty && e.exists {
			return nil, false, u.rawPut(bRuns, bytes.Clone(key), encodeRun(e.r))
		}
	case b == bMoviesByYear || b == bRunsByStart:
		m, undo := c.index(b)
		return nil, false, c.flushBuffer(u, b, m, undo)
	case b == bHistory || b == bHistoryChanges:
		return nil, false, c.flushPending(u)
	}
	return nil, false, nil
}

// put buffers a bulk write's put of a marker or an index entry (done
// set). A put of a cached movie or run makes the cached value stale: the
// cache drops it. One of the history (not RecordObservation's) may change
// a movie's greatest key: the waiting observations go into the writers'
// transaction and the cache forgets the greatest keys.
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
	case b == bMoviesByYear || b == bRunsByStart:
		m, undo := c.index(b)
		set(m, undo, string(key), v)
		return true, nil
	case b == bHistory || b == bHistoryChanges:
		return false, c.forgetHistory(u)
	}
	return false, nil
}

// del is put for a delete: a buffered marker leaves the buffer (and is
// then deleted from the tree, which may hold an older value); an index
// entry's delete is buffered.
func (c *writeCache) del(u *undoTx, b bucket, key []byte) (done bool, err error) {
	switch {
	case isMarker(b, key):
		drop(c.markers, &c.markerUndo, string(key))
	case b == bMovies:
		drop(c.movies, &c.movieUndo, string(key))
	case isRun(b, key):
		drop(c.runs, &c.runUndo, string(key[len(layout.RunPrefix):]))
	case b == bMoviesByYear || b == bRunsByStart:
		m, undo := c.index(b)
		set(m, undo, string(key), nil)
		return true, nil
	case b == bHistory || b == bHistoryChanges:
		return false, c.forgetHistory(u)
	}
	return false, nil
}

// forgetHistory puts the waiting observations into the writers'
// transaction and drops the greatest keys, before a write to the history
// that RecordObservation did not make.
func (c *writeCache) forgetHistory(u *undoTx) error {
	if err := c.flushPending(u); err != nil {
		return err
	}
	for id := range c.history {
		drop(c.history, &c.historyUndo, id)
	}
	return nil
}

// beforeScan is called before a bulk write scans bucket b: what the cache
// holds for that bucket goes into the writers' transaction first.
func (c *writeCache) beforeScan(u *undoTx, b bucket) error {
	switch b {
	case bMovies, bRuns:
		return c.flush(u)
	case bMoviesByYear, bRunsByStart:
		m, undo := c.index(b)
		return c.flushBuffer(u, b, m, undo)
	case bHistory, bHistoryChanges:
		return c.flushPending(u)
	}
	return nil
}

// loadMovie returns the stored movie id, and whether there is one. key is
// id as bytes, or nil (made when needed).
func loadMovie(tx readTx, id string, key []byte) (store.Movie, bool, error) {
	c := cacheOf(tx)
	var v []byte
	if c != nil {
		if e, ok := c.movies[id]; ok {
			if e.gen != c.gen {
				e.gen = c.gen // used: kept at the next seal
				c.movies[id] = e
			}
			return e.m, e.exists, nil
		}
		var err error
		if v, err = tx.(*undoTx).b.lookup(bMovies, []byte(id)); err != nil {
			return store.Movie{}, false, err
		}
	} else {
		if key == nil {
			key = []byte(id)
		}
		v = tx.get(bMovies, key)
	}
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

// storeMovie stores m; key is its id as bytes, or nil.
func storeMovie(tx writeTx, m store.Movie, key []byte) error {
	if c := cacheOf(tx); c != nil {
		m.Genres = slices.Clone(m.Genres) // kept: not the caller's
		set(c.movies, &c.movieUndo, m.ID, cachedMovie{m: m, exists: true, dirty: true, gen: c.gen})
		c.dirty++
		return nil
	}
	if key == nil {
		key = []byte(m.ID)
	}
	return tx.put(bMovies, key, encodeMovie(m))
}

// getRun returns run id as stored, and whether there is one; without one,
// a run with only its ID.
func getRun(tx readTx, id string) (store.Run, bool, error) {
	c := cacheOf(tx)
	var v []byte
	if c != nil {
		if e, ok := c.runs[id]; ok {
			if e.gen != c.gen {
				e.gen = c.gen
				c.runs[id] = e
			}
			return e.r, e.exists, nil
		}
		var err error
		if v, err = tx.(*undoTx).b.lookup(bRuns, []byte(layout.RunKey(id))); err != nil {
			return store.Run{}, false, err
		}
	} else {
		v = tx.get(bRuns, []byte(layout.RunKey(id)))
	}
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
