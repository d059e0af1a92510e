package esm

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// throttle is a switch a test flips: while on, Options.Throttled reports
// it.
type throttle struct{ on atomic.Bool }

var errNoSpace = errors.New("no space left under the data directory")

func (th *throttle) check() error {
	if th.on.Load() {
		return errNoSpace
	}
	return nil
}

// TestThrottledInvocationsSpendNoRetries: an invocation that fails
// because the function became throttled (the disk filled while it ran) is
// retried without spending MaximumRetryAttempts or bisecting, nothing is
// invoked while the throttle lasts, and the batch is processed once it
// ends: nothing goes to the on-failure destination.
func TestThrottledInvocationsSpendNoRetries(t *testing.T) {
	f := newFixture(t, 1)
	f.publish(t, recs("k", "a", "b", "c")...)
	th := &throttle{}
	r := &recorder{answer: func(call int, ev lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
		if call == 1 {
			th.on.Store(true) // the disk fills during the first invocation
			return lambdaevents.KinesisEventResponse{}, errBoom
		}
		return lambdaevents.KinesisEventResponse{}, nil
	}}
	m := start(t, f, settings(func(s *contract.KinesisMapping) { s.MaximumRetryAttempts = 0 }), r.handle, Options{Throttled: th.check})
	time.Sleep(3 * throttleRecheck)
	if got := len(r.snapshot()); got != 1 {
		t.Errorf("%d invocations while throttled, want only the one that failed", got)
	}
	th.on.Store(false)
	caughtUp(t, m)
	if diff := len(r.snapshot()); diff != 2 {
		t.Errorf("%d invocations, want 2: the failed one, then the whole batch again (no bisection)", diff)
	}
	if calls := r.snapshot(); len(calls[1]) != 3 {
		t.Errorf("second invocation got %v, want the whole batch", calls[1])
	}
	if fs := failures(t, f.queue); len(fs) != 0 {
		t.Errorf("%d batches sent to the on-failure destination, want none", len(fs))
	}
	st, _ := m.Status()
	if st[0].BatchesDone != 1 || st[0].BatchesToOnFailure != 0 {
		t.Errorf("status %+v, want one batch done", st[0])
	}
}

// TestThrottledSQSMappingReceivesNothing: a message is not received (its
// receive count not spent) while the function is throttled.
func TestThrottledSQSMappingReceivesNothing(t *testing.T) {
	q, _ := openQueues(t, 1)
	if err := q.Send(t.Context(), []byte("m")); err != nil {
		t.Fatal(err)
	}
	th := &throttle{}
	th.on.Store(true)
	var got atomic.Int64
	h := func(ctx context.Context, ev lambdaevents.SQSEvent) (lambdaevents.SQSEventResponse, error) {
		got.Add(int64(len(ev.Records)))
		return lambdaevents.SQSEventResponse{}, nil
	}
	m, err := NewSQS(q, contract.ErrorsinkMapping, h, 20*time.Millisecond, Options{Name: "errorsink", Throttled: th.check})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	time.Sleep(3 * throttleRecheck)
	if v, inFlight, _ := q.Depth(); v != 1 || inFlight != 0 || got.Load() != 0 {
		t.Errorf("while throttled: visible %d, in flight %d, delivered %d; want the message untouched", v, inFlight, got.Load())
	}
	th.on.Store(false)
	for deadline := time.Now().Add(10 * time.Second); m.Status().Deleted != 1; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("message not delivered after the throttle: %+v", m.Status())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := m.Status(); st.Invocations != 1 || got.Load() != 1 {
		t.Errorf("status %+v, %d delivered; want one invocation of the one message", st, got.Load())
	}
}
