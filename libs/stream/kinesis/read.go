package kinesis

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/scrape-pipeline/scrape-pipeline/libs/backoff"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
)

// ReadRange implements stream.RangeReader. first should be the sequence
// number of a record (as Lambda's on-failure metadata gives it): if the
// first record read is not that one, the records before it are gone and
// ReadRange returns stream.ErrTrimmed after passing the records it could
// read. A shard that no longer exists is trimmed too. Throttled reads are
// retried with backoff, up to Options.MaxAttempts in a row.
func (s *Stream) ReadRange(ctx context.Context, streamARN, shardID, first, last string, fn func(stream.Stored) error) error {
	switch {
	case streamARN == "" || shardID == "" || first == "" || last == "":
		return errors.New("kinesis read range: stream ARN, shard id, first and last sequence numbers are required")
	case stream.CompareSeq(first, last) > 0:
		return fmt.Errorf("kinesis read range %s..%s: first is after last", first, last)
	}
	rd := &rangeRead{s: s, streamARN: streamARN, shardID: shardID, first: first, last: last}
	err := rd.read(ctx, fn)
	if err != nil {
		return fmt.Errorf("read shard %s range %s..%s: %w", shardID, first, last, err)
	}
	return nil
}

type rangeRead struct {
	s                               *Stream
	streamARN, shardID, first, last string
	// lastSeq is the sequence number of the last record passed to fn.
	lastSeq string
	// trimmed is set when the first record read was after first.
	trimmed bool
}

func (rd *rangeRead) read(ctx context.Context, fn func(stream.Stored) error) error {
	iter, err := rd.iterator(ctx)
	if err != nil {
		return err
	}
	throttled := 0
	for {
		out, err := rd.s.client.GetRecords(ctx, &kinesis.GetRecordsInput{
			ShardIterator: iter,
			StreamARN:     aws.String(rd.streamARN),
		})
		if err != nil {
			var expired *types.ExpiredIteratorException
			switch {
			case errors.As(err, &expired):
				if iter, err = rd.iterator(ctx); err != nil {
					return err
				}
				continue
			case Transient(err) && ctx.Err() == nil:
				throttled++
				if throttled >= rd.s.opts.MaxAttempts || !backoff.Sleep(ctx, rd.s.backoff(throttled)) {
					return fmt.Errorf("get records (after %d throttled reads): %w", throttled, err)
				}
				continue
			}
			return fmt.Errorf("get records: %w", rd.trimmedIf(err))
		}
		throttled = 0
		for _, rec := range out.Records {
			seq := aws.ToString(rec.SequenceNumber)
			if rd.lastSeq == "" && stream.CompareSeq(seq, rd.first) != 0 {
				if stream.CompareSeq(seq, rd.first) < 0 {
					continue // before the range (not expected from AT_SEQUENCE_NUMBER)
				}
				rd.trimmed = true
			}
			if stream.CompareSeq(seq, rd.last) > 0 {
				return rd.done()
			}
			if err := fn(stream.Stored{
				ShardID:        rd.shardID,
				SequenceNumber: seq,
				PartitionKey:   aws.ToString(rec.PartitionKey),
				Data:           rec.Data,
				ArrivalTime:    aws.ToTime(rec.ApproximateArrivalTimestamp),
			}); err != nil {
				return err
			}
			rd.lastSeq = seq
			if stream.CompareSeq(seq, rd.last) == 0 {
				return rd.done()
			}
		}
		if out.NextShardIterator == nil || (len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0) {
			return rd.done()
		}
		iter = out.NextShardIterator
	}
}

// done ends a read: records of the range were missing if the read started
// late or found nothing at all.
func (rd *rangeRead) done() error {
	if rd.trimmed {
		return fmt.Errorf("records from %s on, before the first one still kept: %w", rd.first, stream.ErrTrimmed)
	}
	if rd.lastSeq == "" {
		return fmt.Errorf("no record at or after %s: %w", rd.first, stream.ErrTrimmed)
	}
	return nil
}

// iterator returns an iterator at first, or right after the last record
// passed to fn when renewing an expired one.
func (rd *rangeRead) iterator(ctx context.Context) (*string, error) {
	in := &kinesis.GetShardIteratorInput{
		StreamARN:              aws.String(rd.streamARN),
		ShardId:                aws.String(rd.shardID),
		ShardIteratorType:      types.ShardIteratorTypeAtSequenceNumber,
		StartingSequenceNumber: aws.String(rd.first),
	}
	if rd.lastSeq != "" {
		in.ShardIteratorType = types.ShardIteratorTypeAfterSequenceNumber
		in.StartingSequenceNumber = aws.String(rd.lastSeq)
	}
	for attempt := 1; ; attempt++ {
		out, err := rd.s.client.GetShardIterator(ctx, in)
		if err == nil {
			return out.ShardIterator, nil
		}
		if !Transient(err) || ctx.Err() != nil || attempt >= rd.s.opts.MaxAttempts || !backoff.Sleep(ctx, rd.s.backoff(attempt)) {
			return nil, fmt.Errorf("get shard iterator: %w", rd.trimmedIf(err))
		}
	}
}

// trimmedIf marks err as stream.ErrTrimmed when it says the shard is gone:
// a closed shard is deleted once its records pass the retention period.
func (rd *rangeRead) trimmedIf(err error) error {
	var nf *types.ResourceNotFoundException
	if errors.As(err, &nf) && strings.Contains(strings.ToLower(aws.ToString(nf.Message)), "shard") {
		return fmt.Errorf("%w: %w", stream.ErrTrimmed, err)
	}
	return err
}
