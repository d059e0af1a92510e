package embedded

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// Records are stored in a compact binary form (JSON would cost more than
// the rest of an ApplyMovie). Every record starts with a header:
//
//	version (1 byte) | kind (1 byte) | expiresAt (varint epoch seconds, 0: none)
//
// followed by the kind's fields in a fixed order: strings and byte slices as
// uvarint length + bytes, integers as varints, floats as 8 bytes, booleans as
// one byte, times as a flag byte (0: zero time) then varint seconds and
// uvarint nanoseconds. A new field means a new version; decoders reject
// versions they do not know rather than misread them, and read every
// version they know.
//
// Version 2 appended, to what version 1 holds: a movie's LastEventDigest,
// a run's Trigger, a marker's digest and an error item's Resolved; it
// added the kinds errorListing and observation. Records written by version
// 1 (devstack data dirs from before) decode with those fields empty.

const (
	codecVersion    = 2 // what encoders write
	minCodecVersion = 1 // the oldest version decoders read
)

type kind byte

const (
	kindMovie kind = iota + 1
	kindRun
	kindLease
	kindPage
	kindMarker
	kindError
	kindIndex        // a GSI entry: an id, or nothing
	kindErrorListing // an errors byTime entry: the item with a payload preview
	kindObservation  // a history observation or change point
)

func (k kind) String() string {
	switch k {
	case kindMovie:
		return "movie"
	case kindRun:
		return "run"
	case kindLease:
		return "lease"
	case kindPage:
		return "page state"
	case kindMarker:
		return "marker"
	case kindError:
		return "error"
	case kindIndex:
		return "index entry"
	case kindErrorListing:
		return "error listing entry"
	case kindObservation:
		return "observation"
	}
	return fmt.Sprintf("kind %d", byte(k))
}

type encoder struct{ b []byte }

func newEncoder(k kind, expiresAt int64, size int) *encoder {
	e := &encoder{b: make([]byte, 0, size)}
	e.b = append(e.b, codecVersion, byte(k))
	e.int(expiresAt)
	return e
}

func (e *encoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) str(s string)  { e.uint(uint64(len(s))); e.b = append(e.b, s...) }
func (e *encoder) bytes(p []byte) {
	e.uint(uint64(len(p)))
	e.b = append(e.b, p...)
}
func (e *encoder) float(f float64) { e.b = binary.BigEndian.AppendUint64(e.b, math.Float64bits(f)) }
func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}
func (e *encoder) time(t time.Time) {
	if t.IsZero() {
		e.b = append(e.b, 0)
		return
	}
	e.b = append(e.b, 1)
	e.int(t.Unix())
	e.uint(uint64(t.Nanosecond()))
}

var errShort = errors.New("record truncated")

// decoder reads fields in order; the first problem sticks in err and every
// later read returns a zero value. With shared set, strings are cut from one
// copy of the record (one allocation instead of one per string); records
// with a large payload copy each string, so that a kept string does not
// keep the payload alive.
type decoder struct {
	b       []byte
	err     error
	version byte
	// shared is the record as one string and base the offset of b in it.
	shared string
	off    int
}

// header checks the version and kind, returns the expiry and leaves d at
// the first field.
func (d *decoder) header(v []byte, want kind, shared bool) (int64, error) {
	if len(v) < 2 {
		return 0, fmt.Errorf("decode %v: %w", want, errShort)
	}
	if v[0] < minCodecVersion || v[0] > codecVersion {
		return 0, fmt.Errorf("decode %v: unknown record version %d", want, v[0])
	}
	if kind(v[1]) != want {
		return 0, fmt.Errorf("decode %v: record is a %v", want, kind(v[1]))
	}
	if v[0] < 2 && (want == kindErrorListing || want == kindObservation) {
		return 0, fmt.Errorf("decode %v: record version %d has no such kind", want, v[0])
	}
	*d = decoder{b: v[2:], off: 2, version: v[0]}
	if shared {
		d.shared = string(v)
	}
	exp := d.int()
	if d.err != nil {
		return 0, fmt.Errorf("decode %v: %w", want, d.err)
	}
	return exp, nil
}

// expiresAt returns the expiry in a record's header without decoding the
// rest (0 when the record has none or is not readable).
func expiresAt(v []byte) int64 {
	if len(v) < 3 || v[0] < minCodecVersion || v[0] > codecVersion {
		return 0
	}
	exp, n := binary.Varint(v[2:])
	if n <= 0 {
		return 0
	}
	return exp
}

// skip consumes n bytes.
func (d *decoder) skip(n int) {
	d.b = d.b[n:]
	d.off += n
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *decoder) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.skip(n)
	return v
}

func (d *decoder) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.skip(n)
	return v
}

// count reads a length and checks that at least n*min bytes follow.
func (d *decoder) count(minSize int) int {
	n := d.uint()
	if n > uint64(len(d.b)/max(minSize, 1)) {
		d.fail(errShort)
		return 0
	}
	return int(n)
}

func (d *decoder) raw() []byte {
	n := d.count(1)
	p := d.b[:n]
	d.skip(n)
	return p
}

func (d *decoder) str() string {
	if d.shared == "" {
		return string(d.raw())
	}
	n := d.count(1)
	s := d.shared[d.off : d.off+n]
	d.skip(n)
	return s
}

// bytes returns a copy, nil when empty.
func (d *decoder) bytes() []byte {
	p := d.raw()
	if len(p) == 0 {
		return nil
	}
	return append([]byte(nil), p...)
}

func (d *decoder) float() float64 {
	if len(d.b) < 8 {
		d.fail(errShort)
		return 0
	}
	v := math.Float64frombits(binary.BigEndian.Uint64(d.b))
	d.skip(8)
	return v
}

func (d *decoder) bool() bool {
	if len(d.b) < 1 {
		d.fail(errShort)
		return false
	}
	v := d.b[0]
	d.skip(1)
	if v > 1 {
		d.fail(fmt.Errorf("bad boolean %d", v))
	}
	return v == 1
}

func (d *decoder) int32() int {
	v := d.int()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail(fmt.Errorf("integer %d out of range", v))
		return 0
	}
	return int(v)
}

func (d *decoder) time() time.Time {
	if len(d.b) < 1 {
		d.fail(errShort)
		return time.Time{}
	}
	flag := d.b[0]
	d.skip(1)
	switch flag {
	case 0:
		return time.Time{}
	case 1:
	default:
		d.fail(fmt.Errorf("bad time flag %d", flag))
		return time.Time{}
	}
	sec, nsec := d.int(), d.uint()
	if nsec >= 1e9 {
		d.fail(fmt.Errorf("bad nanoseconds %d", nsec))
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

// end reports the first error, or trailing bytes.
func (d *decoder) end(k kind) error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return fmt.Errorf("decode %v: %w", k, d.err)
	}
	return nil
}

func encodeMovie(m store.Movie) []byte {
	size := 64 + len(m.ID) + len(m.Title) + len(m.Director) + len(m.DetailURL) + len(m.Source) +
		len(m.LastRunID) + len(m.LastEventID) + len(m.LastEventDigest)
	for _, g := range m.Genres {
		size += len(g) + 2
	}
	e := newEncoder(kindMovie, 0, size)
	e.str(m.ID)
	e.str(m.Title)
	e.int(int64(m.Year))
	e.int(int64(m.Rank))
	e.float(m.Rating)
	e.int(int64(m.Votes))
	e.str(m.Director)
	e.uint(uint64(len(m.Genres)))
	for _, g := range m.Genres {
		e.str(g)
	}
	e.int(int64(m.RuntimeMinutes))
	e.str(m.DetailURL)
	e.str(m.Source)
	e.time(m.FirstSeen)
	e.time(m.LastSeen)
	e.str(m.LastRunID)
	e.str(m.LastEventID)
	e.time(m.LastEventTime)
	e.str(m.LastEventDigest)
	return e.b
}

func decodeMovie(v []byte) (store.Movie, error) {
	var d decoder
	if _, err := d.header(v, kindMovie, true); err != nil {
		return store.Movie{}, err
	}
	var m store.Movie
	m.ID = d.str()
	m.Title = d.str()
	m.Year = d.int32()
	m.Rank = d.int32()
	m.Rating = d.float()
	m.Votes = int(d.int())
	m.Director = d.str()
	if n := d.count(1); n > 0 {
		m.Genres = make([]string, n)
		for i := range m.Genres {
			m.Genres[i] = d.str()
		}
	}
	m.RuntimeMinutes = d.int32()
	m.DetailURL = d.str()
	m.Source = d.str()
	m.FirstSeen = d.time()
	m.LastSeen = d.time()
	m.LastRunID = d.str()
	m.LastEventID = d.str()
	m.LastEventTime = d.time()
	if d.version >= 2 {
		m.LastEventDigest = d.str()
	}
	return m, d.end(kindMovie)
}

func encodeRun(r store.Run) []byte {
	e := newEncoder(kindRun, 0, 64+len(r.ID)+len(r.Source)+len(r.Error)+len(r.Trigger))
	e.str(r.ID)
	e.str(r.Source)
	e.time(r.StartedAt)
	e.time(r.FinishedAt)
	e.bool(r.Completed)
	e.int(int64(r.Published))
	e.int(int64(r.PublishFailed))
	e.int(int64(r.Skipped))
	e.int(int64(r.Pages))
	e.bool(r.Unchanged)
	e.int(r.DurationMs)
	e.str(r.Error)
	e.int(int64(r.Processed))
	e.int(int64(r.Failed))
	e.str(r.Trigger)
	return e.b
}

func decodeRun(v []byte) (store.Run, error) {
	var d decoder
	if _, err := d.header(v, kindRun, true); err != nil {
		return store.Run{}, err
	}
	var r store.Run
	r.ID = d.str()
	r.Source = d.str()
	r.StartedAt = d.time()
	r.FinishedAt = d.time()
	r.Completed = d.bool()
	r.Published = int(d.int())
	r.PublishFailed = int(d.int())
	r.Skipped = int(d.int())
	r.Pages = int(d.int())
	r.Unchanged = d.bool()
	r.DurationMs = d.int()
	r.Error = d.str()
	r.Processed = int(d.int())
	r.Failed = int(d.int())
	if d.version >= 2 {
		r.Trigger = d.str()
	}
	return r, d.end(kindRun)
}

// lease is a host's scrape lease.
type lease struct {
	Holder string
	Until  time.Time
}

func encodeLease(l lease, expires int64) []byte {
	e := newEncoder(kindLease, expires, 32+len(l.Holder))
	e.str(l.Holder)
	e.time(l.Until)
	return e.b
}

func decodeLease(v []byte) (lease, error) {
	var d decoder
	if _, err := d.header(v, kindLease, false); err != nil {
		return lease{}, err
	}
	l := lease{Holder: d.str(), Until: d.time()}
	return l, d.end(kindLease)
}

func encodePage(s store.PageState) []byte {
	e := newEncoder(kindPage, 0, 32+len(s.URL)+len(s.ETag)+len(s.LastModified))
	e.str(s.URL)
	e.str(s.ETag)
	e.str(s.LastModified)
	e.time(s.FetchedAt)
	return e.b
}

func decodePage(v []byte) (store.PageState, error) {
	var d decoder
	if _, err := d.header(v, kindPage, true); err != nil {
		return store.PageState{}, err
	}
	s := store.PageState{URL: d.str(), ETag: d.str(), LastModified: d.str(), FetchedAt: d.time()}
	return s, d.end(kindPage)
}

// marker is a per-event progress marker: the counter it counted and the
// digest of the event's content (empty: unknown).
type marker struct {
	Counter store.Counter
	Digest  string
}

func encodeMarker(m marker, expires int64) []byte {
	e := newEncoder(kindMarker, expires, 16+len(m.Counter)+len(m.Digest))
	e.str(string(m.Counter))
	e.str(m.Digest)
	return e.b
}

func decodeMarker(v []byte) (marker, int64, error) {
	var d decoder
	exp, err := d.header(v, kindMarker, false)
	if err != nil {
		return marker{}, 0, err
	}
	m := marker{Counter: store.Counter(d.str())}
	if d.version >= 2 {
		m.Digest = d.str()
	}
	return m, exp, d.end(kindMarker)
}

// encodeError stores e; its ExpiresAt goes to the header, in epoch seconds.
func encodeError(e store.ErrorItem) []byte { return encodeErrorKind(kindError, e) }

// encodeErrorListing is e's entry in the byTime index: e with its payload
// cut to store.PreviewBytes, so that a listing never reads a whole payload.
func encodeErrorListing(e store.ErrorItem) []byte {
	e.Payload = store.Preview(e.Payload)
	return encodeErrorKind(kindErrorListing, e)
}

func encodeErrorKind(k kind, e store.ErrorItem) []byte {
	size := 112 + len(e.ID) + len(e.Stage) + len(e.Reason) + len(e.EventID) + len(e.RunID) + len(e.Payload) +
		len(e.ShardID) + len(e.SequenceNumber) + len(e.PartitionKey) + len(e.StreamARN) + len(e.Condition)
	w := newEncoder(k, e.ExpiresAt.Unix(), size)
	w.str(e.ID)
	w.str(string(e.Stage))
	w.str(e.Reason)
	w.str(e.EventID)
	w.str(e.RunID)
	w.bytes(e.Payload)
	w.int(int64(e.PayloadSize))
	w.str(e.ShardID)
	w.str(e.SequenceNumber)
	w.str(e.PartitionKey)
	w.str(e.StreamARN)
	w.str(e.Condition)
	w.int(int64(e.Attempts))
	w.time(e.FirstFailure)
	w.time(e.LastFailure)
	w.time(e.Resolved)
	return w.b
}

func decodeError(v []byte) (store.ErrorItem, error) { return decodeErrorKind(v, kindError) }

// decodeErrorListing decodes a byTime entry: the item with its payload
// preview.
func decodeErrorListing(v []byte) (store.ErrorItem, error) {
	return decodeErrorKind(v, kindErrorListing)
}

func decodeErrorKind(v []byte, k kind) (store.ErrorItem, error) {
	var d decoder
	exp, err := d.header(v, k, false)
	if err != nil {
		return store.ErrorItem{}, err
	}
	var e store.ErrorItem
	e.ID = d.str()
	e.Stage = store.Stage(d.str())
	e.Reason = d.str()
	e.EventID = d.str()
	e.RunID = d.str()
	e.Payload = d.bytes()
	e.PayloadSize = int(d.int())
	e.ShardID = d.str()
	e.SequenceNumber = d.str()
	e.PartitionKey = d.str()
	e.StreamARN = d.str()
	e.Condition = d.str()
	e.Attempts = int(d.int())
	e.FirstFailure = d.time()
	e.LastFailure = d.time()
	if d.version >= 2 {
		e.Resolved = d.time()
	}
	if exp != 0 {
		e.ExpiresAt = time.Unix(exp, 0).UTC()
	}
	return e, d.end(k)
}

// indexValue is the value of a GSI entry: the entry is all in its key (or,
// for the errors index, the item id).
func indexValue(id string) []byte {
	e := newEncoder(kindIndex, 0, 8+len(id))
	e.str(id)
	return e.b
}

func decodeIndex(v []byte) (string, error) {
	var d decoder
	if _, err := d.header(v, kindIndex, false); err != nil {
		return "", err
	}
	id := d.str()
	return id, d.end(kindIndex)
}

// observation is what a history entry holds besides its key (the movie id
// and the position, (time, event id)): the run, the observed values and
// whether they differ from the observation just before (a change point).
type observation struct {
	RunID   string
	Rank    int
	Rating  float64
	Votes   int
	Changed bool
}

func encodeObservation(o observation) []byte {
	e := newEncoder(kindObservation, 0, 32+len(o.RunID))
	e.str(o.RunID)
	e.int(int64(o.Rank))
	e.float(o.Rating)
	e.int(int64(o.Votes))
	e.bool(o.Changed)
	return e.b
}

func decodeObservation(v []byte) (observation, error) {
	var d decoder
	if _, err := d.header(v, kindObservation, false); err != nil {
		return observation{}, err
	}
	o := observation{RunID: d.str(), Rank: d.int32(), Rating: d.float(), Votes: int(d.int()), Changed: d.bool()}
	return o, d.end(kindObservation)
}
