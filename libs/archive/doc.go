// Package archive is the pipeline's permanent event log: every record that
// reached the Kinesis stream, poison ones included, kept forever with its
// shard, sequence number, partition key, arrival time and exact bytes.
// Kinesis keeps records for 24 hours (7 days at most here); the archive is
// what tools/replay rebuilds the projections from.
//
// The package is the archive's schema and its port, like libs/events is the
// events' schema: it has no AWS SDK and does no logging. Adapters live in
// packages named after what they wrap: dir (a local directory, devstack's
// <data>/archive/) and s3 (Amazon S3 through aws-sdk-go-v2). archivetest is
// the contract suite both pass.
//
// # Who writes it
//
// On AWS, an Amazon Data Firehose delivery stream reads the Kinesis stream
// and writes to S3; its record transformation Lambda (services/archiver)
// turns each Kinesis record into one line (AppendLine), and Firehose
// concatenates the lines and gzip-compresses each delivery into one
// object. In devstack an embedded archiver consumes the embedded stream the
// same way through a Buffer, into a directory or, with --aws, a bucket.
//
// # The line format
//
// One JSON object per record, one record per line (newline-delimited JSON),
// so `zcat events/2026/11/27/04/*.gz | jq .` reads an hour:
//
//	{"shardId":"shardId-000000000000","sequenceNumber":"49659…","partitionKey":"heat-1995","arrivalTime":"2026-11-27T04:20:00.123Z","data":{"specversion":"1.0",…}}
//	{"shardId":"shardId-000000000001","sequenceNumber":"49660…","partitionKey":"x","arrivalTime":"2026-11-27T04:20:01Z","dataBase64":"/u3erb7v"}
//
// It is lossless: decoding a line gives back the record's data byte for
// byte. An event (compact JSON, as the scraper publishes it) is embedded as
// a JSON value, which jq reads as it is; but a JSON encoder would compact or
// re-escape a value, and a line must stay one line, so any data for which
// embedding is not provably byte-identical (see Embeddable) — pretty JSON,
// binary, invalid UTF-8, nothing — is base64-encoded instead. arrivalTime
// is RFC 3339 with nanoseconds, in UTC. A reader ignores fields it does not
// know, so later versions can add some.
//
// # The object layout
//
// Objects are gzip-compressed lines under UTC hour prefixes, the layout
// Firehose writes with the Prefix FirehosePrefix:
//
//	events/YYYY/MM/DD/HH/<writer>-<YYYY-MM-DD-HH-MM-SS>-<unique>.gz
//
// Keys sort by time: listing a prefix in key order reads the archive in
// time order, hour by hour. The hour is that of the oldest record in the
// object, as Firehose evaluates it when it writes (not necessarily the
// arrival hour of every record in it): a reader bounded in time reads Skew
// more on both sides and filters on each record's arrivalTime; Scan does.
// What Firehose could not transform or deliver goes under ErrorsPrefix, in
// Firehose's own format.
//
// # The port
//
// Writer (Put one object atomically), Lister (List keys in order, from a
// start-after key) and Opener (Open one object) are the consumer-side
// interfaces, each method's contract in its comment; Reader and Store join
// them. Buffer collects records and flushes them as objects, reporting per
// shard which records each object made durable, so a consumer checkpoints
// only what is stored. Scan streams the records of a time range out of a
// Reader for replay, with progress reports.
package archive
