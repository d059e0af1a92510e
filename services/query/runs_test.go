package query

import (
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
)

// examining is a store whose ListRuns examines at most k runs per call,
// as the real stores do past layout.MaxRunsExamined (2000): with a status
// filter a page comes back short, even empty, with a Next. It reads the
// unfiltered listing one run at a time, so its tokens stay exact.
type examining struct {
	store.Store
	k     int
	calls atomic.Int32
}

func (s *examining) ListRuns(ctx context.Context, f store.RunFilter, limit int, token store.PageToken) (store.Page[store.Run], error) {
	s.calls.Add(1)
	page := store.Page[store.Run]{Next: token}
	for range s.k {
		p, err := s.Store.ListRuns(ctx, store.RunFilter{}, 1, page.Next)
		if err != nil {
			return store.Page[store.Run]{}, err
		}
		page.Next = p.Next
		for _, r := range p.Items {
			if f.Status == "" || r.Status() == f.Status {
				page.Items = append(page.Items, r)
			}
		}
		if len(page.Items) == limit || page.Next == nil {
			break
		}
	}
	return page, nil
}

// TestListRunsFillsPages checks that GET /runs reads on, within
// maxRunReads store calls, to fill a page that a status filter left short,
// and that the pages it answers hold every run of that status once, in
// order.
func TestListRunsFillsPages(t *testing.T) {
	ctx := context.Background()
	mem := embedded.NewMemory()
	const n = 30
	var all, failed []string
	for i := range n {
		at := base.Add(-time.Duration(i) * time.Minute)
		r := store.Run{ID: fmt.Sprintf("run-%02d", i), Source: source, StartedAt: at, FinishedAt: at.Add(time.Second)}
		if i%6 == 0 {
			r.Error = "fetch: 503"
			failed = append(failed, r.ID)
		}
		if err := mem.StartRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		if err := mem.CompleteRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		all = append(all, r.ID)
	}
	st := &examining{Store: mem, k: 4} // 16 runs per request at most
	h := newTestHandler(t, st)

	tests := []struct {
		target    string
		want      []string // the first page
		calls     int32
		hasCursor bool
	}{
		// Run 0 in the first call (runs 0-3), run 6 in the second.
		{"/runs?status=failed&limit=2", []string{"run-00", "run-06"}, 2, true},
		// Runs 0-15 in four calls, then the bound.
		{"/runs?status=failed&limit=5", []string{"run-00", "run-06", "run-12"}, maxRunReads, true},
		// None among the first 16: an empty page that says to go on.
		{"/runs?status=running", []string{}, maxRunReads, true},
		// Unfiltered pages are full.
		{"/runs?limit=10", all[:10], 3, true},
		{"/runs?limit=3", all[:3], 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			st.calls.Store(0)
			rec := serve(h, "GET", tt.target)
			checkJSON(t, rec, 200)
			var b listBody
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, it := range b.Items {
				got = append(got, it["id"].(string))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("first page (-want +got):\n%s", diff)
			}
			if c := st.calls.Load(); c != tt.calls {
				t.Errorf("%d store calls, want %d", c, tt.calls)
			}
			if (b.NextCursor != nil) != tt.hasCursor {
				t.Errorf("nextCursor %v, want one: %v", b.NextCursor, tt.hasCursor)
			}
		})
	}
	for _, tt := range []struct {
		target string
		limit  int
		want   []string
	}{
		{"/runs?status=failed&limit=2", 2, failed},
		{"/runs?status=failed&limit=5", 5, failed},
		{"/runs?status=running&limit=5", 5, nil},
		{"/runs?limit=7", 7, all},
	} {
		if diff := cmp.Diff(tt.want, flatten(walk(t, h, tt.target, tt.limit))); diff != "" {
			t.Errorf("%s, every page (-want +got):\n%s", tt.target, diff)
		}
	}
}
