package archive

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"time"
)

// Buffer defaults.
const (
	// DefaultMaxBytes is the default size of the lines a Buffer collects
	// before it is full: 5 MiB before compression, Firehose's default S3
	// buffering hint, which also counts the incoming (uncompressed) data.
	// Events compress about 5 to 10 times, so objects are about 0.5-1 MiB.
	DefaultMaxBytes = 5 << 20
	// DefaultInterval is how long a Buffer holds its first record before
	// it is due: 5 s, so that a local run sees its archive almost at once
	// (Firehose's own default is 300 s, its range 0-900 s).
	DefaultInterval = 5 * time.Second
)

// BufferOptions configure a Buffer.
type BufferOptions struct {
	// Name is the writer's name, the first part of its object names (see
	// ObjectKey), such as "devstack". Required; see CheckWriterName.
	Name string
	// MaxBytes is the size of the buffered lines (before compression) at
	// which the Buffer is full; default DefaultMaxBytes. An object may hold
	// up to one line more.
	MaxBytes int
	// Interval is how long after its first record was added a Buffer is
	// due; default DefaultInterval.
	Interval time.Duration
	// Now is the clock; default time.Now. The caller drives time: the
	// Buffer only reads the clock in Add and Due.
	Now func() time.Time
	// Unique returns the unique part of each new object key; default
	// NewUnique.
	Unique func() string
}

func (o *BufferOptions) defaults() {
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Unique == nil {
		o.Unique = NewUnique
	}
}

// Validate reports every problem of o (with its defaults applied) at once.
func (o BufferOptions) Validate() error {
	o.defaults()
	var errs []error
	if err := CheckWriterName(o.Name); err != nil {
		errs = append(errs, err)
	}
	if o.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("BufferOptions.MaxBytes %d is negative", o.MaxBytes))
	}
	if o.Interval < 0 {
		errs = append(errs, fmt.Errorf("BufferOptions.Interval %s is negative", o.Interval))
	}
	return errors.Join(errs...)
}

// Flushed tells what one object written by Buffer.Flush holds, so that a
// consumer checkpoints its shards only once their records are durable.
type Flushed struct {
	// Key is the object's key.
	Key string
	// Records is the number of records (lines) in it; 0 when Flush had
	// nothing to write.
	Records int
	// Bytes is the object's (compressed) size; RawBytes its lines' size.
	Bytes, RawBytes int
	// Oldest and Newest are the earliest and latest arrival times of its
	// records.
	Oldest, Newest time.Time
	// Last maps each shard id with records in the object to the highest
	// sequence number among them: every record of the shard added before
	// the Flush, up to that one, is in this object or an earlier one.
	Last map[string]string
}

// Buffer collects records as lines and writes them as one gzip-compressed
// object of the archive layout, the way Firehose buffers a delivery stream:
// it is full at MaxBytes of lines and due Interval after its first record.
// The caller adds records, and flushes when Add reports the Buffer full or
// when Due says so (on its own ticker); what Flush returns says which
// records are durable. A Buffer is safe for concurrent use; Flush holds it
// while the object is written.
type Buffer struct {
	w Writer
	o BufferOptions

	mu     sync.Mutex
	lines  []byte
	n      int
	first  time.Time // when the first buffered record was added
	oldest time.Time
	newest time.Time
	last   map[string]string
	key    string // fixed at the first attempt to write, until one succeeds
	zw     *gzip.Writer
	body   bytes.Buffer
}

// NewBuffer returns an empty Buffer writing to w.
func NewBuffer(w Writer, o BufferOptions) (*Buffer, error) {
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("buffer options: %w", err)
	}
	o.defaults()
	return &Buffer{w: w, o: o, last: map[string]string{}}, nil
}

// Add appends rec's line to the buffer and reports whether the buffer is
// now full (MaxBytes of lines or more), in which case the caller should
// Flush. It does no I/O. It returns an error wrapping ErrInvalidRecord or
// ErrLineTooLong, and adds nothing, when rec cannot be a line (see
// AppendLine). Adding to a full Buffer is allowed: a caller whose Flush
// fails may go on, but the Buffer grows until a Flush succeeds.
func (b *Buffer) Add(rec Record) (full bool, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.lines, err = AppendLine(b.lines, rec)
	if err != nil {
		return b.full(), err
	}
	if b.n == 0 {
		b.first = b.o.Now()
		b.oldest, b.newest = rec.ArrivalTime.UTC(), rec.ArrivalTime.UTC()
	}
	b.n++
	if t := rec.ArrivalTime.UTC(); t.Before(b.oldest) {
		b.oldest = t
	} else if t.After(b.newest) {
		b.newest = t
	}
	if seq, ok := b.last[rec.ShardID]; !ok || compareSeq(rec.SequenceNumber, seq) > 0 {
		b.last[rec.ShardID] = rec.SequenceNumber
	}
	return b.full(), nil
}

func (b *Buffer) full() bool { return len(b.lines) >= b.o.MaxBytes }

// Due reports whether the Buffer holds records and is full or its first
// record was added Interval ago or more.
func (b *Buffer) Due() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n > 0 && (b.full() || b.o.Now().Sub(b.first) >= b.o.Interval)
}

// Pending returns the number of buffered records and the size of their
// lines.
func (b *Buffer) Pending() (records, bytes int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n, len(b.lines)
}

// Flush writes every buffered record as one object and empties the Buffer.
// The object's key is ObjectKey(Name, oldest arrival time, Unique()). It
// returns what the object holds, or a zero Flushed when the Buffer is
// empty. When the write fails, Flush keeps every record and returns the
// error; the next Flush writes them, with those added since, under the
// same key, so a write that did land after all is replaced, not
// duplicated.
func (b *Buffer) Flush(ctx context.Context) (Flushed, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.n == 0 {
		return Flushed{}, nil
	}
	if b.key == "" {
		b.key = ObjectKey(b.o.Name, b.oldest, b.o.Unique())
	}
	body, err := b.compress()
	if err != nil {
		return Flushed{}, fmt.Errorf("compress %s: %w", b.key, err)
	}
	if err := b.w.Put(ctx, b.key, body); err != nil {
		return Flushed{}, fmt.Errorf("write %s: %w", b.key, err)
	}
	f := Flushed{
		Key: b.key, Records: b.n, Bytes: len(body), RawBytes: len(b.lines),
		Oldest: b.oldest, Newest: b.newest, Last: maps.Clone(b.last),
	}
	b.reset()
	return f, nil
}

// compress returns the buffered lines gzip-compressed, in b.body.
func (b *Buffer) compress() ([]byte, error) {
	b.body.Reset()
	if b.zw == nil {
		b.zw = gzip.NewWriter(&b.body)
	} else {
		b.zw.Reset(&b.body)
	}
	if _, err := b.zw.Write(b.lines); err != nil {
		return nil, err
	}
	if err := b.zw.Close(); err != nil {
		return nil, err
	}
	return b.body.Bytes(), nil
}

func (b *Buffer) reset() {
	// Keep the memory of a usual batch; drop what a long failure grew.
	if cap(b.lines) > 2*b.o.MaxBytes+MaxLineSize {
		b.lines = nil
		b.body = bytes.Buffer{}
	}
	b.lines = b.lines[:0]
	b.n = 0
	b.key = ""
	b.first, b.oldest, b.newest = time.Time{}, time.Time{}, time.Time{}
	clear(b.last)
}
