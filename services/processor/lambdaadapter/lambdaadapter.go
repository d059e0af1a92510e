// Package lambdaadapter connects the processor to AWS Lambda. Lambda's
// types stay here: [Handler] maps a Kinesis event
// (github.com/aws/aws-lambda-go/events) to the processor's own
// [processor.Record]s and the processor's [processor.Result] to Lambda's
// partial batch response (ReportBatchItemFailures), so the processor's
// core, devstack and tools/replay share one code path without faking
// Lambda events.
//
// cmd/lambda hands the function Handler returns to lambda.Start. Devstack's
// event source mapping (tools/devstack/esm) invokes the very same function
// through aws-lambda-go's own JSON handler with the event JSON Lambda
// sends, so the mapping of Lambda's fields tested here is what runs both
// in Lambda and on a laptop.
package lambdaadapter

import (
	"context"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
)

// Core is the processor as the adapter calls it; *processor.Handler
// satisfies it.
type Core interface {
	// Handle projects recs and reports the records to deliver again; it
	// has no error to return (see processor.Handler.Handle).
	Handle(ctx context.Context, recs []processor.Record) processor.Result
}

var _ Core = (*processor.Handler)(nil)

// Handler returns the Lambda function of the processor: it hands each
// Kinesis batch to c and answers with the records to retry as batch item
// failures. The function never returns a non-nil error: an error would make
// Lambda discard the partial-failure response and retry the whole batch.
func Handler(c Core) func(context.Context, events.KinesisEvent) (events.KinesisEventResponse, error) {
	return func(ctx context.Context, ev events.KinesisEvent) (events.KinesisEventResponse, error) {
		recs := Records(ev)
		return Response(recs, c.Handle(ctx, recs)), nil
	}
}

// Records maps the records of a Kinesis event to the processor's records,
// in the same order.
func Records(ev events.KinesisEvent) []processor.Record {
	recs := make([]processor.Record, len(ev.Records))
	for i := range ev.Records {
		r := &ev.Records[i]
		recs[i] = processor.Record{
			StreamARN:      r.EventSourceArn,
			ShardID:        shardID(r),
			SequenceNumber: r.Kinesis.SequenceNumber,
			PartitionKey:   r.Kinesis.PartitionKey,
			Data:           r.Kinesis.Data,
			ArrivalTime:    r.Kinesis.ApproximateArrivalTimestamp.Time,
		}
	}
	return recs
}

// Response is Lambda's partial batch response for res, the result of recs:
// the sequence number of every record to retry, in batch order, once each.
// Lambda checkpoints a shard just before the lowest of them and delivers
// the rest again. An empty list (never null) tells Lambda the batch is
// done.
func Response(recs []processor.Record, res processor.Result) events.KinesisEventResponse {
	out := events.KinesisEventResponse{BatchItemFailures: make([]events.KinesisBatchItemFailure, 0, len(res.Retry))}
	var seen map[string]bool
	for _, i := range res.Retry {
		seq := recs[i].SequenceNumber
		if seen == nil {
			seen = make(map[string]bool, len(res.Retry))
		}
		if seen[seq] {
			continue // the same record twice in a batch: one identifier
		}
		seen[seq] = true
		out.BatchItemFailures = append(out.BatchItemFailures, events.KinesisBatchItemFailure{ItemIdentifier: seq})
	}
	return out
}

// shardID is the shard a record came from. Lambda's eventID for a Kinesis
// record is "<shard id>:<sequence number>"; a record without one
// (hand-made events) has no known shard.
func shardID(rec *events.KinesisEventRecord) string {
	id := rec.EventID
	// Without concatenating ":"+seq: this runs for every record.
	if seq := rec.Kinesis.SequenceNumber; seq != "" && len(id) > len(seq) &&
		strings.HasSuffix(id, seq) && id[len(id)-len(seq)-1] == ':' {
		return id[:len(id)-len(seq)-1]
	}
	if i := strings.LastIndexByte(id, ':'); i > 0 && strings.HasPrefix(id, "shardId-") {
		return id[:i]
	}
	return ""
}
