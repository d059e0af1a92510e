package boot_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
)

// processorFixture creates the tables and returns them, the processor's
// environment and a recorded Kinesis batch.
func processorFixture(tb testing.TB) (tablesBackend, []byte) {
	tb.Helper()
	return newTables(tb, motoEndpoints(tb)), event(tb, "processor-kinesis.json")
}

func TestBootProcessor(t *testing.T) {
	t.Parallel()
	backend, _ := processorFixture(t)
	e := boot(t, "processor", backend.Env)
	inv := invoke(t, e, "processor-kinesis.json")
	var resp events.KinesisEventResponse
	if err := json.Unmarshal(inv.Payload, &resp); err != nil {
		t.Fatalf("response %q: %v", inv.Payload, err)
	}
	// The unknown schema version is a permanent failure: stored in errors,
	// not reported, so the shard moves on.
	if len(resp.BatchItemFailures) != 0 {
		t.Errorf("batch item failures %+v, want none", resp.BatchItemFailures)
	}
	ctx := context.Background()
	m, err := backend.Store.GetMovie(ctx, godfather.ID)
	if err != nil {
		t.Fatalf("movie not projected: %v", err)
	}
	got := struct {
		Title, LastEventID string
		Year               int
	}{m.Title, m.LastEventID, m.Year}
	want := struct {
		Title, LastEventID string
		Year               int
	}{godfather.Title, godfather.LastEventID, godfather.Year}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("projected movie (-want +got):\n%s", diff)
	}
	errs, err := backend.Store.ListErrors(ctx, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs.Items) != 1 {
		t.Errorf("%d error items, want 1 (the unknown version): %+v", len(errs.Items), errs.Items)
	}
	// The handler's lines are Lambda's JSON, tied to the invocation.
	line, ok := logLine(e.Output(), "permanent failure stored in errors")
	if !ok {
		t.Fatal("no JSON log line for the permanent failure")
	}
	if line["requestId"] != inv.RequestID || line["level"] != "WARN" || line["event_id"] == nil {
		t.Errorf("log line %v: want level WARN, requestId %q and the event id", line, inv.RequestID)
	}
}
