// Package awsbackend is devstack's --aws mode: the stream, the on-failure
// queue and the tables on the real AWS services (or on emulators that speak
// their protocols, such as kinesis-mock and moto_server), reached with the
// SDK's standard settings (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL,
// AWS_ENDPOINT_URL_KINESIS, …), instead of devstack's embedded backends.
//
// There is no Lambda service behind these resources, so devstack keeps
// running its own event source mappings (package esm) over them: [Stream]
// is an esm.KinesisSource and [Queue] an esm.SQSSource and esm.Destination,
// with the same extra methods as the embedded stream and queue (Name,
// PutRecord, Depth) so devstack can use either.
//
// # API
//
//	cfg, err := awsbackend.LoadConfig(ctx, region, profile)
//	b, err := awsbackend.Open(ctx, cfg, awsbackend.NamesFor(suffix), create)
//	// b.Stream: esm.KinesisSource, stream.Publisher, stream.RangeReader
//	// b.Queue:  esm.SQSSource, esm.Destination (on-failure queue); b.DLQ
//	// b.Tables: store.Store (libs/store/dynamo)
//
// With create, Open makes what is missing and keeps what exists: the
// stream (WithShards, default 2) until it is ACTIVE, the three tables
// (dynamo.CreateTables), the dead-letter queue and the on-failure queue with
// a redrive policy to it (WithMaxReceiveCount, default 5). Without create, a
// missing resource is an error ([ErrMissing]) that names every missing one
// and says to pass --create.
//
// # Reading the stream
//
// Kinesis has no "records after sequence number N" call, so [Stream.Records]
// keeps, per shard, the records it read past the caller's position and the
// shard iterator after them (GetShardIterator AFTER_SEQUENCE_NUMBER, or
// TRIM_HORIZON for the start, then GetRecords). A mapping asks again and
// again from the same position while it fills a batching window, and then
// from the last record of the batch it disposed of: both are served from
// that buffer and iterator without a new GetShardIterator. Throttled reads
// (ProvisionedThroughputExceededException) are retried with backoff and an
// expired iterator is renewed after the last record read.
//
// A second consumer reads through [Stream.Reader], which keeps positions
// and iterators of its own (devstack's archiver, beside the processor
// mapping, as Firehose beside Lambda).
//
// [Stream.Latest] follows each shard to its end with an iterator of its own
// (MillisBehindLatest 0 marks the end), starting after the newest sequence
// number seen so far by any read or PutRecord, so it costs one GetRecords
// call when nothing is new.
//
// # Notification by polling
//
// AWS does not push appends, so Notify returns a channel closed by a poll
// timer, every 200 ms by default (WithPollInterval): a mapping waiting for
// records polls GetRecords (ReceiveMessage) five times a second per shard
// (queue) — the GetRecords limit of a Kinesis shard, whose throttling is
// retried. A PutRecord, Publish or Send made through this process closes
// the channel at once.
//
// The methods the esm interfaces declare without a context (Records,
// Latest, Receive, Delete, Depth) bound each of their calls with a timeout
// (WithCallTimeout, default 30 s).
//
// The shards are listed once, when the stream is opened: a reshard made
// while devstack runs is not followed.
package awsbackend
