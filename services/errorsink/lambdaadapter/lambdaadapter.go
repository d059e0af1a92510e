// Package lambdaadapter connects the error sink to AWS Lambda. Lambda's
// types stay here: [Handler] maps an SQS event
// (github.com/aws/aws-lambda-go/events) to the error sink's own
// [errorsink.Message]s and the error sink's [errorsink.Result] to Lambda's
// partial batch response (ReportBatchItemFailures).
//
// cmd/lambda hands the function Handler returns to lambda.Start. Devstack's
// SQS event source mapping (tools/devstack/esm) invokes the very same
// function through aws-lambda-go's own JSON handler with the event JSON
// Lambda sends, so the mapping of Lambda's fields tested here is what runs
// both in Lambda and on a laptop.
package lambdaadapter

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scrape-pipeline/scrape-pipeline/services/errorsink"
)

// Core is the error sink as the adapter calls it; *errorsink.Handler
// satisfies it.
type Core interface {
	// Handle stores what msgs describe and reports the messages to deliver
	// again; it has no error to return (see errorsink.Handler.Handle).
	Handle(ctx context.Context, msgs []errorsink.Message) errorsink.Result
}

var _ Core = (*errorsink.Handler)(nil)

// Handler returns the Lambda function of the error sink: it hands each
// batch of SQS messages to c and answers with the messages to retry as
// batch item failures. The function never returns a non-nil error: an
// error would make Lambda retry every message of the batch.
func Handler(c Core) func(context.Context, events.SQSEvent) (events.SQSEventResponse, error) {
	return func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		msgs := Messages(ev)
		return Response(msgs, c.Handle(ctx, msgs)), nil
	}
}

// Messages maps the messages of an SQS event to the error sink's, in the
// same order. SentAt comes from the SentTimestamp attribute (epoch
// milliseconds); zero when it is missing or not a positive number.
func Messages(ev events.SQSEvent) []errorsink.Message {
	msgs := make([]errorsink.Message, len(ev.Records))
	for i := range ev.Records {
		m := &ev.Records[i]
		msgs[i] = errorsink.Message{ID: m.MessageId, Body: []byte(m.Body)}
		if ms, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64); err == nil && ms > 0 {
			msgs[i].SentAt = time.UnixMilli(ms).UTC()
		}
	}
	return msgs
}

// Response is Lambda's partial batch response for res, the result of msgs:
// the id of every message to retry, in batch order. An empty list (never
// null) tells Lambda to delete every message of the batch.
func Response(msgs []errorsink.Message, res errorsink.Result) events.SQSEventResponse {
	out := events.SQSEventResponse{BatchItemFailures: make([]events.SQSBatchItemFailure, 0, len(res.Retry))}
	for _, i := range res.Retry {
		out.BatchItemFailures = append(out.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: msgs[i].ID})
	}
	return out
}
