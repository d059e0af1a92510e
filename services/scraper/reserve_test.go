package scraper

import (
	"context"
	"testing"
	"time"
)

// TestReserve: the work stops completeBudget before a deadline, halfway to
// a close one, at once past one, and never without one.
func TestReserve(t *testing.T) {
	tests := []struct {
		name string
		left time.Duration // until the deadline; 0: no deadline
		want time.Duration // the work's time; -1: no deadline
	}{
		{"no deadline", 0, -1},
		{"Lambda's 30s", 30 * time.Second, 25 * time.Second},
		{"exactly twice the budget", 2 * completeBudget, completeBudget},
		{"less than twice the budget", 2 * time.Second, time.Second},
		{"already past", -time.Second, -time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			var dl time.Time
			if tc.left != 0 {
				dl = time.Now().Add(tc.left)
				var cancel context.CancelFunc
				ctx, cancel = context.WithDeadline(ctx, dl)
				defer cancel()
			}
			work, cancel := reserve(ctx)
			defer cancel()
			got, ok := work.Deadline()
			switch {
			case tc.want == -1:
				if ok {
					t.Errorf("work deadline %v; want none", got)
				}
			case !ok:
				t.Errorf("no work deadline; want %v before the deadline", tc.left-tc.want)
			default:
				// The budget is reckoned from the time left when reserve
				// runs, a little after dl was set: allow for that.
				if d := dl.Sub(got); (d - (tc.left - tc.want)).Abs() > 50*time.Millisecond {
					t.Errorf("work stops %v before the deadline; want %v", d, tc.left-tc.want)
				}
			}
			if !ok && work.Err() != nil {
				t.Errorf("work context ended without a deadline: %v", work.Err())
			}
		})
	}
}
