package sqs

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
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

func TestMoveMessagesRedrivesTheDeadLetterQueue(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db := openDB(t)
	dlq, err := Open(db, Options{Name: "dlq", Retention: 4 * time.Hour, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	q, err := Open(db, Options{Name: "q", MaxReceiveCount: 1, DeadLetter: dlq, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	// "old" waits in the dead-letter queue past its retention; m1, m2
	// and m3 die after one receive each; m1 is then received from the
	// dead-letter queue (in flight there) when the move runs.
	if err := dlq.Send(t.Context(), []byte("old")); err != nil {
		t.Fatal(err)
	}
	now = now.Add(5 * time.Hour)
	for _, body := range []string{"m1", "m2", "m3"} {
		if err := q.Send(t.Context(), []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := q.Receive(10, time.Minute); err != nil || len(got) != 3 {
		t.Fatalf("first receive = %+v, %v", got, err)
	}
	now = now.Add(2 * time.Minute)
	if got, err := q.Receive(10, time.Minute); err != nil || len(got) != 0 {
		t.Fatalf("second receive = %+v, %v; want all three moved to the dead-letter queue", got, err)
	}
	inDLQ, err := dlq.Receive(1, time.Hour)
	if err != nil || len(inDLQ) != 1 || inDLQ[0].Body != "m1" {
		t.Fatalf("dead-letter receive = %+v, %v; want m1 (old is past retention)", inDLQ, err)
	}
	var dead []Message // ids before the move
	if err := db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(dlq.bucket).ForEach(func(_, v []byte) error {
			var m Message
			err := json.Unmarshal(v, &m)
			dead = append(dead, m)
			return err
		})
	}); err != nil {
		t.Fatal(err)
	}

	moved, err := dlq.MoveMessages(t.Context(), q)
	if err != nil || moved != 2 {
		t.Fatalf("MoveMessages = %d, %v; want 2 (m1 is in flight)", moved, err)
	}
	if moved, err := dlq.MoveMessages(t.Context(), q); err != nil || moved != 0 {
		t.Errorf("second MoveMessages = %d, %v; want 0", moved, err)
	}
	if v, f, _ := dlq.Depth(); v != 0 || f != 1 {
		t.Errorf("dead-letter queue depth = %d visible, %d in flight; want m1 in flight and old dropped", v, f)
	}
	got, err := q.Receive(10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var bodies []string
	ids := map[string]bool{}
	for _, m := range dead {
		ids[m.ID] = true
	}
	for _, m := range got {
		bodies = append(bodies, m.Body)
		if m.ReceiveCount != 1 || !m.SentAt.Equal(now) || ids[m.ID] {
			t.Errorf("moved message %+v: want a new id, sent now, received once", m)
		}
	}
	if want := []string{"m2", "m3"}; cmp.Diff(want, bodies) != "" {
		t.Errorf("moved bodies (-want +got):\n%s", cmp.Diff(want, bodies))
	}
	// The redrive policy applies afresh: one more receive, then back to
	// the dead-letter queue.
	now = now.Add(2 * time.Minute)
	if got, _ := q.Receive(10, time.Minute); len(got) != 0 {
		t.Errorf("receive past MaxReceiveCount = %+v, want none", got)
	}
	if v, _, _ := dlq.Depth(); v != 2 {
		t.Errorf("dead-letter queue holds %d visible messages, want the 2 moved back", v)
	}
}

func TestMoveMessagesRefusesAnotherDatabaseOrItself(t *testing.T) {
	db := openDB(t)
	dlq, err := Open(db, Options{Name: "dlq"})
	if err != nil {
		t.Fatal(err)
	}
	same, err := Open(db, Options{Name: "dlq"})
	if err != nil {
		t.Fatal(err)
	}
	other, err := Open(openDB(t), Options{Name: "q"})
	if err != nil {
		t.Fatal(err)
	}
	for name, dest := range map[string]*Queue{"itself": dlq, "itself opened twice": same, "another database": other, "nil": nil} {
		if _, err := dlq.MoveMessages(t.Context(), dest); err == nil {
			t.Errorf("MoveMessages to %s succeeded", name)
		}
	}
}
