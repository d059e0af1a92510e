package esm

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/scrape-pipeline/scrape-pipeline/libs/backoff"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/sqs"
)

// SQSSource is the queue an SQS mapping reads.
type SQSSource interface {
	ARN() string
	Receive(limit int, visibility time.Duration) ([]sqs.Message, error)
	Delete(receiptHandle string) error
	Notify() <-chan struct{}
}

// SQSHandler is a Lambda function for SQS events: in devstack, the error
// sink's lambdaadapter.Handler, as in Lambda.
type SQSHandler func(context.Context, lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error)

// SQS is an SQS event source mapping: messages a function fails (whole
// batch on a function error; the reported ones with
// ReportBatchItemFailures) stay on the queue and come back after the
// visibility timeout; the others are deleted.
type SQS struct {
	q          SQSSource
	set        contract.SQSMapping
	reportBIF  bool
	handler    SQSHandler
	opts       Options
	visibility time.Duration

	throttled   atomic.Bool
	invocations atomic.Int64
	deleted     atomic.Int64
}

// SQSStatus is what an SQS mapping has done since it started.
type SQSStatus struct {
	// Invocations counts the batches the function was invoked with;
	// Deleted the messages it handled, deleted from the queue.
	Invocations int64 `json:"invocations"`
	Deleted     int64 `json:"deleted"`
}

// Status tells what the mapping has done.
func (m *SQS) Status() SQSStatus {
	return SQSStatus{Invocations: m.invocations.Load(), Deleted: m.deleted.Load()}
}

// NewSQS returns a mapping of q to handler. visibility is the queue's
// visibility timeout (AWS advises at least six times the function timeout;
// devstack uses a few seconds so redelivery is visible).
func NewSQS(q SQSSource, set contract.SQSMapping, handler SQSHandler, visibility time.Duration, opts Options) (*SQS, error) {
	opts.defaults()
	if set.BatchSize < 1 || set.BatchSize > 10_000 {
		return nil, fmt.Errorf("esm: BatchSize %d not in 1..10000", set.BatchSize)
	}
	m := &SQS{q: q, set: set, handler: handler, opts: opts, visibility: visibility}
	for _, t := range set.FunctionResponseTypes {
		m.reportBIF = m.reportBIF || t == contract.ReportBatchItemFailures
	}
	return m, nil
}

// Run receives and invokes until ctx is done, finishing the batch in
// flight.
func (m *SQS) Run(ctx context.Context) error {
	for {
		if ctx.Err() != nil {
			return nil
		}
		// A throttled function receives nothing: a message received and
		// not handled would spend one of its receives.
		if !m.opts.awaitInvocable(ctx, &m.throttled) {
			return nil
		}
		notify := m.q.Notify()
		msgs, err := m.q.Receive(m.set.BatchSize, m.visibility)
		if err != nil {
			// As Lambda's poller does, keep polling: a queue that fails
			// now may answer later.
			m.opts.Logger.Warn("receiving from the queue failed; retrying", "mapping", m.opts.Name, "error", err.Error())
			if !backoff.Sleep(ctx, m.opts.MaxBackoff) {
				return nil
			}
			continue
		}
		if len(msgs) == 0 {
			// Hidden messages come back when their visibility ends: poll
			// for them now and then, like the mapping's long polling.
			t := time.NewTimer(min(m.visibility, time.Second))
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-notify:
				t.Stop()
			case <-t.C:
			}
			continue
		}
		m.Deliver(context.WithoutCancel(ctx), msgs)
	}
}

// Deliver invokes the function with msgs and deletes what it handled.
func (m *SQS) Deliver(ctx context.Context, msgs []sqs.Message) {
	ev, err := m.event(msgs)
	var resp lambdaevents.SQSEventResponse
	if err == nil {
		m.invocations.Add(1)
		resp, err = invoke[lambdaevents.SQSEventResponse](ctx, m.opts, m.handler, ev)
	}
	if err != nil {
		m.opts.Logger.Warn("function error: messages return after the visibility timeout", "mapping", m.opts.Name,
			"messages", len(msgs), "error", err.Error())
		return
	}
	failed := map[string]bool{}
	if m.reportBIF {
		ids := map[string]bool{}
		for _, msg := range msgs {
			ids[msg.ID] = true
		}
		for _, f := range resp.BatchItemFailures {
			if !ids[f.ItemIdentifier] {
				m.opts.Logger.Warn("invalid batch item failures: the whole batch failed", "mapping", m.opts.Name)
				return
			}
			failed[f.ItemIdentifier] = true
		}
	}
	for _, msg := range msgs {
		if failed[msg.ID] {
			continue
		}
		if err := m.q.Delete(msg.ReceiptHandle); err != nil {
			m.opts.Logger.Warn("delete message", "mapping", m.opts.Name, "message_id", msg.ID, "error", err.Error())
			continue
		}
		m.deleted.Add(1)
	}
}

type sqsMessageJSON struct {
	MessageID         string            `json:"messageId"`
	ReceiptHandle     string            `json:"receiptHandle"`
	Body              string            `json:"body"`
	Attributes        map[string]string `json:"attributes"`
	MessageAttributes map[string]any    `json:"messageAttributes"`
	MD5OfBody         string            `json:"md5OfBody"`
	EventSource       string            `json:"eventSource"`
	EventSourceARN    string            `json:"eventSourceARN"`
	AWSRegion         string            `json:"awsRegion"`
}

// event builds the JSON Lambda sends for msgs.
func (m *SQS) event(msgs []sqs.Message) ([]byte, error) {
	recs := make([]sqsMessageJSON, len(msgs))
	for i, msg := range msgs {
		recs[i] = sqsMessageJSON{
			MessageID:     msg.ID,
			ReceiptHandle: msg.ReceiptHandle,
			Body:          msg.Body,
			Attributes: map[string]string{
				"ApproximateReceiveCount":          strconv.Itoa(msg.ReceiveCount),
				"SentTimestamp":                    strconv.FormatInt(msg.SentAt.UnixMilli(), 10),
				"SenderId":                         "AROADEVSTACKLAMBDA:devstack",
				"ApproximateFirstReceiveTimestamp": strconv.FormatInt(msg.FirstReceiveAt.UnixMilli(), 10),
			},
			MessageAttributes: map[string]any{},
			MD5OfBody:         sqs.MD5OfBody(msg.Body),
			EventSource:       "aws:sqs",
			EventSourceARN:    m.q.ARN(),
			AWSRegion:         m.opts.Region,
		}
	}
	return payload(recs)
}
