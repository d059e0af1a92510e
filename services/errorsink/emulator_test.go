package errorsink_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo/dynamotest"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream/kinesis"
	"github.com/scrape-pipeline/scrape-pipeline/services/errorsink"
	"github.com/scrape-pipeline/scrape-pipeline/services/errorsink/lambdaadapter"
)

func TestMain(m *testing.M) { os.Exit(awsemu.Main(m)) }

// TestOnEmulators puts records on a kinesis-mock stream, sends the
// on-failure record of a range of them through a moto_server SQS queue,
// and checks that the handler, on the real Kinesis and DynamoDB adapters,
// stores exactly the failed records of the range in errors — not the one
// the processor already projected; twice the same message, the same items —
// and that a range on a shard that does not exist leaves one metadata-only
// item.
func TestOnEmulators(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	kcfg := awsemu.Kinesis(t)
	mcfg := awsemu.Moto(t)

	// The stream and its records.
	streamName := awsemu.Name(t, "events")
	awsemu.CreateStream(t, kcfg, streamName, 1)
	kc := awskinesis.NewFromConfig(kcfg)
	sum, err := kc.DescribeStreamSummary(ctx, &awskinesis.DescribeStreamSummaryInput{StreamName: aws.String(streamName)})
	if err != nil {
		t.Fatal(err)
	}
	streamARN := aws.ToString(sum.StreamDescriptionSummary.StreamARN)
	const run = "run-20261127-042000-3f9a2c1b"
	type put struct {
		key, eventID string
		data         []byte
		seq          string
	}
	var puts []put
	for i := range 6 {
		id := fmt.Sprintf("movie-%d", i)
		ev := events.NewMovieObserved(run, source, now, id, events.MovieObserved{
			Title: fmt.Sprintf("Movie %d", i), Year: 2000 + i, Rating: events.Rating{Value: 7}})
		data, err := events.Encode(ev)
		if err != nil {
			t.Fatal(err)
		}
		if i == 3 {
			data = []byte("not an event at all")
		}
		out, err := kc.PutRecord(ctx, &awskinesis.PutRecordInput{StreamName: aws.String(streamName), PartitionKey: aws.String(id), Data: data})
		if err != nil {
			t.Fatal(err)
		}
		puts = append(puts, put{id, ev.ID, data, aws.ToString(out.SequenceNumber)})
	}
	shards, err := kc.ListShards(ctx, &awskinesis.ListShardsInput{StreamName: aws.String(streamName)})
	if err != nil || len(shards.Shards) != 1 {
		t.Fatalf("list shards: %v, %v", shards, err)
	}
	shardID := aws.ToString(shards.Shards[0].ShardId)

	// The tables.
	dc := dynamodb.NewFromConfig(mcfg)
	tables := dynamotest.Tables(t, dc, "sink")
	// moto does not apply conditional writes atomically under concurrent
	// requests (see dynamo.Serial).
	st := dynamo.New(dynamo.Serial(dc), tables)
	// The processor projected movie-2 of the range before the batch was
	// discarded (a record after the lowest failure).
	const projected = 2
	if _, err := st.CountEvent(ctx, run, puts[projected].eventID, store.CounterProcessed, ""); err != nil {
		t.Fatal(err)
	}

	// The on-failure records, through a real queue.
	onFailure := func(shard string, first, last int) string {
		return edit(t, func(m map[string]any) {
			b := batchInfo(m)
			b["shardId"], b["streamArn"], b["batchSize"] = shard, streamARN, last-first+1
			b["startSequenceNumber"], b["endSequenceNumber"] = puts[first].seq, puts[last].seq
			m["requestContext"].(map[string]any)["approximateInvokeCount"] = 4
			m["timestamp"] = time.Now().UTC().Format(time.RFC3339Nano) // items expire 14 days after it
		})
	}
	msgs := viaSQS(ctx, t, sqs.NewFromConfig(mcfg), awsemu.Name(t, "onfailure"),
		onFailure(shardID, 1, 4), onFailure(shardID, 1, 4), onFailure("shardId-000000000009", 0, 1))

	reader, err := kinesis.New(kc, kinesis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Through the Lambda adapter, as the function runs.
	h := lambdaadapter.Handler(errorsink.New(reader, st, errorsink.Options{Logger: quiet}))
	resp, err := h(ctx, lambdaevents.SQSEvent{Records: msgs})
	if err != nil || len(resp.BatchItemFailures) != 0 {
		t.Fatalf("Handle = %+v, %v; want no failures", resp, err)
	}

	page, err := st.ListErrors(ctx, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	type got struct {
		Seq, Key, Payload, Condition string
		Attempts                     int
	}
	var records []got
	var missing []store.ErrorItem
	for _, e := range page.Items {
		if e.PartitionKey == "" {
			missing = append(missing, e)
			continue
		}
		full, err := st.GetError(ctx, e.ID) // the listing previews payloads
		if err != nil {
			t.Fatal(err)
		}
		records = append(records, got{e.SequenceNumber, e.PartitionKey, string(full.Payload), e.Condition, e.Attempts})
	}
	var want []got
	for i, p := range puts[1:5] {
		if i+1 != projected {
			want = append(want, got{p.seq, p.key, string(p.data), "RetryAttemptsExhausted", 4})
		}
	}
	sortBySeq := cmp.Transformer("bySeq", func(in []got) map[string]got {
		m := map[string]got{}
		for _, g := range in {
			m[g.Seq] = g
		}
		return m
	})
	if len(records) != len(want) {
		t.Errorf("%d record items, want %d (one per record, whatever the number of messages)", len(records), len(want))
	}
	if diff := cmp.Diff(want, records, sortBySeq); diff != "" {
		t.Errorf("records read back (-want +got):\n%s", diff)
	}
	if len(missing) != 1 || missing[0].ShardID != "shardId-000000000009" || missing[0].SequenceNumber != puts[0].seq {
		t.Errorf("metadata-only items = %+v, want one for the missing shard", missing)
	}
	// The two failed movie events of the range count as failed for their
	// run; the projected one stays processed, the malformed record counts
	// nowhere.
	r, err := st.GetRun(ctx, run)
	if err != nil || r.Failed != 2 || r.Processed != 1 {
		t.Errorf("run = %+v, %v; want 2 failed, 1 processed", r, err)
	}
}

// viaSQS sends each body to a new queue on moto_server and receives them
// back as Lambda's SQS event source would hand them over.
func viaSQS(ctx context.Context, t *testing.T, c *sqs.Client, queue string, bodies ...string) []lambdaevents.SQSMessage {
	t.Helper()
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(queue)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.DeleteQueue(context.Background(), &sqs.DeleteQueueInput{QueueUrl: q.QueueUrl}) })
	for _, b := range bodies {
		if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	var out []lambdaevents.SQSMessage
	for len(out) < len(bodies) {
		res, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10,
			MessageSystemAttributeNames: []sqstypes.MessageSystemAttributeName{sqstypes.MessageSystemAttributeNameAll}})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range res.Messages {
			out = append(out, lambdaevents.SQSMessage{
				MessageId: aws.ToString(m.MessageId), ReceiptHandle: aws.ToString(m.ReceiptHandle),
				Body: aws.ToString(m.Body), Md5OfBody: aws.ToString(m.MD5OfBody), Attributes: m.Attributes,
				EventSource: "aws:sqs", AWSRegion: awsemu.Region,
			})
		}
	}
	if len(out) != len(bodies) {
		b, _ := json.Marshal(out)
		t.Fatalf("received %s", b)
	}
	return out
}
