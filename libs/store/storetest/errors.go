package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu/short"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

func testGetError(t *testing.T, newStore NewStore) {
	s := newStore(t)
	e := errorItem("a", t0)
	expired := errorItem("old", t0)
	expired.ExpiresAt = time.Now().Add(-time.Hour).Truncate(time.Second)
	for _, it := range []store.ErrorItem{e, expired} {
		if err := s.PutError(ctxFor(t), it); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetError(ctxFor(t), "a")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("GetError (-want +got):\n%s", diff)
	}
	for _, id := range []string{"b", "old", "", strings.Repeat("i", 600)} {
		if _, err := s.GetError(ctxFor(t), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetError(%.20q) = %v, want ErrNotFound", id, err)
		}
	}
}

func testListErrorsPreview(t *testing.T, newStore NewStore) {
	s := newStore(t)
	big := errorItem("big", t0.Add(time.Second))
	big.Payload = []byte(strings.Repeat("0123456789", store.MaxPayload/10))
	big.PayloadSize = 1 << 20
	edge := errorItem("edge", t0)
	edge.Payload = []byte(strings.Repeat("x", store.PreviewBytes))
	edge.PayloadSize = store.PreviewBytes
	none := errorItem("none", t0.Add(-time.Second))
	none.Payload, none.PayloadSize = nil, 0
	for _, e := range []store.ErrorItem{big, edge, none} {
		if err := s.PutError(ctxFor(t), e); err != nil {
			t.Fatal(err)
		}
	}
	wantBig := big
	wantBig.Payload = big.Payload[:store.PreviewBytes]
	got, _ := listErrors(t, s, 10)
	if diff := cmp.Diff([]store.ErrorItem{wantBig, edge, none}, got, equate); diff != "" {
		t.Errorf("listing (-want +got):\n%s", diff)
	}
}

// failedRecord is an error item of run-1 whose record was counted as
// failed (FailEvent), as the processor or errorsink leave it.
func failedRecord(t *testing.T, s store.Store, id, eventID string) store.ErrorItem {
	t.Helper()
	e := errorItem(id, t0)
	e.EventID = eventID
	failEvent(t, s, "run-1", store.EventKey(eventID, e.ShardID, e.SequenceNumber), e)
	return e
}

func resolve(t *testing.T, s store.Store, id string, at time.Time) bool {
	t.Helper()
	ok, err := s.ResolveError(ctxFor(t), id, at)
	if err != nil {
		t.Fatalf("ResolveError(%s): %v", id, err)
	}
	return ok
}

func testResolveError(t *testing.T, newStore NewStore) {
	at := t0.Add(time.Hour)
	resolvedItem := func(e store.ErrorItem) store.ErrorItem { e.Resolved = at; return e }

	t.Run("failed record: the count moves to processed", func(t *testing.T) {
		s := newStore(t)
		e := failedRecord(t, s, "a", "ev-a")
		failedRecord(t, s, "b", "ev-b")
		checkCounts(t, s, "run-1", [2]int{0, 2})
		if !resolve(t, s, "a", at) {
			t.Errorf("first ResolveError = false, want true")
		}
		checkCounts(t, s, "run-1", [2]int{1, 1})
		if resolve(t, s, "a", at.Add(time.Hour)) {
			t.Errorf("second ResolveError = true, want false")
		}
		checkCounts(t, s, "run-1", [2]int{1, 1})
		got, err := s.GetError(ctxFor(t), "a")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(resolvedItem(e), got); diff != "" {
			t.Errorf("resolved item (-want +got):\n%s", diff)
		}
		// The record's marker now says processed: counting it again (the
		// redrive's CountEvent) changes nothing.
		if count(t, s, "run-1", "ev-a", store.CounterProcessed) {
			t.Errorf("CountEvent after ResolveError = true, want false")
		}
		checkCounts(t, s, "run-1", [2]int{1, 1})
	})
	t.Run("record without an event id: counted under its place on the stream", func(t *testing.T) {
		s := newStore(t)
		e := failedRecord(t, s, "a", "")
		if !resolve(t, s, e.ID, at) {
			t.Errorf("ResolveError = false, want true")
		}
		checkCounts(t, s, "run-1", [2]int{1, 0})
	})
	t.Run("counted as failed by CountEvent", func(t *testing.T) {
		s := newStore(t)
		e := errorItem("a", t0)
		if err := s.PutError(ctxFor(t), e); err != nil {
			t.Fatal(err)
		}
		count(t, s, "run-1", store.EventKey(e.EventID, e.ShardID, e.SequenceNumber), store.CounterFailed)
		resolve(t, s, "a", at)
		checkCounts(t, s, "run-1", [2]int{1, 0})
	})
	t.Run("record counted as processed: no move", func(t *testing.T) {
		s := newStore(t)
		e := errorItem("a", t0)
		if err := s.PutError(ctxFor(t), e); err != nil {
			t.Fatal(err)
		}
		count(t, s, "run-1", e.EventID, store.CounterProcessed)
		if !resolve(t, s, "a", at) {
			t.Errorf("ResolveError = false, want true")
		}
		checkCounts(t, s, "run-1", [2]int{1, 0})
	})
	t.Run("no marker or no run: only resolved", func(t *testing.T) {
		s := newStore(t)
		noRun := errorItem("b", t0)
		noRun.RunID = ""
		for _, e := range []store.ErrorItem{errorItem("a", t0), noRun} {
			if err := s.PutError(ctxFor(t), e); err != nil {
				t.Fatal(err)
			}
			if !resolve(t, s, e.ID, at) {
				t.Errorf("ResolveError(%s) = false, want true", e.ID)
			}
		}
		if _, err := s.GetRun(ctxFor(t), "run-1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("ResolveError without a marker touched the run: %v", err)
		}
	})
	t.Run("listed, marked, newest first", func(t *testing.T) {
		s := newStore(t)
		a, b := errorItem("a", t0), errorItem("b", t0.Add(time.Second))
		for _, e := range []store.ErrorItem{a, b} {
			if err := s.PutError(ctxFor(t), e); err != nil {
				t.Fatal(err)
			}
		}
		resolve(t, s, "a", at)
		got, _ := listErrors(t, s, 10)
		if diff := cmp.Diff([]store.ErrorItem{b, resolvedItem(a)}, got, equate); diff != "" {
			t.Errorf("listing (-want +got):\n%s", diff)
		}
	})
	t.Run("a redrive that fails again reopens the item, keeping its first failure", func(t *testing.T) {
		s := newStore(t)
		e := failedRecord(t, s, "a", "ev-a")
		resolve(t, s, "a", at)
		again := e
		again.FirstFailure, again.LastFailure, again.Attempts, again.Reason = at, at, 2, "still failing"
		if err := s.PutError(ctxFor(t), again); err != nil {
			t.Fatal(err)
		}
		want := again
		want.FirstFailure = e.FirstFailure
		got, err := s.GetError(ctxFor(t), "a")
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("item after a new failure (-want +got):\n%s", diff)
		}
		if !resolve(t, s, "a", at.Add(time.Hour)) {
			t.Errorf("ResolveError of the reopened item = false, want true")
		}
		checkCounts(t, s, "run-1", [2]int{1, 0})
	})
	t.Run("not found", func(t *testing.T) {
		s := newStore(t)
		expired := errorItem("old", t0)
		expired.ExpiresAt = time.Now().Add(-time.Hour).Truncate(time.Second)
		if err := s.PutError(ctxFor(t), expired); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"missing", "old"} {
			if ok, err := s.ResolveError(ctxFor(t), id, at); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("ResolveError(%s) = %v, %v; want ErrNotFound", id, ok, err)
			}
		}
	})
	t.Run("invalid", func(t *testing.T) {
		s := newStore(t)
		if err := s.PutError(ctxFor(t), errorItem("a", t0)); err != nil {
			t.Fatal(err)
		}
		for _, in := range []struct {
			id string
			at time.Time
		}{{"", at}, {strings.Repeat("i", 600), at}, {"a", time.Time{}}, {"a", time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}} {
			if ok, err := s.ResolveError(ctxFor(t), in.id, in.at); !badInput(err) {
				t.Errorf("ResolveError(%.20q, %v) = %v, %v; want a bad-input error", in.id, in.at, ok, err)
			}
		}
		if got, _ := s.GetError(ctxFor(t), "a"); !got.Resolved.IsZero() {
			t.Errorf("an invalid ResolveError resolved the item")
		}
	})
	t.Run("concurrent: one resolves, the count moves once", func(t *testing.T) {
		s := newStore(t)
		failedRecord(t, s, "a", "ev-a")
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			won  int
			errs []error
		)
		for i := range 6 {
			wg.Go(func() {
				ok, err := s.ResolveError(ctxFor(t), "a", at.Add(time.Duration(i)*time.Second))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				} else if ok {
					won++
				}
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		if won != 1 {
			t.Errorf("%d ResolveError calls returned true, want 1", won)
		}
		checkCounts(t, s, "run-1", [2]int{1, 0})
	})
}

// testResolveErrorOrder runs every order of what a redrive and a late
// redelivery do to a failed record: the counts end the same.
func testResolveErrorOrder(t *testing.T, newStore NewStore) {
	at := t0.Add(time.Hour)
	type op struct {
		name string
		do   func(t *testing.T, s store.Store, e store.ErrorItem)
	}
	ops := []op{
		{"resolve", func(t *testing.T, s store.Store, e store.ErrorItem) { resolve(t, s, e.ID, at) }},
		{"count processed", func(t *testing.T, s store.Store, e store.ErrorItem) {
			count(t, s, "run-1", e.EventID, store.CounterProcessed)
		}},
		{"fail again", func(t *testing.T, s store.Store, e store.ErrorItem) { failEvent(t, s, "run-1", e.EventID, e) }},
		{"resolve again", func(t *testing.T, s store.Store, e store.ErrorItem) { resolve(t, s, e.ID, at) }},
	}
	s := newStore(t) // one store: each order works on its own run-1 event
	for n, perm := range permutations(len(ops)) {
		// -short tries every third order (8 of the 24: each step still
		// comes first and last in some of them).
		if n%3 != 0 && short.On(t) {
			continue
		}
		var names []string
		for _, i := range perm {
			names = append(names, ops[i].name)
		}
		t.Run(strings.Join(names, ", "), func(t *testing.T) {
			e := failedRecord(t, s, fmt.Sprintf("err-%v", perm), fmt.Sprintf("ev-%v", perm))
			before := getRun(t, s, "run-1")
			for _, i := range perm {
				ops[i].do(t, s, e)
			}
			after := getRun(t, s, "run-1")
			if got := [2]int{after.Processed - before.Processed, after.Failed - before.Failed}; got != [2]int{1, -1} {
				t.Errorf("processed, failed moved by %v, want [1 -1]", got)
			}
			if got, err := s.GetError(ctxFor(t), e.ID); err != nil || got.Resolved.IsZero() {
				t.Errorf("item not resolved: %+v, %v", got, err)
			}
		})
	}
}

// permutations returns every order of 0..n-1.
func permutations(n int) [][]int {
	if n == 0 {
		return [][]int{{}}
	}
	var out [][]int
	for _, p := range permutations(n - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int{}, p[:i]...), n-1), p[i:]...)
			out = append(out, q)
		}
	}
	return out
}
