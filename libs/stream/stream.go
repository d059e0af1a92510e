// Package stream declares the event log's records and the two ports the
// services need on it: publishing records (the scraper) and reading a
// shard's sequence range back (the error sink). Adapters live in packages
// named after their technology: kinesis (aws-sdk-go-v2) and devstack's
// embedded stream. streamtest is the contract suite both must pass.
package stream

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Record is one record to put on the stream.
type Record struct {
	// PartitionKey decides the shard: the records of one key stay in order
	// on one shard.
	PartitionKey string
	Data         []byte
}

// Stored is a record as the stream keeps it.
type Stored struct {
	ShardID        string
	SequenceNumber string
	PartitionKey   string
	Data           []byte
	// ArrivalTime is when the stream accepted the record.
	ArrivalTime time.Time
}

// Result tells what a Publish call did.
type Result struct {
	// Published is the number of records the stream accepted.
	Published int
	// Failed lists, in input order, the records not published, with the
	// last error code the stream gave (e.g.
	// "ProvisionedThroughputExceededException") or the context error.
	Failed []Failure
}

// Failure is one record that was not published.
type Failure struct {
	// Index is the record's position in the Publish input.
	Index   int
	Code    string
	Message string
}

// Publisher puts records on the stream.
type Publisher interface {
	// Publish puts recs on the stream, batching to the service limits and
	// resending the records the stream refused, until they are accepted,
	// the adapter's retry budget is spent or ctx is done. Records of one
	// partition key are accepted in input order: once one fails for good,
	// the later records of the same key are not sent (they are reported as
	// failed too). The error is non-nil only when nothing could be tried at
	// all (bad configuration, stream missing); partial failure is in Result.
	// Safe for concurrent use.
	Publish(ctx context.Context, recs []Record) (Result, error)
}

// RangeReader reads records back by sequence number.
type RangeReader interface {
	// ReadRange calls fn, in order, for each record of shard shardID of the
	// stream streamARN with first <= sequence number <= last, stopping at the
	// end of the range, at the shard's end, or at fn's first error (which it
	// returns). It returns ErrTrimmed (wrapped) if records of the range are
	// no longer kept (retention expired); the records it could still read
	// were passed to fn first.
	ReadRange(ctx context.Context, streamARN, shardID, first, last string, fn func(Stored) error) error
}

// ErrTrimmed: the requested records are past the stream's retention.
var ErrTrimmed = errors.New("records trimmed from the stream")

// CompareSeq compares two sequence numbers (decimal strings of up to 128
// digits, as Kinesis issues them) numerically: -1 if a < b, 0 if equal, +1 if
// a > b.
func CompareSeq(a, b string) int {
	a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return strings.Compare(a, b)
}
