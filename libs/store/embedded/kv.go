package embedded

// The store logic is written once over kv, a tiny transactional ordered
// key-value store with a fixed set of buckets, and runs on two backings:
// memKV (a map plus lazily sorted keys) and boltKV (a bbolt file).

// bucket is one ordered keyspace: a table or a GSI of it.
type bucket int

const (
	bMovies         bucket = iota // movie id → movie
	bMoviesByYear                 // yearKey(year) + id → index entry (GSI byYear)
	bRuns                         // runs-table pk → run, lease, page state or marker
	bErrors                       // error id → error item
	bErrorsByTime                 // listSk → listing entry: the item with a payload preview (GSI byTime)
	bRunsByStart                  // runs listSk → index entry (GSI byStart; runs with a start time)
	bHistory                      // historyKey(movie, pos) → observation
	bHistoryChanges               // historyKey(movie, pos) → observation, change points only
	bMeta                         // layoutKey → layout version of the data
	numBuckets
)

var bucketNames = [numBuckets]string{"movies", "movies.byYear", "runs", "errors", "errors.byTime",
	"runs.byStart", "history", "history.changes", "meta"}

func (b bucket) String() string { return bucketNames[b] }

// kv is a transactional ordered key-value store.
type kv interface {
	// view runs fn in a read-only transaction that sees one consistent
	// state; views run concurrently with each other.
	view(fn func(readTx) error) error
	// update runs fn in a read-write transaction: all of fn's writes
	// commit together, or none of them when fn returns an error. Updates
	// are serialised. fn may be run more than once (a backing that groups
	// commits reruns it after another caller's failure), so it must set
	// its results afresh on every run and touch nothing outside the
	// transaction.
	update(fn func(writeTx) error) error
	// flush commits what a backing holds uncommitted (bulk loading).
	flush() error
	close() error
}

// readTx reads inside a transaction. Slices it returns are valid until the
// transaction ends and must not be modified.
type readTx interface {
	// get returns the value of key, nil if there is none.
	get(b bucket, key []byte) []byte
	// ascend calls fn with each key greater than after (every key when
	// after is nil), in ascending byte order, until fn returns false.
	ascend(b bucket, after []byte, fn func(k, v []byte) bool)
	// descend calls fn with each key less than before (every key when
	// before is nil), in descending byte order, until fn returns false.
	descend(b bucket, before []byte, fn func(k, v []byte) bool)
}

// writeTx reads and writes inside a read-write transaction. fn callbacks of
// ascend and descend must not write: collect the keys, then write.
type writeTx interface {
	readTx
	// put sets key to v; the transaction owns v from then on.
	put(b bucket, key, v []byte) error
	// insert is put of a key the caller knows is absent: a backing may
	// skip looking for it.
	insert(b bucket, key, v []byte) error
	// del removes key if present.
	del(b bucket, key []byte) error
}
