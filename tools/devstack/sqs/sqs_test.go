package sqs

import (
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openDB(t *testing.T) *bolt.DB {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "q.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestVisibilityRedeliveryAndRedrive(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db := openDB(t)
	dlq, err := Open(db, Options{Name: "dlq", Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	q, err := Open(db, Options{Name: "q", MaxReceiveCount: 2, DeadLetter: dlq, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Send(t.Context(), []byte("m")); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		got, err := q.Receive(10, time.Minute)
		if err != nil || len(got) != 1 || got[0].ReceiveCount != i {
			t.Fatalf("receive %d = %+v, %v", i, got, err)
		}
		if again, _ := q.Receive(10, time.Minute); len(again) != 0 {
			t.Fatalf("message visible during its visibility timeout: %+v", again)
		}
		if v, f, _ := q.Depth(); v != 0 || f != 1 {
			t.Errorf("depth = %d visible, %d in flight", v, f)
		}
		now = now.Add(time.Minute + time.Second)
	}
	// Received twice (MaxReceiveCount): the third receive moves it.
	if got, err := q.Receive(10, time.Minute); err != nil || len(got) != 0 {
		t.Fatalf("third receive = %+v, %v; want it moved to the dead-letter queue", got, err)
	}
	if v, f, _ := q.Depth(); v+f != 0 {
		t.Errorf("queue depth %d+%d, want empty", v, f)
	}
	dead, err := dlq.Receive(10, time.Minute)
	if err != nil || len(dead) != 1 || dead[0].Body != "m" || dead[0].ReceiveCount != 1 {
		t.Fatalf("dead-letter queue = %+v, %v", dead, err)
	}
}

func TestDeleteNeedsTheLatestReceipt(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	q, err := Open(openDB(t), Options{Name: "q", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Send(t.Context(), []byte("m")); err != nil {
		t.Fatal(err)
	}
	first, _ := q.Receive(1, time.Second)
	now = now.Add(2 * time.Second)
	second, _ := q.Receive(1, time.Second)
	if err := q.Delete(first[0].ReceiptHandle); err != ErrStaleReceipt {
		t.Errorf("delete with a stale receipt = %v, want ErrStaleReceipt", err)
	}
	if err := q.Delete(second[0].ReceiptHandle); err != nil {
		t.Errorf("delete with the latest receipt: %v", err)
	}
	for _, rh := range []string{"", "x", "1:2", "a:b:c"} {
		if err := q.Delete(rh); err == nil {
			t.Errorf("Delete(%q) succeeded", rh)
		}
	}
}

func TestRetentionAndLimits(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	q, err := Open(openDB(t), Options{Name: "q", Retention: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Send(t.Context(), nil); err == nil {
		t.Error("empty message accepted")
	}
	if err := q.Send(t.Context(), make([]byte, MaxBodySize+1)); err == nil {
		t.Error("oversized message accepted")
	}
	if err := q.Send(t.Context(), []byte("old")); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Hour)
	if got, _ := q.Receive(10, time.Minute); len(got) != 0 {
		t.Errorf("message past retention delivered: %+v", got)
	}
}

func TestDeadLetterMustShareTheDatabase(t *testing.T) {
	dlq, err := Open(openDB(t), Options{Name: "dlq"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(openDB(t), Options{Name: "q", MaxReceiveCount: 1, DeadLetter: dlq}); err == nil {
		t.Error("a dead-letter queue in another database was accepted")
	}
}
