// Package kinesis is the Amazon Kinesis Data Streams adapter of the stream
// ports: Stream publishes records with PutRecords (stream.Publisher) and
// reads a shard's sequence range back with GetShardIterator and GetRecords
// (stream.RangeReader).
//
// # Publishing
//
// Publish sends batches of at most 500 records and 5 MiB (data plus
// partition keys), the PutRecords limits. Kinesis does not keep the order of
// the records of one PutRecords call when some of them fail: a record may be
// refused (ProvisionedThroughputExceededException, InternalFailure) while a
// later one of the same key is accepted. So one call carries at most one
// record per partition key, and the next record of a key is sent only once
// the previous one was accepted. Records of many keys (the usual case: one
// key per movie) still fill whole batches, so 1,000 events of distinct keys
// take two calls; 1,000 events of one key take 1,000.
//
// Refused entries are resent, and only they, after a backoff with full
// jitter, until they are accepted, their attempts (Options.MaxAttempts) are
// spent or the context's deadline would pass during the next wait. A record
// that fails for good blocks the later records of its key: they are reported
// as failed with CodeBlocked and never sent.
//
// # Reading
//
// ReadRange starts with an AT_SEQUENCE_NUMBER iterator and follows
// NextShardIterator until the last sequence number of the range, the end of
// a closed shard, or a read that returns nothing while the shard is caught up
// (MillisBehindLatest 0). Throttled reads are retried with backoff and an
// expired iterator is renewed after the last record read.
package kinesis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/smithy-go"

	"github.com/scrape-pipeline/scrape-pipeline/libs/backoff"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
)

// API is the part of the Kinesis client the adapter uses;
// *kinesis.Client implements it.
type API interface {
	// PutRecords puts up to 500 records; the output has one entry per
	// input record, in order, each with a sequence number or an error code.
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
	// GetShardIterator returns an iterator into one shard.
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	// GetRecords reads the records at an iterator and returns the next one.
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

var _ API = (*kinesis.Client)(nil)

// Service limits.
const (
	// MaxBatchRecords is the most records one PutRecords call takes.
	MaxBatchRecords = 500
	// MaxBatchBytes is the most bytes (data plus partition keys) one
	// PutRecords call takes.
	MaxBatchBytes = 5 << 20
	// MaxRecordBytes is the most bytes (data plus partition key) of one
	// record.
	MaxRecordBytes = 1 << 20
	// MaxPartitionKeyLen is the most Unicode characters of a partition key.
	MaxPartitionKeyLen = 256
)

// Failure codes the adapter reports itself (the others come from Kinesis).
const (
	// CodeInvalid: the record breaks a Kinesis limit and was never sent.
	CodeInvalid = "InvalidRecord"
	// CodeBlocked: an earlier record of the same partition key failed for
	// good, so this one was not sent (it would have overtaken it).
	CodeBlocked = "PrecedingRecordFailed"
	// CodeDeadline: the context ended before the record was accepted.
	CodeDeadline = "DeadlineExceeded"
)

// Options configure a Stream.
type Options struct {
	// StreamARN or StreamName names the stream Publish writes to; the ARN
	// wins when both are set.
	StreamARN  string
	StreamName string
	// MaxAttempts bounds how often one record is sent (default 8).
	MaxAttempts int
	// BaseDelay and MaxDelay shape the wait before a resend: a random
	// duration up to min(MaxDelay, BaseDelay·2^n) after the n-th refused
	// round (defaults 50ms and 2s).
	BaseDelay, MaxDelay time.Duration
	// MaxBatchRecords and MaxBatchBytes lower the PutRecords limits (0:
	// the service limits); tests use them to force small batches.
	MaxBatchRecords, MaxBatchBytes int
}

// Stream publishes to one Kinesis stream and reads any stream's shards back.
// It is safe for concurrent use.
type Stream struct {
	client API
	opts   Options
}

var (
	_ stream.Publisher   = (*Stream)(nil)
	_ stream.RangeReader = (*Stream)(nil)
)

// New returns a Stream on client. Publish needs opts.StreamARN or
// opts.StreamName; ReadRange takes the stream's ARN with each call.
func New(client API, opts Options) (*Stream, error) {
	var errs []error
	if client == nil {
		errs = append(errs, errors.New("kinesis: client is nil"))
	}
	if opts.MaxAttempts < 0 || opts.BaseDelay < 0 || opts.MaxDelay < 0 || opts.MaxBatchRecords < 0 || opts.MaxBatchBytes < 0 {
		errs = append(errs, errors.New("kinesis: negative option"))
	}
	if opts.MaxBatchRecords > MaxBatchRecords {
		errs = append(errs, fmt.Errorf("kinesis: MaxBatchRecords %d exceeds %d", opts.MaxBatchRecords, MaxBatchRecords))
	}
	if opts.MaxBatchBytes > MaxBatchBytes {
		errs = append(errs, fmt.Errorf("kinesis: MaxBatchBytes %d exceeds %d", opts.MaxBatchBytes, MaxBatchBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 8
	}
	if opts.BaseDelay == 0 {
		opts.BaseDelay = 50 * time.Millisecond
	}
	if opts.MaxDelay == 0 {
		opts.MaxDelay = 2 * time.Second
	}
	if opts.MaxDelay < opts.BaseDelay {
		opts.MaxDelay = opts.BaseDelay
	}
	if opts.MaxBatchRecords == 0 {
		opts.MaxBatchRecords = MaxBatchRecords
	}
	if opts.MaxBatchBytes == 0 {
		opts.MaxBatchBytes = MaxBatchBytes
	}
	return &Stream{client: client, opts: opts}, nil
}

// backoff returns the wait before the n-th retry (n >= 1).
func (s *Stream) backoff(n int) time.Duration {
	return backoff.Jittered(n, s.opts.BaseDelay, s.opts.MaxDelay)
}

// errorCode returns the API error code of err, or "".
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// retryableCodes are codes worth another try besides the SDK's defaults
// (throttling, 5xx, connection errors).
var retryableCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"InternalFailure":                        true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
	"KMSThrottlingException":                 true,
	"LimitExceededException":                 true,
}

// Transient reports whether a failed Kinesis call may succeed when
// repeated: throttling, 5xx and the codes in retryableCodes, never a
// cancelled or expired context. Other Kinesis clients of the project (such
// as devstack's --aws stream) classify with it too.
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if retryableCodes[errorCode(err)] {
		return true
	}
	return retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary
}

// ctxCode is the failure code of a record abandoned because ctx ended.
func ctxCode(ctx context.Context) string {
	if errors.Is(ctx.Err(), context.Canceled) {
		return "Canceled"
	}
	return CodeDeadline
}
