package boot_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

// archiverFixture is the archiver's recorded Firehose batch (a copy of
// services/archiver's, checked below): the function needs no environment.
func archiverFixture(tb testing.TB) (map[string]string, []byte) {
	tb.Helper()
	return nil, event(tb, "archiver-firehose.json")
}

// TestBootArchiver sends the archiver, booted as Firehose invokes it, a
// recorded Kinesis-sourced batch and holds its answer to the handler's own
// golden response in services/archiver: the deployed bootstrap transforms
// exactly as the tested handler does.
func TestBootArchiver(t *testing.T) {
	t.Parallel()
	env, payload := archiverFixture(t)
	service := filepath.Join(repoRoot(t), "services", "archiver", "testdata")
	recorded, err := os.ReadFile(filepath.Join(service, "firehose-event.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(recorded) != string(payload) {
		t.Fatal("testdata/events/archiver-firehose.json differs from services/archiver/testdata/firehose-event.json: copy it again")
	}
	golden, err := os.ReadFile(filepath.Join(service, "firehose-response.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want events.KinesisFirehoseResponse
	if err := json.Unmarshal(golden, &want); err != nil {
		t.Fatal(err)
	}

	e := boot(t, "archiver", env)
	inv := invokePayload(t, e, "archiver-firehose.json", payload)
	var got events.KinesisFirehoseResponse
	if err := json.Unmarshal(inv.Payload, &got); err != nil {
		t.Fatalf("response %q: %v", inv.Payload, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-golden +bootstrap):\n%s", diff)
	}
	var ev events.KinesisFirehoseEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatal(err)
	}
	// The handler's lines are Lambda's JSON, tied to the invocation.
	line, ok := logLine(e.Output(), "batch transformed")
	if !ok {
		t.Fatal("no JSON log line for the batch")
	}
	if line["requestId"] != inv.RequestID || line["level"] != "INFO" || line["records"] != float64(len(ev.Records)) ||
		line["delivery_stream_arn"] != ev.DeliveryStreamArn {
		t.Errorf("log line %v: want level INFO, requestId %q, %d records, stream %s", line, inv.RequestID, len(ev.Records), ev.DeliveryStreamArn)
	}
}
