package awsbackend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/sqs"
)

// SQSAPI is the part of the SQS client a Queue uses; *sqs.Client
// implements it.
type SQSAPI interface {
	GetQueueUrl(ctx context.Context, in *awssqs.GetQueueUrlInput, optFns ...func(*awssqs.Options)) (*awssqs.GetQueueUrlOutput, error)
	GetQueueAttributes(ctx context.Context, in *awssqs.GetQueueAttributesInput, optFns ...func(*awssqs.Options)) (*awssqs.GetQueueAttributesOutput, error)
	SendMessage(ctx context.Context, in *awssqs.SendMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.SendMessageOutput, error)
	ReceiveMessage(ctx context.Context, in *awssqs.ReceiveMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *awssqs.DeleteMessageInput, optFns ...func(*awssqs.Options)) (*awssqs.DeleteMessageOutput, error)
}

var _ SQSAPI = (*awssqs.Client)(nil)

// SQSAdmin is the part of the SQS client CreateQueues uses.
type SQSAdmin interface {
	// CreateQueue creates a queue, or returns the URL of an identical one.
	CreateQueue(ctx context.Context, in *awssqs.CreateQueueInput, optFns ...func(*awssqs.Options)) (*awssqs.CreateQueueOutput, error)
	// GetQueueUrl finds a queue created with other attributes.
	GetQueueUrl(ctx context.Context, in *awssqs.GetQueueUrlInput, optFns ...func(*awssqs.Options)) (*awssqs.GetQueueUrlOutput, error)
	// GetQueueAttributes gives the dead-letter queue's ARN.
	GetQueueAttributes(ctx context.Context, in *awssqs.GetQueueAttributesInput, optFns ...func(*awssqs.Options)) (*awssqs.GetQueueAttributesOutput, error)
}

var _ SQSAdmin = (*awssqs.Client)(nil)

// Queue is an SQS standard queue as devstack needs it: esm.SQSSource for
// the error sink's mapping, esm.Destination for the processor mapping's
// on-failure records, and Depth for the status page. It is safe for
// concurrent use.
type Queue struct {
	client SQSAPI
	name   string
	url    string
	arn    string
	poll   *poller
	opts   options
}

// redrivePolicy is SQS's RedrivePolicy attribute.
type redrivePolicy struct {
	DeadLetterTargetARN string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount,string"`
}

// CreateQueues creates the dead-letter queue dlq and the queue queue with a
// redrive policy sending a message to dlq once it was received
// maxReceiveCount times, both keeping messages
// contract.OnFailureQueueRetention. A queue that exists already, with any
// attributes, is kept as it is.
func CreateQueues(ctx context.Context, client SQSAdmin, queue, dlq string, maxReceiveCount int) error {
	retention := strconv.Itoa(int(contract.OnFailureQueueRetention / time.Second))
	dlqURL, err := createQueue(ctx, client, dlq, map[string]string{
		string(types.QueueAttributeNameMessageRetentionPeriod): retention,
	})
	if err != nil {
		return err
	}
	attrs, err := client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
		QueueUrl: aws.String(dlqURL), AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return fmt.Errorf("create queue %s: get its ARN: %w", dlq, err)
	}
	policy, err := json.Marshal(redrivePolicy{
		DeadLetterTargetARN: attrs.Attributes[string(types.QueueAttributeNameQueueArn)],
		MaxReceiveCount:     maxReceiveCount,
	})
	if err != nil {
		return fmt.Errorf("create queue %s: %w", queue, err)
	}
	_, err = createQueue(ctx, client, queue, map[string]string{
		string(types.QueueAttributeNameMessageRetentionPeriod): retention,
		string(types.QueueAttributeNameRedrivePolicy):          string(policy),
	})
	return err
}

// createQueue creates queue name with attrs, or finds it if it exists with
// other attributes, and returns its URL.
func createQueue(ctx context.Context, client SQSAdmin, name string, attrs map[string]string) (string, error) {
	out, err := client.CreateQueue(ctx, &awssqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err == nil {
		return aws.ToString(out.QueueUrl), nil
	}
	var exists *types.QueueNameExists
	if !errors.As(err, &exists) {
		return "", fmt.Errorf("create queue %s: %w", name, err)
	}
	got, err := client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return "", fmt.Errorf("create queue %s: it exists, but: %w", name, err)
	}
	return aws.ToString(got.QueueUrl), nil
}

// OpenQueue opens the existing queue name. A queue that does not exist is
// an error wrapping ErrMissing. Options: WithPollInterval, WithCallTimeout.
func OpenQueue(ctx context.Context, client SQSAPI, name string, opts ...Option) (*Queue, error) {
	o := newOptions(opts)
	if err := o.validate(); err != nil {
		return nil, fmt.Errorf("open queue %s: %w", name, err)
	}
	out, err := client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(name)})
	var nf *types.QueueDoesNotExist
	switch {
	case errors.As(err, &nf):
		return nil, &missingError{what: "queue " + name, err: err}
	case err != nil:
		return nil, fmt.Errorf("open queue %s: %w", name, err)
	}
	q := &Queue{client: client, name: name, url: aws.ToString(out.QueueUrl), poll: newPoller(o.pollInterval), opts: o}
	attrs, err := q.attributes(ctx, types.QueueAttributeNameQueueArn)
	if err != nil {
		return nil, fmt.Errorf("open queue %s: %w", name, err)
	}
	q.arn = attrs[string(types.QueueAttributeNameQueueArn)]
	return q, nil
}

func (q *Queue) attributes(ctx context.Context, names ...types.QueueAttributeName) (map[string]string, error) {
	out, err := q.client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{QueueUrl: aws.String(q.url), AttributeNames: names})
	if err != nil {
		return nil, fmt.Errorf("get queue attributes: %w", err)
	}
	return out.Attributes, nil
}

// Name is the queue's name.
func (q *Queue) Name() string { return q.name }

// ARN is the queue's ARN.
func (q *Queue) ARN() string { return q.arn }

// URL is the queue's URL, which the SQS API calls take.
func (q *Queue) URL() string { return q.url }

// Notify returns a channel closed at the next poll tick (WithPollInterval)
// or at the next Send through q, whichever comes first.
func (q *Queue) Notify() <-chan struct{} { return q.poll.C() }

// Send enqueues body (esm.Destination) and wakes Notify's waiters. A body
// outside 1..256 KiB is refused before the call.
func (q *Queue) Send(ctx context.Context, body []byte) error {
	if len(body) == 0 || len(body) > sqs.MaxBodySize {
		return fmt.Errorf("send to %s: message of %d bytes: want 1..%d", q.name, len(body), sqs.MaxBodySize)
	}
	if _, err := q.client.SendMessage(ctx, &awssqs.SendMessageInput{QueueUrl: aws.String(q.url), MessageBody: aws.String(string(body))}); err != nil {
		return fmt.Errorf("send to %s: %w", q.name, err)
	}
	q.poll.wake()
	return nil
}

// maxReceive is the most messages one ReceiveMessage call returns.
const maxReceive = 10

// maxVisibility is SQS's longest visibility timeout.
const maxVisibility = 12 * time.Hour

// Receive receives up to limit messages (at most 10, SQS's limit per call)
// with short polling, hiding them for visibility, rounded up to whole
// seconds, at least one (the SDK does not send a timeout of 0, which would
// leave the queue's default in force), at most 12h. Each message carries
// its receive count, sent and first-receive times from SQS's system
// attributes. Nothing to receive is no error.
func (q *Queue) Receive(limit int, visibility time.Duration) ([]sqs.Message, error) {
	if limit < 1 {
		return nil, fmt.Errorf("receive from %s: limit %d: want at least 1", q.name, limit)
	}
	if visibility < 0 || visibility > maxVisibility {
		return nil, fmt.Errorf("receive from %s: visibility %s: want 0..%s", q.name, visibility, maxVisibility)
	}
	ctx, cancel := context.WithTimeout(context.Background(), q.opts.callTimeout)
	defer cancel()
	out, err := q.client.ReceiveMessage(ctx, &awssqs.ReceiveMessageInput{
		QueueUrl:            aws.String(q.url),
		MaxNumberOfMessages: int32(min(limit, maxReceive)),
		VisibilityTimeout:   max(1, int32(math.Ceil(visibility.Seconds()))),
		// 0 is not sent either: a queue whose default is long polling
		// makes this call wait up to that many seconds.
		WaitTimeSeconds: 0,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{
			types.MessageSystemAttributeNameApproximateReceiveCount,
			types.MessageSystemAttributeNameSentTimestamp,
			types.MessageSystemAttributeNameApproximateFirstReceiveTimestamp,
		},
	})
	if err != nil {
		return nil, fmt.Errorf("receive from %s: %w", q.name, err)
	}
	visibleAt := time.Now().Add(visibility)
	msgs := make([]sqs.Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		msg, err := message(m, visibleAt)
		if err != nil {
			return nil, fmt.Errorf("receive from %s: %w", q.name, err)
		}
		msgs = append(msgs, msg)
	}
	return msgs, nil
}

// maxMillis is the last instant, in Unix milliseconds, that encoding/json
// can write (RFC 3339 has four-digit years): 9999-12-31T23:59:59.999Z.
const maxMillis = 253402300799999

// message maps a received message and its system attributes: a
// non-negative receive count, times from the Unix epoch to year 9999 (the
// status page writes them as JSON).
func message(m types.Message, visibleAt time.Time) (sqs.Message, error) {
	id := aws.ToString(m.MessageId)
	msg := sqs.Message{
		ID:            id,
		Body:          aws.ToString(m.Body),
		ReceiptHandle: aws.ToString(m.ReceiptHandle),
		VisibleAt:     visibleAt,
	}
	var errs []error
	attr := func(name types.MessageSystemAttributeName, limit int64) int64 {
		raw, ok := m.Attributes[string(name)]
		if !ok {
			errs = append(errs, fmt.Errorf("attribute %s missing", name))
			return 0
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < 0 || n > limit {
			errs = append(errs, fmt.Errorf("attribute %s %q: want an integer from 0 to %d", name, raw, limit))
		}
		return n
	}
	msg.ReceiveCount = int(attr(types.MessageSystemAttributeNameApproximateReceiveCount, math.MaxInt32))
	msg.SentAt = time.UnixMilli(attr(types.MessageSystemAttributeNameSentTimestamp, maxMillis))
	msg.FirstReceiveAt = time.UnixMilli(attr(types.MessageSystemAttributeNameApproximateFirstReceiveTimestamp, maxMillis))
	if err := errors.Join(errs...); err != nil {
		return sqs.Message{}, fmt.Errorf("message %s: %w", id, err)
	}
	return msg, nil
}

// Delete deletes the message received with receiptHandle.
func (q *Queue) Delete(receiptHandle string) error {
	if receiptHandle == "" {
		return fmt.Errorf("delete from %s: empty receipt handle", q.name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), q.opts.callTimeout)
	defer cancel()
	if _, err := q.client.DeleteMessage(ctx, &awssqs.DeleteMessageInput{QueueUrl: aws.String(q.url), ReceiptHandle: aws.String(receiptHandle)}); err != nil {
		return fmt.Errorf("delete from %s: %w", q.name, err)
	}
	return nil
}

// Depth returns SQS's approximate counts of the messages waiting to be
// received and of those received but neither deleted nor visible again.
func (q *Queue) Depth() (visible, inFlight int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), q.opts.callTimeout)
	defer cancel()
	attrs, err := q.attributes(ctx, types.QueueAttributeNameApproximateNumberOfMessages, types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)
	if err != nil {
		return 0, 0, fmt.Errorf("depth of %s: %w", q.name, err)
	}
	var errs []error
	count := func(name types.QueueAttributeName) int {
		n, err := strconv.Atoi(attrs[string(name)])
		if err != nil {
			errs = append(errs, fmt.Errorf("attribute %s %q: want an integer", name, attrs[string(name)]))
		}
		return n
	}
	visible = count(types.QueueAttributeNameApproximateNumberOfMessages)
	inFlight = count(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)
	if err := errors.Join(errs...); err != nil {
		return 0, 0, fmt.Errorf("depth of %s: %w", q.name, err)
	}
	return visible, inFlight, nil
}
