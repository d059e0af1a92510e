package boot_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// errorsinkFixture puts two records on a kinesis-mock stream (the batch
// the processor's mapping gave up on) and returns the tables, the
// errorsink's environment, the recorded on-failure message filled with the
// records' shard and sequence range, and the records' sequence numbers and
// partition keys.
func errorsinkFixture(t testing.TB) (backend tablesBackend, payload []byte, streamARN string, seqs, keys []string) {
	t.Helper()
	ctx := context.Background()
	endpoints := awsemu.All(t)
	backend = newTables(t, endpoints)

	// The batch the processor's mapping gave up on: two records on a
	// stream of kinesis-mock.
	kcfg := awsemu.Kinesis(t)
	streamName := awsemu.Name(t, "events")
	awsemu.CreateStream(t, kcfg, streamName, 1)
	kc := kinesis.NewFromConfig(kcfg)
	records := []struct{ key, file string }{
		{"run-20261127-042000-3f9a2c1b", "scrape.started.v1.json"},
		{"the-godfather-1972", "movie.observed.v1.json"},
	}
	var shard string
	for _, r := range records {
		data, err := os.ReadFile(filepath.Join("..", "..", "..", "libs", "events", "testdata", "golden", r.file))
		if err != nil {
			t.Fatal(err)
		}
		out, err := kc.PutRecord(ctx, &kinesis.PutRecordInput{
			StreamName: aws.String(streamName), PartitionKey: aws.String(r.key), Data: data,
		})
		if err != nil {
			t.Fatal(err)
		}
		shard = aws.ToString(out.ShardId)
		seqs = append(seqs, aws.ToString(out.SequenceNumber))
		keys = append(keys, r.key)
	}
	sum, err := kc.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(streamName)})
	if err != nil {
		t.Fatal(err)
	}
	streamARN = aws.ToString(sum.StreamDescriptionSummary.StreamARN)
	payload = []byte(strings.NewReplacer(
		"{{STREAM_ARN}}", streamARN, "{{SHARD_ID}}", shard,
		"{{START_SEQ}}", seqs[0], "{{END_SEQ}}", seqs[len(seqs)-1],
	).Replace(string(event(t, "errorsink-sqs.json"))))
	return backend, payload, streamARN, seqs, keys
}

func TestBootErrorsink(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	backend, payload, streamARN, seqs, keys := errorsinkFixture(t)
	e := boot(t, "errorsink", backend.Env)
	inv := invokePayload(t, e, "errorsink-sqs.json", payload)
	var resp events.SQSEventResponse
	if err := json.Unmarshal(inv.Payload, &resp); err != nil {
		t.Fatalf("response %q: %v", inv.Payload, err)
	}
	if len(resp.BatchItemFailures) != 0 {
		t.Errorf("batch item failures %+v, want none", resp.BatchItemFailures)
	}

	page, err := backend.Store.ListErrors(ctx, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	type item struct {
		Stage          store.Stage
		SequenceNumber string
		PartitionKey   string
		StreamARN      string
		Condition      string
		Attempts       int
	}
	var got []item
	for _, it := range page.Items {
		got = append(got, item{it.Stage, it.SequenceNumber, it.PartitionKey, it.StreamARN, it.Condition, it.Attempts})
	}
	slices.SortFunc(got, func(a, b item) int { return strings.Compare(a.SequenceNumber, b.SequenceNumber) })
	var want []item
	for i := range seqs {
		want = append(want, item{store.StageRetriesExhausted, seqs[i], keys[i], streamARN, "RetryAttemptsExhausted", 4})
	}
	slices.SortFunc(want, func(a, b item) int { return strings.Compare(a.SequenceNumber, b.SequenceNumber) })
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("error items (-want +got):\n%s", diff)
	}
	// The handler's lines are Lambda's JSON, tied to the invocation.
	line, ok := logLine(e.Output(), "discarded batch stored in errors")
	if !ok {
		t.Fatal("no JSON log line for the discarded batch")
	}
	if line["requestId"] != inv.RequestID || line["level"] != "INFO" || line["records"] != float64(len(seqs)) {
		t.Errorf("log line %v: want level INFO, requestId %q and %d records", line, inv.RequestID, len(seqs))
	}
}
