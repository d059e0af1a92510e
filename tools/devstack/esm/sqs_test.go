package esm

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	bolt "go.etcd.io/bbolt"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/sqs"
)

func openQueues(t *testing.T, maxReceive int) (*sqs.Queue, *sqs.Queue) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "q.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	dlq, err := sqs.Open(db, sqs.Options{Name: "dlq"})
	if err != nil {
		t.Fatal(err)
	}
	q, err := sqs.Open(db, sqs.Options{Name: "onfailure", MaxReceiveCount: maxReceive, DeadLetter: dlq})
	if err != nil {
		t.Fatal(err)
	}
	return q, dlq
}

func TestSQSPartialBatchAndRedelivery(t *testing.T) {
	q, dlq := openQueues(t, 3)
	for _, b := range []string{"ok-1", "flaky", "ok-2", "poison"} {
		if err := q.Send(t.Context(), []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string][]string{} // body -> ApproximateReceiveCount of each delivery
	h := func(ctx context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
		var resp lambdaevents.SQSEventResponse
		mu.Lock()
		defer mu.Unlock()
		for _, m := range ev.Records {
			if m.EventSource != "aws:sqs" || m.EventSourceARN != q.ARN() || m.Md5OfBody != sqs.MD5OfBody(m.Body) {
				t.Errorf("message shape: %+v", m)
			}
			seen[m.Body] = append(seen[m.Body], m.Attributes["ApproximateReceiveCount"])
			if m.Body == "poison" || (m.Body == "flaky" && len(seen["flaky"]) == 1) {
				resp.BatchItemFailures = append(resp.BatchItemFailures, lambdaevents.SQSBatchItemFailure{ItemIdentifier: m.MessageId})
			}
		}
		return resp, nil
	}
	set := contract.ErrorsinkMapping
	m, err := NewSQS(q, set, h, 20*time.Millisecond, Options{Name: "errorsink"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		v, f, _ := q.Depth()
		dv, _, _ := dlq.Depth()
		if v+f == 0 && dv == 1 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"ok-1": 1, "ok-2": 1, "flaky": 2, "poison": 3}
	for body, n := range want {
		if len(seen[body]) != n {
			t.Errorf("%s delivered %d times (%v), want %d", body, len(seen[body]), seen[body], n)
		}
	}
	if got := seen["poison"]; len(got) == 3 && (got[0] != "1" || got[2] != "3") {
		t.Errorf("ApproximateReceiveCount of poison = %v", got)
	}
	if dv, _, _ := dlq.Depth(); dv != 1 {
		t.Errorf("dead-letter queue depth = %d, want 1 (poison)", dv)
	}
}

func TestSQSUnknownIdentifierFailsWholeBatch(t *testing.T) {
	q, _ := openQueues(t, 0)
	for _, b := range []string{"a", "b"} {
		if err := q.Send(t.Context(), []byte(b)); err != nil {
			t.Fatal(err)
		}
	}
	h := func(ctx context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
		return lambdaevents.SQSEventResponse{BatchItemFailures: []lambdaevents.SQSBatchItemFailure{{ItemIdentifier: "nope"}}}, nil
	}
	m, err := NewSQS(q, contract.ErrorsinkMapping, h, time.Hour, Options{Name: "errorsink"})
	if err != nil {
		t.Fatal(err)
	}
	msgs, err := q.Receive(10, time.Hour)
	if err != nil || len(msgs) != 2 {
		t.Fatal(msgs, err)
	}
	m.Deliver(t.Context(), msgs)
	if _, inFlight, _ := q.Depth(); inFlight != 2 {
		t.Errorf("in flight = %d, want both messages kept", inFlight)
	}
}
