// Package kinesis is devstack's embedded stream: the semantics of an Amazon
// Kinesis data stream in one process, persisted in bbolt.
//
//   - Shards split the 128-bit hash-key space evenly, as CreateStream does;
//     a record goes to the shard whose range holds the MD5 of its partition
//     key, so the records of one key stay in order on one shard.
//   - Sequence numbers are 56-digit decimal strings, increasing within a
//     shard and across restarts ("49" + 3-digit shard index + 51-digit
//     counter).
//   - PutRecords' limits hold: a partition key of 1..256 Unicode characters
//     (valid UTF-8: Kinesis's keys are strings), at most 1 MiB per record;
//     an invalid record fails alone (with the key's later records, which
//     must not overtake it) instead of failing the call.
//   - Records older than the retention period are trimmed; reading a
//     trimmed range is stream.ErrTrimmed, and Expired tells a consumer how
//     many records it never read expired.
//
// *Stream implements stream.Publisher and stream.RangeReader, and the reads
// devstack's event source mapping needs (Records, Notify, Latest).
package kinesis

import (
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// Limits of PutRecords.
const (
	MaxRecordSize      = 1 << 20
	MaxPartitionKeyLen = 256
)

// Error codes in stream.Failure, as Kinesis names them.
const (
	CodeInvalidArgument      = "InvalidArgumentException"
	CodeThroughputExceeded   = "ProvisionedThroughputExceededException"
	CodeBlockedByEarlierFail = "BlockedByEarlierFailure"
)

// Options configure a stream.
type Options struct {
	Name   string
	Region string
	// Shards is the shard count (default 2).
	Shards int
	// Retention is how long records are kept (default 24h).
	Retention time.Duration
	// RetryBudget is how many times Publish offers a record that the stream
	// refuses transiently (see Refuse) before reporting it failed
	// (default 5).
	RetryBudget int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Stream is an embedded Kinesis stream. Safe for concurrent use.
type Stream struct {
	db     *bolt.DB
	opts   Options
	arn    string
	bucket []byte
	shards []shardRange

	mu     sync.Mutex
	notify chan struct{} // closed and replaced on every append
	refuse map[string]int
}

type shardRange struct {
	id    string
	index int
	start *big.Int // first hash key of the shard
}

// Open opens (creating if needed) the stream opts.Name in db. Reopening a
// stream with another shard count is an error: records would change shards.
func Open(db *bolt.DB, opts Options) (*Stream, error) {
	if opts.Name == "" {
		return nil, errors.New("kinesis: stream name required")
	}
	if opts.Shards == 0 {
		opts.Shards = 2
	}
	if opts.Shards < 1 || opts.Shards > 999 {
		return nil, fmt.Errorf("kinesis: %d shards, want 1..999", opts.Shards)
	}
	if opts.Retention == 0 {
		opts.Retention = 24 * time.Hour
	}
	if opts.RetryBudget == 0 {
		opts.RetryBudget = 5
	}
	if opts.Region == "" {
		opts.Region = "local"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Stream{
		db:     db,
		opts:   opts,
		arn:    fmt.Sprintf("arn:aws:kinesis:%s:000000000000:stream/%s", opts.Region, opts.Name),
		bucket: []byte("kinesis:" + opts.Name),
		notify: make(chan struct{}),
		refuse: map[string]int{},
	}
	space := new(big.Int).Lsh(big.NewInt(1), 128)
	for i := range opts.Shards {
		start := new(big.Int).Mul(space, big.NewInt(int64(i)))
		start.Div(start, big.NewInt(int64(opts.Shards)))
		s.shards = append(s.shards, shardRange{id: ShardID(i), index: i, start: start})
	}
	err := db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(s.bucket)
		if err != nil {
			return err
		}
		if v := b.Get([]byte("shards")); v != nil {
			if n, _ := strconv.Atoi(string(v)); n != opts.Shards {
				return fmt.Errorf("stream %s has %s shards, not %d: start with --fresh to change it", opts.Name, v, opts.Shards)
			}
		} else if err := b.Put([]byte("shards"), []byte(strconv.Itoa(opts.Shards))); err != nil {
			return err
		}
		for _, sh := range s.shards {
			if _, err := b.CreateBucketIfNotExists([]byte(sh.id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kinesis: open %s: %w", opts.Name, err)
	}
	return s, nil
}

// ShardID is the id of the shard with index i.
func ShardID(i int) string { return fmt.Sprintf("shardId-%012d", i) }

// ARN is the stream's ARN.
func (s *Stream) ARN() string { return s.arn }

// Retention is how long the stream keeps a record.
func (s *Stream) Retention() time.Duration { return s.opts.Retention }

// Name is the stream's name.
func (s *Stream) Name() string { return s.opts.Name }

// Shards lists the shard ids in order.
func (s *Stream) Shards() []string {
	ids := make([]string, len(s.shards))
	for i, sh := range s.shards {
		ids[i] = sh.id
	}
	return ids
}

// ShardFor returns the shard that holds partition key key: the MD5 of the
// key, read as a 128-bit unsigned integer, falls in its hash-key range.
func (s *Stream) ShardFor(key string) string { return s.shards[s.shardIndex(key)].id }

func (s *Stream) shardIndex(key string) int {
	sum := md5.Sum([]byte(key))
	h := new(big.Int).SetBytes(sum[:])
	i := len(s.shards) - 1
	for i > 0 && h.Cmp(s.shards[i].start) < 0 {
		i--
	}
	return i
}

// seq formats the sequence number of record counter n of shard i.
func seq(i int, n uint64) string { return fmt.Sprintf("49%03d%051d", i, n) }

// parseSeq reads a sequence number of shard i back to its counter.
func parseSeq(i int, sq string) (uint64, error) {
	if len(sq) != 56 || sq[:2] != "49" || sq[2:5] != fmt.Sprintf("%03d", i) {
		return 0, fmt.Errorf("sequence number %q does not belong to %s", text.Clip(sq, maxQuoted), ShardID(i))
	}
	n, err := strconv.ParseUint(trimZeros(sq[5:]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("sequence number %q: %w", text.Clip(sq, maxQuoted), err)
	}
	return n, nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func trimZeros(s string) string {
	for len(s) > 1 && s[0] == '0' {
		s = s[1:]
	}
	return s
}

// Refuse makes the stream refuse the next n records of partition key key
// with ProvisionedThroughputExceededException, as a hot shard does. Publish
// offers a refused record again, up to the retry budget. For fault tests.
func (s *Stream) Refuse(key string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse[key] += n
}

// Notify returns a channel that is closed at the next append.
func (s *Stream) Notify() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notify
}

func (s *Stream) wake() {
	s.mu.Lock()
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
}

// validate applies PutRecords' per-record limits.
func validate(r stream.Record) error {
	switch n := utf8.RuneCountInString(r.PartitionKey); {
	case n == 0:
		return errors.New("partition key must not be empty")
	case !utf8.ValidString(r.PartitionKey):
		return errors.New("partition key is not valid UTF-8")
	case n > MaxPartitionKeyLen:
		return fmt.Errorf("partition key of %d characters exceeds %d", n, MaxPartitionKeyLen)
	case len(r.Data)+len(r.PartitionKey) > MaxRecordSize:
		return fmt.Errorf("record of %d bytes exceeds %d", len(r.Data)+len(r.PartitionKey), MaxRecordSize)
	}
	return nil
}

// Publish implements stream.Publisher. Each record is validated; a record
// the stream refuses (see Refuse) is offered again up to the retry budget;
// once a record fails for good, the later records of its key fail too, so
// nothing overtakes it.
func (s *Stream) Publish(ctx context.Context, recs []stream.Record) (stream.Result, error) {
	var res stream.Result
	if len(recs) == 0 {
		return res, nil
	}
	// blocked[key] is the index of the key's first record that failed for
	// good: the key's later records must not overtake it.
	blocked := map[string]int{}
	pending := make([]int, 0, len(recs))
	for i, r := range recs {
		if err := validate(r); err != nil {
			res.Failed = append(res.Failed, stream.Failure{Index: i, Code: CodeInvalidArgument, Message: err.Error()})
			if _, ok := blocked[r.PartitionKey]; !ok {
				blocked[r.PartitionKey] = i
			}
			continue
		}
		if _, ok := blocked[r.PartitionKey]; ok {
			res.Failed = append(res.Failed, stream.Failure{Index: i, Code: CodeBlockedByEarlierFail,
				Message: "an earlier record of this partition key was not published"})
			continue
		}
		pending = append(pending, i)
	}
	// A record before the key's failed one is still sent: only later ones
	// are blocked.
	var first []int
	for _, i := range pending {
		if b, ok := blocked[recs[i].PartitionKey]; ok && i > b {
			continue
		}
		first = append(first, i)
	}
	pending = first
	for attempt := 1; len(pending) > 0; attempt++ {
		if err := ctx.Err(); err != nil {
			for _, i := range pending {
				res.Failed = append(res.Failed, stream.Failure{Index: i, Code: "ContextDone", Message: err.Error()})
			}
			break
		}
		accept, retry := s.admit(recs, pending, blocked, attempt >= s.opts.RetryBudget)
		res.Failed = append(res.Failed, retry.failed...)
		if len(accept) > 0 {
			if err := s.append(recs, accept); err != nil {
				if res.Published == 0 && len(res.Failed) == 0 {
					return res, err
				}
				for _, i := range accept {
					res.Failed = append(res.Failed, stream.Failure{Index: i, Code: "InternalFailure", Message: err.Error()})
				}
				accept = nil
			}
			res.Published += len(accept)
		}
		pending = retry.again
	}
	sortFailures(res.Failed)
	return res, nil
}

type admitted struct {
	again  []int
	failed []stream.Failure
}

// admit splits pending into the records the stream takes now and those it
// refuses (again, or failed when last is set), keeping each key's order.
func (s *Stream) admit(recs []stream.Record, pending []int, blocked map[string]int, last bool) ([]int, admitted) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var accept []int
	var out admitted
	waiting := map[string]bool{}
	for _, i := range pending {
		key := recs[i].PartitionKey
		b, isBlocked := blocked[key]
		switch {
		case isBlocked && i > b:
			out.failed = append(out.failed, stream.Failure{Index: i, Code: CodeBlockedByEarlierFail,
				Message: "an earlier record of this partition key was not published"})
		case waiting[key]:
			out.again = append(out.again, i)
		case s.refuse[key] > 0:
			s.refuse[key]--
			if last {
				blocked[key] = i
				out.failed = append(out.failed, stream.Failure{Index: i, Code: CodeThroughputExceeded, Message: "rate exceeded for shard " + s.ShardFor(key)})
			} else {
				waiting[key] = true
				out.again = append(out.again, i)
			}
		default:
			accept = append(accept, i)
		}
	}
	return accept, out
}

func sortFailures(f []stream.Failure) {
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && f[j-1].Index > f[j].Index; j-- {
			f[j-1], f[j] = f[j], f[j-1]
		}
	}
}

// append stores recs[idx...] in one transaction.
func (s *Stream) append(recs []stream.Record, idx []int) error {
	now := s.opts.Now()
	err := s.db.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket(s.bucket)
		for _, i := range idx {
			r := recs[i]
			sh := s.shards[s.shardIndex(r.PartitionKey)]
			b := root.Bucket([]byte(sh.id))
			n, err := b.NextSequence()
			if err != nil {
				return err
			}
			if err := b.Put(key(n), encode(now, r)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("kinesis: append: %w", err)
	}
	s.wake()
	return nil
}

func key(n uint64) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], n)
	return k[:]
}

// encode lays out a stored record: arrival (unix nanoseconds), key length,
// key, data.
func encode(at time.Time, r stream.Record) []byte {
	b := make([]byte, 0, 10+len(r.PartitionKey)+len(r.Data))
	b = binary.BigEndian.AppendUint64(b, uint64(at.UnixNano()))
	b = binary.BigEndian.AppendUint16(b, uint16(len(r.PartitionKey)))
	b = append(b, r.PartitionKey...)
	return append(b, r.Data...)
}

func decode(shard int, k, v []byte) (stream.Stored, error) {
	if len(k) != 8 || len(v) < 10 {
		return stream.Stored{}, errors.New("kinesis: corrupt record")
	}
	kl := int(binary.BigEndian.Uint16(v[8:10]))
	if len(v) < 10+kl {
		return stream.Stored{}, errors.New("kinesis: corrupt record")
	}
	return stream.Stored{
		ShardID:        ShardID(shard),
		SequenceNumber: seq(shard, binary.BigEndian.Uint64(k)),
		PartitionKey:   string(v[10 : 10+kl]),
		Data:           append([]byte(nil), v[10+kl:]...),
		ArrivalTime:    time.Unix(0, int64(binary.BigEndian.Uint64(v[:8]))),
	}, nil
}

func (s *Stream) shardByID(id string) (int, error) {
	for _, sh := range s.shards {
		if sh.id == id {
			return sh.index, nil
		}
	}
	return 0, fmt.Errorf("kinesis: stream %s has no shard %q", s.opts.Name, text.Clip(id, maxQuoted))
}

// Records returns up to limit records of shardID after sequence number after
// ("" = from the trim horizon), in order. It is the mapping's GetRecords.
func (s *Stream) Records(shardID, after string, limit int) ([]stream.Stored, error) {
	i, err := s.shardByID(shardID)
	if err != nil {
		return nil, err
	}
	var from uint64
	if after != "" {
		n, err := parseSeq(i, after)
		if err != nil {
			return nil, err
		}
		from = n + 1
	}
	var out []stream.Stored
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(s.bucket).Bucket([]byte(shardID)).Cursor()
		for k, v := c.Seek(key(from)); k != nil && len(out) < limit; k, v = c.Next() {
			r, err := decode(i, k, v)
			if err != nil {
				return err
			}
			out = append(out, r)
		}
		return nil
	})
	return out, err
}

// Latest returns the newest sequence number of shardID ("" if the shard is
// empty).
func (s *Stream) Latest(shardID string) (string, error) {
	i, err := s.shardByID(shardID)
	if err != nil {
		return "", err
	}
	var last string
	err = s.db.View(func(tx *bolt.Tx) error {
		k, _ := tx.Bucket(s.bucket).Bucket([]byte(shardID)).Cursor().Last()
		if k != nil {
			last = seq(i, binary.BigEndian.Uint64(k))
		}
		return nil
	})
	return last, err
}

// ReadRange implements stream.RangeReader.
func (s *Stream) ReadRange(ctx context.Context, streamARN, shardID, first, last string, fn func(stream.Stored) error) error {
	if streamARN != s.arn {
		return fmt.Errorf("kinesis: no stream %q (this is %s)", text.Clip(streamARN, maxQuoted), s.arn)
	}
	i, err := s.shardByID(shardID)
	if err != nil {
		return err
	}
	from, err := parseSeq(i, first)
	if err != nil {
		return err
	}
	to, err := parseSeq(i, last)
	if err != nil {
		// Any larger number still bounds the range: read to the shard's end.
		if !digits(last) || stream.CompareSeq(last, first) < 0 {
			return err
		}
		to = ^uint64(0)
	}
	var recs []stream.Stored
	var horizon uint64
	err = s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(s.bucket).Bucket([]byte(shardID))
		horizon = trimmedUpTo(tx.Bucket(s.bucket), shardID)
		c := b.Cursor()
		for k, v := c.Seek(key(from)); k != nil && binary.BigEndian.Uint64(k) <= to; k, v = c.Next() {
			r, err := decode(i, k, v)
			if err != nil {
				return err
			}
			recs = append(recs, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if horizon > 0 && from <= horizon {
		return fmt.Errorf("kinesis: %s from %s: %w (retention %s)", shardID, first, stream.ErrTrimmed, s.opts.Retention)
	}
	return nil
}

func trimmedUpTo(root *bolt.Bucket, shardID string) uint64 {
	v := root.Get([]byte("trimmed:" + shardID))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// Expired returns how many records of shardID after sequence number after
// ("" = from the first record ever) were trimmed by retention, and the
// sequence number of the last of them ("" when none was): what a consumer
// positioned at after lost for good. A consumer that moves its position
// to last does not count them again.
func (s *Stream) Expired(shardID, after string) (n int64, last string, err error) {
	i, err := s.shardByID(shardID)
	if err != nil {
		return 0, "", err
	}
	var from uint64
	if after != "" {
		if from, err = parseSeq(i, after); err != nil {
			return 0, "", err
		}
	}
	var horizon uint64
	err = s.db.View(func(tx *bolt.Tx) error {
		horizon = trimmedUpTo(tx.Bucket(s.bucket), shardID)
		return nil
	})
	if err != nil || horizon <= from {
		return 0, "", err
	}
	// Counters are consecutive per shard: every one up to the horizon was
	// a record.
	return int64(horizon - from), seq(i, horizon), nil
}

// TrimBefore drops the records of shardID whose sequence number is below
// sq, as retention does. For tests and TrimExpired.
func (s *Stream) TrimBefore(shardID, sq string) error {
	i, err := s.shardByID(shardID)
	if err != nil {
		return err
	}
	n, err := parseSeq(i, sq)
	if err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		root := tx.Bucket(s.bucket)
		c := root.Bucket([]byte(shardID)).Cursor()
		var lastDropped uint64
		for k, _ := c.First(); k != nil && binary.BigEndian.Uint64(k) < n; k, _ = c.Next() {
			lastDropped = binary.BigEndian.Uint64(k)
			if err := c.Delete(); err != nil {
				return err
			}
		}
		if lastDropped > trimmedUpTo(root, shardID) {
			return root.Put([]byte("trimmed:"+shardID), key(lastDropped))
		}
		return nil
	})
}

// TrimExpired drops the records older than the retention period and
// returns how many it dropped.
func (s *Stream) TrimExpired() (int, error) {
	cutoff := s.opts.Now().Add(-s.opts.Retention)
	dropped := 0
	for _, sh := range s.shards {
		var firstKept string
		err := s.db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(s.bucket).Bucket([]byte(sh.id)).Cursor()
			for k, v := c.First(); k != nil; k, v = c.Next() {
				if len(v) >= 8 && time.Unix(0, int64(binary.BigEndian.Uint64(v[:8]))).After(cutoff) {
					firstKept = seq(sh.index, binary.BigEndian.Uint64(k))
					return nil
				}
				dropped++
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
		if firstKept == "" {
			last, err := s.Latest(sh.id)
			if err != nil || last == "" {
				continue
			}
			n, _ := parseSeq(sh.index, last)
			firstKept = seq(sh.index, n+1)
		}
		if err := s.TrimBefore(sh.id, firstKept); err != nil {
			return 0, err
		}
	}
	return dropped, nil
}

// ReadAll returns every record, shard by shard, in sequence order.
func (s *Stream) ReadAll(ctx context.Context) ([]stream.Stored, error) {
	var out []stream.Stored
	for _, sh := range s.shards {
		recs, err := s.Records(sh.id, "", int(^uint(0)>>1))
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, ctx.Err()
}

var (
	_ stream.Publisher   = (*Stream)(nil)
	_ stream.RangeReader = (*Stream)(nil)
)

// InvalidArgumentError is PutRecord's refusal of a record that breaks a
// PutRecords limit (Kinesis's InvalidArgumentException).
type InvalidArgumentError struct{ Err error }

func (e *InvalidArgumentError) Error() string { return CodeInvalidArgument + ": " + e.Err.Error() }

// Unwrap returns the broken limit.
func (e *InvalidArgumentError) Unwrap() error { return e.Err }

// PutRecord stores one record, as Kinesis's PutRecord does, and tells where
// it went. A record breaking a limit is an *InvalidArgumentError.
func (s *Stream) PutRecord(ctx context.Context, r stream.Record) (shardID, sequenceNumber string, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", err
	}
	if err := validate(r); err != nil {
		return "", "", &InvalidArgumentError{Err: err}
	}
	sh := s.shards[s.shardIndex(r.PartitionKey)]
	var n uint64
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(s.bucket).Bucket([]byte(sh.id))
		var err error
		if n, err = b.NextSequence(); err != nil {
			return err
		}
		return b.Put(key(n), encode(s.opts.Now(), r))
	})
	if err != nil {
		return "", "", fmt.Errorf("kinesis: put record: %w", err)
	}
	s.wake()
	return sh.id, seq(sh.index, n), nil
}

// maxQuoted is the most bytes of a value from outside that an error message
// quotes (text.Clip): enough to recognise it, never a whole hostile input.
const maxQuoted = 80
