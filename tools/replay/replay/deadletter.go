package replay

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	bolt "go.etcd.io/bbolt"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/awsbackend"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/sqs"
)

// deadLetters is the error sink's dead-letter queue and the on-failure
// queue its messages came from.
type deadLetters interface {
	// names returns the on-failure queue's and the dead-letter queue's.
	names() (queue, dlq string)
	// move moves the dead-letter queue's messages back to the on-failure
	// queue and returns how many it moved, or why none (note).
	move(ctx context.Context) (moved int64, note string, err error)
	close() error
}

// openQueues opens the target's queues: with AWS the SQS queues of the
// suffix, else the embedded queues in the data directory's stream file
// (nil when there is none: devstack never ran there).
func (t *Tool) openQueues(ctx context.Context) (deadLetters, error) {
	queue := contract.Name(contract.OnFailureQueue, t.o.Suffix)
	dlq := contract.Name(contract.ErrorsinkDLQBase, t.o.Suffix)
	if t.o.AWS {
		names := awsbackend.NamesFor(t.o.Suffix)
		return &sqsDeadLetters{client: awssqs.NewFromConfig(t.awsCfg), queue: names.Queue, dlq: names.DLQ, poll: time.Second}, nil
	}
	return openEmbeddedQueues(t.o.Data, queue, dlq)
}

// lockTimeout is how long opening a data directory's stream file waits
// for another process to let go of it (the embedded store waits a second
// too); tests shorten it.
var lockTimeout = time.Second

// embeddedDeadLetters are devstack's embedded queues in <data>/stream.db.
type embeddedDeadLetters struct {
	db         *bolt.DB
	queue, dlq *sqs.Queue
}

func openEmbeddedQueues(dir, queue, dlq string) (deadLetters, error) {
	path := filepath.Join(dir, StreamFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, openError("data directory", dir, err)
	}
	d, err := sqs.Open(db, sqs.Options{Name: dlq})
	if err == nil {
		var q *sqs.Queue
		if q, err = sqs.Open(db, sqs.Options{Name: queue}); err == nil {
			return &embeddedDeadLetters{db: db, queue: q, dlq: d}, nil
		}
	}
	db.Close()
	return nil, fmt.Errorf("data directory %s: %w", dir, err)
}

func (e *embeddedDeadLetters) names() (string, string) { return e.queue.Name(), e.dlq.Name() }

func (e *embeddedDeadLetters) move(ctx context.Context) (int64, string, error) {
	n, err := e.dlq.MoveMessages(ctx, e.queue)
	if err != nil {
		return 0, "", err
	}
	if n == 0 {
		return 0, "empty", nil
	}
	return int64(n), "", nil
}

func (e *embeddedDeadLetters) close() error { return e.db.Close() }

// sqsAPI is the part of the SQS client the redrive of a dead-letter queue
// uses; *sqs.Client implements it.
type sqsAPI interface {
	GetQueueUrl(ctx context.Context, in *awssqs.GetQueueUrlInput, optFns ...func(*awssqs.Options)) (*awssqs.GetQueueUrlOutput, error)
	GetQueueAttributes(ctx context.Context, in *awssqs.GetQueueAttributesInput, optFns ...func(*awssqs.Options)) (*awssqs.GetQueueAttributesOutput, error)
	// StartMessageMoveTask starts SQS's dead-letter queue redrive.
	StartMessageMoveTask(ctx context.Context, in *awssqs.StartMessageMoveTaskInput, optFns ...func(*awssqs.Options)) (*awssqs.StartMessageMoveTaskOutput, error)
	// ListMessageMoveTasks reports the latest move tasks of a queue.
	ListMessageMoveTasks(ctx context.Context, in *awssqs.ListMessageMoveTasksInput, optFns ...func(*awssqs.Options)) (*awssqs.ListMessageMoveTasksOutput, error)
}

var _ sqsAPI = (*awssqs.Client)(nil)

// Statuses of a message move task.
const (
	taskRunning    = "RUNNING"
	taskCompleted  = "COMPLETED"
	taskCancelling = "CANCELLING"
	taskCancelled  = "CANCELLED"
	taskFailed     = "FAILED"
)

// sqsDeadLetters redrives an SQS dead-letter queue with SQS's own message
// move task (StartMessageMoveTask), which moves the messages to the
// destination as new messages (new ids, retention and receive counts
// from the start), and waits for it to end (ListMessageMoveTasks).
type sqsDeadLetters struct {
	client     sqsAPI
	queue, dlq string
	// poll is how often the task is looked at.
	poll time.Duration
}

func (s *sqsDeadLetters) names() (string, string) { return s.queue, s.dlq }

func (s *sqsDeadLetters) close() error { return nil }

func (s *sqsDeadLetters) move(ctx context.Context) (int64, string, error) {
	queueARN, _, err := s.attributes(ctx, s.queue)
	if err != nil {
		return 0, "", err
	}
	dlqARN, waiting, err := s.attributes(ctx, s.dlq)
	if err != nil {
		return 0, "", err
	}
	if waiting == 0 {
		// SQS refuses a move task of an empty queue; none of its messages
		// is visible (some may be in flight, received by someone).
		return 0, "empty (no visible message)", nil
	}
	start, err := s.client.StartMessageMoveTask(ctx, &awssqs.StartMessageMoveTaskInput{
		SourceArn: aws.String(dlqARN), DestinationArn: aws.String(queueARN),
	})
	if err != nil {
		// One task per queue at a time: if one runs already, follow it.
		task, lerr := s.latest(ctx, dlqARN)
		if lerr != nil || task == nil || aws.ToString(task.Status) != taskRunning {
			return 0, "", fmt.Errorf("start moving the messages of %s to %s: %w", s.dlq, s.queue, err)
		}
	} else if aws.ToString(start.TaskHandle) == "" {
		return 0, "", fmt.Errorf("start moving the messages of %s to %s: no task handle in the answer", s.dlq, s.queue)
	}
	for {
		task, err := s.latest(ctx, dlqARN)
		if err != nil {
			return 0, "", err
		}
		if task == nil {
			return 0, "", fmt.Errorf("move task of %s: not listed", s.dlq)
		}
		switch status := aws.ToString(task.Status); status {
		case taskCompleted:
			return task.ApproximateNumberOfMessagesMoved, "", nil
		case taskFailed:
			return task.ApproximateNumberOfMessagesMoved, "", fmt.Errorf("move task of %s failed after moving %d messages: %s",
				s.dlq, task.ApproximateNumberOfMessagesMoved, aws.ToString(task.FailureReason))
		case taskCancelled:
			return task.ApproximateNumberOfMessagesMoved, "", fmt.Errorf("move task of %s was cancelled after moving %d messages", s.dlq, task.ApproximateNumberOfMessagesMoved)
		case taskRunning, taskCancelling:
		default:
			return 0, "", fmt.Errorf("move task of %s: unknown status %q", s.dlq, status)
		}
		select {
		case <-ctx.Done():
			return task.ApproximateNumberOfMessagesMoved, "", fmt.Errorf("stopped waiting for the move task of %s, which goes on (%d messages moved so far): %w",
				s.dlq, task.ApproximateNumberOfMessagesMoved, ctx.Err())
		case <-time.After(s.poll):
		}
	}
}

// attributes returns a queue's ARN and its number of visible messages.
func (s *sqsDeadLetters) attributes(ctx context.Context, name string) (string, int, error) {
	u, err := s.client.GetQueueUrl(ctx, &awssqs.GetQueueUrlInput{QueueName: aws.String(name)})
	if err != nil {
		return "", 0, fmt.Errorf("queue %s: %w", name, err)
	}
	out, err := s.client.GetQueueAttributes(ctx, &awssqs.GetQueueAttributesInput{
		QueueUrl: u.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn,
			sqstypes.QueueAttributeNameApproximateNumberOfMessages},
	})
	if err != nil {
		return "", 0, fmt.Errorf("queue %s: %w", name, err)
	}
	arn := out.Attributes[string(sqstypes.QueueAttributeNameQueueArn)]
	n, err := strconv.Atoi(out.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	if arn == "" || err != nil {
		return "", 0, fmt.Errorf("queue %s: attributes %v: want its ARN and message count", name, out.Attributes)
	}
	return arn, n, nil
}

// latest returns the most recent move task of the queue arn (nil: none).
func (s *sqsDeadLetters) latest(ctx context.Context, arn string) (*sqstypes.ListMessageMoveTasksResultEntry, error) {
	out, err := s.client.ListMessageMoveTasks(ctx, &awssqs.ListMessageMoveTasksInput{SourceArn: aws.String(arn), MaxResults: aws.Int32(1)})
	if err != nil {
		return nil, fmt.Errorf("list the move tasks of %s: %w", arn, err)
	}
	if len(out.Results) == 0 {
		return nil, nil
	}
	return &out.Results[0], nil
}
