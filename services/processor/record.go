package processor

import "time"

// Record is one stream record as the processor takes it, whoever read it:
// Lambda's Kinesis event mapped by package lambdaadapter (in Lambda and in
// devstack, whose event source mapping invokes that same adapter), or the
// archive read back by tools/replay. It holds the project's own types, not
// Lambda's, so that every caller feeds the same core.
type Record struct {
	// StreamARN names the stream the record was read from; error items
	// keep it. Empty when unknown.
	StreamARN string
	// ShardID and SequenceNumber place the record on its stream; error
	// item ids derive from them. ShardID is empty when unknown.
	ShardID        string
	SequenceNumber string
	// PartitionKey orders the batch: the records of one key are handled
	// one after the other, in batch order.
	PartitionKey string
	// Data is the record's payload: an event encoded by libs/events, or
	// anything else (stored in errors).
	Data []byte
	// ArrivalTime is when the record reached the stream (Kinesis's
	// ApproximateArrivalTimestamp); zero when unknown.
	ArrivalTime time.Time
}

// Result is what Handle reports of a batch.
type Result struct {
	// Retry holds, in batch order, the index in the batch of every record
	// that is not done: failed, skipped behind an earlier failure of its
	// partition key, or not started before the deadline. They must be
	// delivered again; Lambda's mapping does so from the lowest of them in
	// each shard (see the package documentation). Nil when every record is
	// done.
	Retry []int
	// Metrics are the batch's figures, as written to Options.Metrics.
	Metrics Metrics
}
