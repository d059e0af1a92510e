// Package archiver is the record transformation Lambda of the archive's
// Firehose delivery stream. Firehose reads the Kinesis stream, invokes the
// function with a batch of records (events.KinesisFirehoseEvent, with each
// record's Kinesis metadata), and writes what it returns, concatenated as
// it is and gzip-compressed, to S3 under the archive's hour prefixes (see
// libs/archive). The function turns each record into exactly one archive
// line, ending in '\n': shard, sequence number, partition key, arrival time
// on Kinesis, and the data byte for byte, whatever it is — poison records
// are archived like events. It never decodes an event.
//
// # Outcomes of a record
//
//   - Ok: the record's data is replaced by its line.
//   - ProcessingFailed: the record cannot be a line, or the line cannot be
//     returned. Firehose then writes the record's original data, base64,
//     with its own error fields (but without the Kinesis metadata) under
//     the error prefix (libs/archive.FirehoseErrorPrefix,
//     errors/processing-failed/…), so nothing is dropped: the function
//     logs each such record with its shard, sequence number and the reason
//     (see the Reason constants).
//
// No record is Dropped, and Handle never returns an error: an error would
// make Firehose retry the whole batch and then fail all of it, where only
// some records may be at fault.
//
// # Sizes
//
// Lambda takes and returns at most 6 MB synchronously, and Firehose
// invokes the function with up to its processor buffer size of records
// (BufferSizeInMBs, 0.2 to 3 MB, default 1 MB). The response is bigger than
// the records: each line adds the metadata (about 200 bytes), a line whose
// data is not JSON carries it base64 (4/3), the response carries each line
// base64 again (4/3), and each response record has its id and aws-lambda-go's
// metadata (about 200 bytes). 1 MB of 600-byte events comes back as about
// 2.25 MB, 1 MB of 1 KiB binary records as 2.4 MB; tiny records grow the
// most (100 bytes of data take some 700). So
// Handle counts the exact size of the response as it goes and marks
// ProcessingFailed (ReasonResponseFull) each record whose line would take
// it past Options.MaxResponseBytes, rather than return a response Lambda
// refuses, which would fail the whole batch. BufferSizeMB is the processor
// buffer infra configures, with which realistic batches always fit.
//
// A line may be up to archive.MaxLineSize (2 MiB), which fits the largest
// Kinesis record base64-encoded. Firehose documents 1,000 KiB as the most
// data of a record put to it directly (PutRecord), not as a limit on what a
// transformation returns, so a line is not held to it.
package archiver
