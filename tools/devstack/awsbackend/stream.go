package awsbackend

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/scrape-pipeline/scrape-pipeline/libs/backoff"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	kinesisadapter "github.com/scrape-pipeline/scrape-pipeline/libs/stream/kinesis"
)

// KinesisAPI is the part of the Kinesis client a Stream uses;
// *kinesis.Client implements it.
type KinesisAPI interface {
	// PutRecords, GetShardIterator and GetRecords, for the stream adapter
	// and the reads.
	kinesisadapter.API
	// DescribeStreamSummary gives the stream's ARN and status.
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
	// ListShards lists the stream's shards, a page at a time.
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	// PutRecord puts one record and returns its shard and sequence number.
	PutRecord(ctx context.Context, in *kinesis.PutRecordInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordOutput, error)
}

var _ KinesisAPI = (*kinesis.Client)(nil)

// KinesisAdmin is the part of the Kinesis client CreateStream uses.
type KinesisAdmin interface {
	// CreateStream starts creating a stream.
	CreateStream(ctx context.Context, in *kinesis.CreateStreamInput, optFns ...func(*kinesis.Options)) (*kinesis.CreateStreamOutput, error)
	// DescribeStreamSummary tells when it is ACTIVE.
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
	// IncreaseStreamRetentionPeriod sets a retention above the default.
	IncreaseStreamRetentionPeriod(ctx context.Context, in *kinesis.IncreaseStreamRetentionPeriodInput, optFns ...func(*kinesis.Options)) (*kinesis.IncreaseStreamRetentionPeriodOutput, error)
}

// minRetention is the retention of a new stream, the least Kinesis keeps.
const minRetention = 24 * time.Hour

var _ KinesisAdmin = (*kinesis.Client)(nil)

// Stream is a Kinesis data stream as devstack needs it: esm.KinesisSource
// for the processor mapping, stream.Publisher for the scraper,
// stream.RangeReader for the error sink (both by libs/stream/kinesis), and
// PutRecord for /_devstack/records. It is safe for concurrent use.
type Stream struct {
	client    KinesisAPI
	adapter   *kinesisadapter.Stream
	name      string
	arn       string
	created   time.Time
	retention time.Duration
	shards    []string
	readers   map[string]*shardReader
	poll      *poller
	opts      options
}

var (
	_ stream.Publisher   = (*Stream)(nil)
	_ stream.RangeReader = (*Stream)(nil)
)

// CreateStream creates the stream name with shards shards and the given
// retention (whole hours, at least 24h) unless it exists, and waits until
// it is ACTIVE (or UPDATING: usable). An existing stream is kept as it is,
// whatever its shard count and retention.
func CreateStream(ctx context.Context, client KinesisAdmin, name string, shards int, retention time.Duration) error {
	if shards < 1 {
		return fmt.Errorf("create stream %s: %d shards: want at least 1", name, shards)
	}
	if retention < minRetention || retention%time.Hour != 0 {
		return fmt.Errorf("create stream %s: retention %s: want whole hours from %s", name, retention, minRetention)
	}
	_, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(int32(shards))})
	var inUse *types.ResourceInUseException
	created := err == nil
	if err != nil && !errors.As(err, &inUse) {
		return fmt.Errorf("create stream %s: %w", name, err)
	}
	if _, err := waitStream(ctx, client, name); err != nil {
		return fmt.Errorf("create stream %s: %w", name, err)
	}
	if !created || retention == minRetention {
		return nil
	}
	// Kinesis creates every stream with 24h; more is a change of an
	// ACTIVE stream, which is UPDATING until it is done.
	in := &kinesis.IncreaseStreamRetentionPeriodInput{StreamName: aws.String(name), RetentionPeriodHours: aws.Int32(int32(retention / time.Hour))}
	if _, err := client.IncreaseStreamRetentionPeriod(ctx, in); err != nil {
		return fmt.Errorf("create stream %s: retention %s: %w", name, retention, err)
	}
	if _, err := waitStream(ctx, client, name); err != nil {
		return fmt.Errorf("create stream %s: %w", name, err)
	}
	return nil
}

// waitStream polls the stream's status until it can be read and written
// (ACTIVE or UPDATING), faster than the SDK's waiter (10s minimum delay),
// and returns its summary.
func waitStream(ctx context.Context, client interface {
	DescribeStreamSummary(ctx context.Context, in *kinesis.DescribeStreamSummaryInput, optFns ...func(*kinesis.Options)) (*kinesis.DescribeStreamSummaryOutput, error)
}, name string) (*types.StreamDescriptionSummary, error) {
	delay := 5 * time.Millisecond
	for {
		out, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		var nf *types.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
			return nil, &missingError{what: "stream " + name, err: err}
		case err != nil:
			return nil, fmt.Errorf("describe stream: %w", err)
		}
		sum := out.StreamDescriptionSummary
		switch sum.StreamStatus {
		case types.StreamStatusActive, types.StreamStatusUpdating:
			return sum, nil
		case types.StreamStatusDeleting:
			return nil, fmt.Errorf("stream %s is being deleted", name)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("stream %s still %s: %w", name, sum.StreamStatus, ctx.Err())
		case <-t.C:
		}
		delay = min(2*delay, time.Second)
	}
}

// OpenStream opens the existing stream name: its ARN (waiting while it is
// being created) and its shards. A stream that does not exist is an error
// wrapping ErrMissing. Options: WithPollInterval, WithCallTimeout.
func OpenStream(ctx context.Context, client KinesisAPI, name string, opts ...Option) (*Stream, error) {
	o := newOptions(opts)
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("open stream %s: %w", name, err)
	}
	sum, err := waitStream(ctx, client, name)
	if err != nil {
		var m *missingError
		if errors.As(err, &m) {
			return nil, err
		}
		return nil, fmt.Errorf("open stream %s: %w", name, err)
	}
	s := &Stream{client: client, name: name, arn: aws.ToString(sum.StreamARN), created: aws.ToTime(sum.StreamCreationTimestamp),
		retention: time.Duration(aws.ToInt32(sum.RetentionPeriodHours)) * time.Hour,
		readers:   map[string]*shardReader{}, poll: newPoller(o.pollInterval), opts: o}
	in := &kinesis.ListShardsInput{StreamARN: aws.String(s.arn)}
	for {
		out, err := client.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("open stream %s: list shards: %w", name, err)
		}
		for _, sh := range out.Shards {
			id := aws.ToString(sh.ShardId)
			s.shards = append(s.shards, id)
			s.readers[id] = &shardReader{s: s, id: id}
		}
		if out.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
	if len(s.shards) == 0 {
		return nil, fmt.Errorf("open stream %s: no shards", name)
	}
	if s.adapter, err = kinesisadapter.New(client, kinesisadapter.Options{StreamARN: s.arn}); err != nil {
		return nil, fmt.Errorf("open stream %s: %w", name, err)
	}
	return s, nil
}

// Name is the stream's name.
func (s *Stream) Name() string { return s.name }

// ARN is the stream's ARN.
func (s *Stream) ARN() string { return s.arn }

// Created is when the stream was created. A stream deleted and created
// again under its name has the same ARN but not the same creation time,
// and its sequence numbers start over.
func (s *Stream) Created() time.Time { return s.created }

// Retention is how long the stream keeps a record, as DescribeStreamSummary
// gave it when the stream was opened.
func (s *Stream) Retention() time.Duration { return s.retention }

// Reader returns a second consumer of the same stream: its Records and
// Latest keep read positions and shard iterators of their own, and its
// Notify polls every pollEvery (0: as s does). Devstack's archiver reads
// through one, apart from the processor mapping, as Firehose reads a
// stream beside Lambda: on one reader, two consumers at different
// positions would restart each other's iterators on every call. Kinesis's
// five GetRecords calls per second and shard are shared by all readers.
func (s *Stream) Reader(pollEvery time.Duration) *Stream {
	o := s.opts
	if pollEvery > 0 {
		o.pollInterval = pollEvery
	}
	r := &Stream{client: s.client, adapter: s.adapter, name: s.name, arn: s.arn, created: s.created, retention: s.retention,
		shards: s.shards, readers: make(map[string]*shardReader, len(s.shards)), poll: newPoller(o.pollInterval), opts: o}
	for _, id := range s.shards {
		r.readers[id] = &shardReader{s: r, id: id}
	}
	return r
}

// Shards lists the stream's shard ids as ListShards gave them when the
// stream was opened.
func (s *Stream) Shards() []string { return slices.Clone(s.shards) }

// Notify returns a channel closed at the next poll tick (WithPollInterval)
// or at the next PutRecord or Publish through s, whichever comes first.
func (s *Stream) Notify() <-chan struct{} { return s.poll.C() }

// Publish implements stream.Publisher with libs/stream/kinesis (PutRecords,
// per-key order, resends) and wakes Notify's waiters.
func (s *Stream) Publish(ctx context.Context, recs []stream.Record) (stream.Result, error) {
	res, err := s.adapter.Publish(ctx, recs)
	if res.Published > 0 {
		s.poll.wake()
	}
	return res, err
}

// ReadRange implements stream.RangeReader with libs/stream/kinesis.
func (s *Stream) ReadRange(ctx context.Context, streamARN, shardID, first, last string, fn func(stream.Stored) error) error {
	return s.adapter.ReadRange(ctx, streamARN, shardID, first, last, fn)
}

// PutRecord puts rec on the stream with one PutRecord call and returns
// where it landed. A record breaking a Kinesis limit is refused before the
// call; the call's own failures (throttling retried by the SDK) are
// returned.
func (s *Stream) PutRecord(ctx context.Context, rec stream.Record) (shardID, seq string, err error) {
	switch n := utf8.RuneCountInString(rec.PartitionKey); {
	case n == 0 || n > kinesisadapter.MaxPartitionKeyLen || !utf8.ValidString(rec.PartitionKey):
		return "", "", fmt.Errorf("put record: partition key: want 1..%d characters of UTF-8", kinesisadapter.MaxPartitionKeyLen)
	case len(rec.Data)+len(rec.PartitionKey) > kinesisadapter.MaxRecordBytes:
		return "", "", fmt.Errorf("put record: %d bytes of data and partition key exceed %d", len(rec.Data)+len(rec.PartitionKey), kinesisadapter.MaxRecordBytes)
	}
	out, err := s.client.PutRecord(ctx, &kinesis.PutRecordInput{
		StreamARN: aws.String(s.arn), PartitionKey: aws.String(rec.PartitionKey), Data: rec.Data,
	})
	if err != nil {
		return "", "", fmt.Errorf("put record: %w", err)
	}
	shardID, seq = aws.ToString(out.ShardId), aws.ToString(out.SequenceNumber)
	if r := s.readers[shardID]; r != nil {
		r.saw(seq)
	}
	s.poll.wake()
	return shardID, seq, nil
}

// Records returns up to max records of shardID after sequence number after
// ("" = from the trim horizon), in order: those already read past after
// and, if fewer than max, what GetRecords gives next (up to 10,000 per
// call), until the shard is caught up (MillisBehindLatest 0), closed, or a
// few reads came back empty (a sparse shard: the next call goes on from
// there). An unknown shard, max < 1, and reads that still fail after the
// retries or the call timeout are errors.
func (s *Stream) Records(shardID, after string, limit int) ([]stream.Stored, error) {
	r := s.readers[shardID]
	if r == nil {
		return nil, fmt.Errorf("records of %s: no such shard in stream %s", shardID, s.name)
	}
	if limit < 1 {
		return nil, fmt.Errorf("records of %s: limit %d: want at least 1", shardID, limit)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.callTimeout)
	defer cancel()
	recs, err := r.records(ctx, after, limit)
	if err != nil {
		return nil, fmt.Errorf("records of %s after %q: %w", shardID, after, err)
	}
	return recs, nil
}

// Latest returns the newest sequence number of shardID ("" when it has no
// records), following the shard to its end with GetRecords.
func (s *Stream) Latest(shardID string) (string, error) {
	r := s.readers[shardID]
	if r == nil {
		return "", fmt.Errorf("latest of %s: no such shard in stream %s", shardID, s.name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.callTimeout)
	defer cancel()
	seq, err := r.latest(ctx)
	if err != nil {
		return "", fmt.Errorf("latest of %s: %w", shardID, err)
	}
	return seq, nil
}

// maxGetRecords is GetRecords' Limit ceiling.
const maxGetRecords = 10_000

// emptyReads bounds the reads of one Records call that return nothing
// while the shard is not caught up.
const emptyReads = 5

// shardReader reads one shard.
type shardReader struct {
	s  *Stream
	id string

	// mu guards the mapping's read position: buf holds the records read
	// after base ("" = trim horizon), in order, and next is the iterator
	// after buf's last record (nil: none yet, expired, or the shard is
	// closed).
	mu     sync.Mutex
	placed bool
	base   string
	buf    []stream.Stored
	next   *string
	closed bool

	// tailMu guards Latest's own iterator, after tailLast.
	tailMu     sync.Mutex
	tailLast   string
	tailIter   *string
	tailClosed bool

	// seenMu guards seen, the newest sequence number any read or put saw.
	seenMu sync.Mutex
	seen   string
}

func (r *shardReader) saw(seq string) {
	r.seenMu.Lock()
	defer r.seenMu.Unlock()
	if stream.CompareSeq(seq, r.seen) > 0 {
		r.seen = seq
	}
}

func (r *shardReader) newest() string {
	r.seenMu.Lock()
	defer r.seenMu.Unlock()
	return r.seen
}

func (r *shardReader) records(ctx context.Context, after string, limit int) ([]stream.Stored, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.place(after)
	for empty := 0; len(r.buf) < limit && !r.closed && empty < emptyReads; {
		from := r.base
		if len(r.buf) > 0 {
			from = r.buf[len(r.buf)-1].SequenceNumber
		}
		if r.next == nil {
			it, err := r.iterator(ctx, from)
			if err != nil {
				return nil, err
			}
			r.next = it
		}
		out, err := r.get(ctx, r.next, limit-len(r.buf), func() (*string, error) { return r.iterator(ctx, from) })
		if err != nil {
			return nil, err
		}
		for _, rec := range out.Records {
			r.buf = append(r.buf, r.stored(rec))
		}
		if n := len(r.buf); n > 0 {
			r.saw(r.buf[n-1].SequenceNumber)
		}
		r.next = out.NextShardIterator
		r.closed = r.next == nil
		if aws.ToInt64(out.MillisBehindLatest) == 0 {
			break // caught up
		}
		if len(out.Records) == 0 {
			empty++
		}
	}
	return slices.Clone(r.buf[:min(limit, len(r.buf))]), nil
}

// place moves the read position to after: within what was read it drops
// the records up to after; anywhere else it starts afresh.
func (r *shardReader) place(after string) {
	if r.placed && after == r.base {
		return
	}
	if r.placed {
		for i, rec := range r.buf {
			if rec.SequenceNumber == after {
				r.base, r.buf = after, r.buf[i+1:]
				return
			}
		}
	}
	r.placed, r.base, r.buf, r.next, r.closed = true, after, nil, nil, false
}

func (r *shardReader) stored(rec types.Record) stream.Stored {
	return stream.Stored{
		ShardID:        r.id,
		SequenceNumber: aws.ToString(rec.SequenceNumber),
		PartitionKey:   aws.ToString(rec.PartitionKey),
		Data:           rec.Data,
		ArrivalTime:    aws.ToTime(rec.ApproximateArrivalTimestamp),
	}
}

// iterator returns an iterator after sequence number after, or at the trim
// horizon when after is "".
func (r *shardReader) iterator(ctx context.Context, after string) (*string, error) {
	in := &kinesis.GetShardIteratorInput{
		StreamARN:         aws.String(r.s.arn),
		ShardId:           aws.String(r.id),
		ShardIteratorType: types.ShardIteratorTypeTrimHorizon,
	}
	if after != "" {
		in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
		in.StartingSequenceNumber = aws.String(after)
	}
	for attempt := 1; ; attempt++ {
		out, err := r.s.client.GetShardIterator(ctx, in)
		if err == nil {
			return out.ShardIterator, nil
		}
		if !transient(err) {
			return nil, fmt.Errorf("get shard iterator: %w", err)
		}
		if ctx.Err() != nil { // the time ran out while throttled
			return nil, fmt.Errorf("get shard iterator (throttled %d times): %w", attempt, err)
		}
		if !backoff.Sleep(ctx, backoff.Jittered(attempt, r.s.opts.readBackoff, r.s.opts.maxReadBackoff)) {
			return nil, fmt.Errorf("get shard iterator (throttled %d times): %w", attempt, err)
		}
	}
}

// get calls GetRecords at iter for up to limit records, retrying throttled
// and failed-transiently reads with backoff until the context ends, and
// renewing an expired iterator with renew.
func (r *shardReader) get(ctx context.Context, iter *string, limit int, renew func() (*string, error)) (*kinesis.GetRecordsOutput, error) {
	for attempt := 1; ; {
		out, err := r.s.client.GetRecords(ctx, &kinesis.GetRecordsInput{
			StreamARN:     aws.String(r.s.arn),
			ShardIterator: iter,
			Limit:         aws.Int32(int32(min(limit, maxGetRecords))),
		})
		if err == nil {
			return out, nil
		}
		var expired *types.ExpiredIteratorException
		switch {
		case errors.As(err, &expired):
			if iter, err = renew(); err != nil {
				return nil, err
			}
			continue
		case !transient(err):
			return nil, fmt.Errorf("get records: %w", err)
		case ctx.Err() != nil: // the time ran out while throttled
			return nil, fmt.Errorf("get records (throttled %d times): %w", attempt, err)
		}
		if !backoff.Sleep(ctx, backoff.Jittered(attempt, r.s.opts.readBackoff, r.s.opts.maxReadBackoff)) {
			return nil, fmt.Errorf("get records (throttled %d times): %w", attempt, err)
		}
		attempt++
	}
}

// latest follows the shard to its end from the newest sequence number seen
// so far.
func (r *shardReader) latest(ctx context.Context) (string, error) {
	r.tailMu.Lock()
	defer r.tailMu.Unlock()
	if seen := r.newest(); stream.CompareSeq(seen, r.tailLast) > 0 {
		// Skip what others read already.
		r.tailLast, r.tailIter, r.tailClosed = seen, nil, false
	}
	for !r.tailClosed {
		if r.tailIter == nil {
			it, err := r.iterator(ctx, r.tailLast)
			if err != nil {
				return "", err
			}
			r.tailIter = it
		}
		out, err := r.get(ctx, r.tailIter, maxGetRecords, func() (*string, error) { return r.iterator(ctx, r.tailLast) })
		if err != nil {
			r.tailIter = nil
			return "", err
		}
		if n := len(out.Records); n > 0 {
			r.tailLast = aws.ToString(out.Records[n-1].SequenceNumber)
			r.saw(r.tailLast)
		}
		r.tailIter = out.NextShardIterator
		r.tailClosed = r.tailIter == nil
		if aws.ToInt64(out.MillisBehindLatest) == 0 {
			break
		}
	}
	return r.tailLast, nil
}
