package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// listRuns walks every page of the runs listing.
func listRuns(t *testing.T, s store.Store, f store.RunFilter, limit int) ([]store.Run, int) {
	t.Helper()
	return walk(t, fmt.Sprintf("ListRuns(%+v, %d)", f, limit), limit, true, func(token store.PageToken) (store.Page[store.Run], error) {
		return s.ListRuns(ctxFor(t), f, limit, token)
	})
}

func runIDs(rs []store.Run) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func testListRuns(t *testing.T, newStore NewStore) {
	s := newStore(t)
	ctx := ctxFor(t)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	start := func(id string, started time.Time, trigger string) {
		t.Helper()
		if err := s.StartRun(ctx, store.Run{ID: id, Source: "https://example.com/chart", StartedAt: started, Trigger: trigger}); err != nil {
			t.Fatal(err)
		}
	}
	complete := func(id string, published int, unchanged bool, errText string) {
		t.Helper()
		r := getRun(t, s, id)
		r.FinishedAt, r.Published, r.Unchanged, r.Error = r.StartedAt.Add(time.Second), published, unchanged, errText
		if err := s.CompleteRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// Statuses, newest first: r7 running, r6 completed, r5 failed, r4
	// unchanged, r3 and r3b (same start, ordered by id) running and
	// completed, r2 running (progress behind), r1 completed.
	start("r1", at(1), store.TriggerAPI)
	complete("r1", 0, false, "")
	start("r2", at(2), store.TriggerSchedule)
	complete("r2", 2, false, "")
	count(t, s, "r2", "e1", store.CounterProcessed)
	start("r3", at(3), store.TriggerAPI)
	start("r3b", at(3), store.TriggerAPI)
	complete("r3b", 1, false, "")
	count(t, s, "r3b", "e1", store.CounterFailed)
	start("r4", at(4), store.TriggerSchedule)
	complete("r4", 0, true, "")
	start("r5", at(5), store.TriggerSchedule)
	complete("r5", 0, false, "fetch: 503")
	// r6 was completed before it was started (events out of order).
	if err := s.CompleteRun(ctx, store.Run{ID: "r6", Source: "s", StartedAt: at(6), Trigger: store.TriggerAPI,
		FinishedAt: at(6).Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	start("r6", at(6), store.TriggerSchedule) // changes nothing
	start("r7", at(7), "")
	// r8 only has progress: no start time yet, so not listed.
	count(t, s, "r8", "e1", store.CounterProcessed)

	tests := []struct {
		name      string
		f         store.RunFilter
		limit     int
		want      []string
		wantPages int
	}{
		{"all, limit 1", store.RunFilter{}, 1, []string{"r7", "r6", "r5", "r4", "r3b", "r3", "r2", "r1"}, 8},
		{"all, limit 3", store.RunFilter{}, 3, []string{"r7", "r6", "r5", "r4", "r3b", "r3", "r2", "r1"}, 3},
		{"all, limit 8", store.RunFilter{}, 8, []string{"r7", "r6", "r5", "r4", "r3b", "r3", "r2", "r1"}, 1},
		{"running", store.RunFilter{Status: store.RunRunning}, 2, []string{"r7", "r3", "r2"}, 2},
		{"completed", store.RunFilter{Status: store.RunCompleted}, 10, []string{"r6", "r3b", "r1"}, 1},
		{"completed, limit 1", store.RunFilter{Status: store.RunCompleted}, 1, []string{"r6", "r3b", "r1"}, 3},
		{"failed", store.RunFilter{Status: store.RunFailed}, 10, []string{"r5"}, 1},
		{"unchanged", store.RunFilter{Status: store.RunUnchanged}, 10, []string{"r4"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, pages := listRuns(t, s, tt.f, tt.limit)
			if diff := cmp.Diff(tt.want, runIDs(got)); diff != "" {
				t.Errorf("runs (-want +got):\n%s", diff)
			}
			if pages != tt.wantPages {
				t.Errorf("%d pages, want %d", pages, tt.wantPages)
			}
			for _, r := range got {
				if diff := cmp.Diff(getRun(t, s, r.ID), r); diff != "" {
					t.Errorf("listed run %s differs from GetRun (-get +listed):\n%s", r.ID, diff)
				}
				if tt.f.Status != "" && r.Status() != tt.f.Status {
					t.Errorf("run %s has status %s, filter %s", r.ID, r.Status(), tt.f.Status)
				}
			}
		})
	}
	t.Run("triggers", func(t *testing.T) {
		want := map[string]string{"r1": store.TriggerAPI, "r2": store.TriggerSchedule, "r6": store.TriggerAPI, "r7": "", "r8": ""}
		got := map[string]string{}
		for id := range want {
			got[id] = getRun(t, s, id).Trigger
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("triggers (-want +got):\n%s", diff)
		}
	})
	t.Run("listed once started", func(t *testing.T) {
		s := newStore(t)
		count(t, s, "r1", "e1", store.CounterProcessed)
		if got, _ := listRuns(t, s, store.RunFilter{}, 10); len(got) != 0 {
			t.Errorf("a run without a start time is listed: %v", runIDs(got))
		}
		if err := s.StartRun(ctxFor(t), store.Run{ID: "r1", Source: "s", StartedAt: t0, Trigger: store.TriggerSchedule}); err != nil {
			t.Fatal(err)
		}
		got, _ := listRuns(t, s, store.RunFilter{}, 10)
		want := []store.Run{{ID: "r1", Source: "s", StartedAt: t0, Trigger: store.TriggerSchedule, Processed: 1}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("runs (-want +got):\n%s", diff)
		}
	})
	t.Run("tokens and invalid input", func(t *testing.T) {
		p, err := s.ListRuns(ctx, store.RunFilter{Status: store.RunCompleted}, 1, nil)
		if err != nil || p.Next == nil {
			t.Fatalf("ListRuns: next %q, %v", p.Next, err)
		}
		all, err := s.ListRuns(ctx, store.RunFilter{}, 1, nil)
		if err != nil || all.Next == nil {
			t.Fatalf("ListRuns: next %q, %v", all.Next, err)
		}
		for name, in := range map[string]struct {
			f   store.RunFilter
			tok store.PageToken
		}{
			"token of another status": {store.RunFilter{Status: store.RunRunning}, p.Next},
			"unfiltered token":        {store.RunFilter{Status: store.RunCompleted}, all.Next},
			"garbage":                 {store.RunFilter{}, store.PageToken("garbage")},
		} {
			if _, err := s.ListRuns(ctx, in.f, 1, in.tok); !errors.Is(err, store.ErrBadToken) || !badInput(err) {
				t.Errorf("%s: ListRuns = %v, want ErrBadToken and ErrInvalid", name, err)
			}
		}
		for _, in := range []struct {
			f     store.RunFilter
			limit int
		}{{store.RunFilter{Status: "bogus"}, 10}, {store.RunFilter{}, 0}, {store.RunFilter{}, -1}} {
			if _, err := s.ListRuns(ctx, in.f, in.limit, nil); !badInput(err) {
				t.Errorf("ListRuns(%+v, %d) = %v, want a bad-input error", in.f, in.limit, err)
			}
		}
		if err := s.StartRun(ctx, store.Run{ID: "r9", Trigger: "\xff"}); !badInput(err) {
			t.Errorf("StartRun with a trigger that is not UTF-8 = %v, want a bad-input error", err)
		}
	})
	t.Run("empty store", func(t *testing.T) {
		p, err := newStore(t).ListRuns(ctxFor(t), store.RunFilter{}, 10, nil)
		if err != nil || len(p.Items) != 0 || p.Next != nil {
			t.Errorf("ListRuns = %d items, next %q, %v", len(p.Items), p.Next, err)
		}
	})
}
