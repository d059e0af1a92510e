package archive

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	// klauspost/compress inflates about twice as fast as compress/gzip
	// (the reader's largest cost in a replay), with the same API and errors.
	"github.com/klauspost/compress/gzip"
)

// ScanOptions choose what Scan reads.
type ScanOptions struct {
	// Since and Until bound the records by their arrival time: Since <= t
	// < Until. A zero time is no bound.
	Since, Until time.Time
	// Skew widens the hours read beyond the bounds (see the Skew
	// constant, the default). Negative is no widening.
	Skew time.Duration
	// StartAfter resumes a scan after the object with this key (the Key of
	// the last Progress of an interrupted scan); "" starts at the start.
	StartAfter string
	// Progress, if not nil, is called after each object is read through.
	Progress func(Progress)
}

// Progress is how far a Scan got.
type Progress struct {
	// Key is the last object read through.
	Key string
	// Objects, Bytes are the objects read and their stored (compressed)
	// size.
	Objects int
	Bytes   int64
	// Records counts the records decoded; Matched those within the bounds,
	// passed to fn.
	Records, Matched int64
}

// errStop ends a listing early; Scan does not return it.
var errStop = errors.New("stop listing")

// Scan calls fn, one call at a time, with every record under EventsPrefix
// whose arrival time is within o's bounds: objects in key order (that is
// by hour, then by writer and time), records in line order within an
// object. It reads the hours from Since-Skew to Until+Skew, and keeps the
// records by their own arrival time (see the Skew constant for why). An
// object may be gzip-compressed (as the archive's are) or plain lines.
// Memory stays bounded: objects are streamed, one line at a time.
//
// Delivery is at least once upstream (Firehose may deliver a batch twice),
// so the same record (shard, sequence number, subsequence number) may come
// more than once; consumers are idempotent or remove duplicates.
//
// Scan stops at fn's first error, which it returns as it is; at a line or
// object it cannot read, with an error naming the object and the line (a
// *LineError for a line); or when ctx ends.
func Scan(ctx context.Context, r Reader, o ScanOptions, fn func(Record) error) error {
	skew := o.Skew
	switch {
	case skew == 0:
		skew = Skew
	case skew < 0:
		skew = 0
	}
	after := o.StartAfter
	if !o.Since.IsZero() {
		if low := HourPrefix(o.Since.Add(-skew)); low > after {
			// Every key of an earlier hour sorts before low, every key of
			// that hour after it.
			after = low
		}
	}
	var stop string // the first key not to read; "" for no end
	if !o.Until.IsZero() {
		stop = HourPrefix(o.Until.Add(skew - 1).Truncate(time.Hour).Add(time.Hour))
	}
	s := scanner{ctx: ctx, r: r, o: o, fn: fn}
	err := r.List(ctx, EventsPrefix, after, func(obj Object) error {
		if stop != "" && obj.Key >= stop {
			return errStop
		}
		return s.object(obj)
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

type scanner struct {
	ctx  context.Context
	r    Reader
	o    ScanOptions
	fn   func(Record) error
	zr   *gzip.Reader
	br   *bufio.Reader
	in   interner // shared by the objects' Decoders
	prog Progress
}

// object reads one object through.
func (s *scanner) object(obj Object) error {
	body, err := s.r.Open(s.ctx, obj.Key)
	if err != nil {
		return fmt.Errorf("open %s: %w", obj.Key, err)
	}
	defer body.Close()
	lines, err := s.decompress(body)
	if err != nil {
		return fmt.Errorf("read %s: %w", obj.Key, err)
	}
	dec := NewDecoder(lines)
	dec.in = &s.in
	for {
		rec, err := dec.Decode()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", obj.Key, err)
		}
		s.prog.Records++
		if !s.o.Since.IsZero() && rec.ArrivalTime.Before(s.o.Since) ||
			!s.o.Until.IsZero() && !rec.ArrivalTime.Before(s.o.Until) {
			continue
		}
		s.prog.Matched++
		if err := s.fn(rec); err != nil {
			return err
		}
	}
	s.prog.Key = obj.Key
	s.prog.Objects++
	s.prog.Bytes += obj.Size
	if s.o.Progress != nil {
		s.o.Progress(s.prog)
	}
	return nil
}

// decompress returns the lines of body: gunzipped when it starts with
// gzip's magic number, as it is otherwise.
func (s *scanner) decompress(body io.Reader) (io.Reader, error) {
	if s.br == nil {
		s.br = bufio.NewReaderSize(body, 64<<10)
	} else {
		s.br.Reset(body)
	}
	magic, err := s.br.Peek(2)
	if err != nil && err != io.EOF {
		return nil, err
	}
	if len(magic) < 2 || magic[0] != 0x1f || magic[1] != 0x8b {
		return s.br, nil
	}
	if s.zr == nil {
		s.zr, err = gzip.NewReader(s.br)
	} else {
		err = s.zr.Reset(s.br)
	}
	if err != nil {
		return nil, fmt.Errorf("gzip: %w", err)
	}
	return s.zr, nil
}
