package backoff_test

import (
	"context"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/backoff"
)

func TestJitteredStaysUnderItsCeiling(t *testing.T) {
	const base, maxDelay = 10 * time.Millisecond, 80 * time.Millisecond
	for n, ceil := range map[int]time.Duration{1: 10 * time.Millisecond, 2: 20 * time.Millisecond, 3: 40 * time.Millisecond, 4: 80 * time.Millisecond, 9: 80 * time.Millisecond, 1000: 80 * time.Millisecond} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := backoff.Jittered(n, base, maxDelay)
			if d <= 0 || d > ceil {
				t.Fatalf("Jittered(%d) = %v, want in (0, %v]", n, d, ceil)
			}
			seen[d] = true
		}
		if len(seen) < 100 {
			t.Errorf("Jittered(%d): %d distinct waits in 200, want jitter", n, len(seen))
		}
	}
}

func TestSleep(t *testing.T) {
	if !backoff.Sleep(t.Context(), time.Millisecond) {
		t.Error("a short sleep without a deadline did not complete")
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	if backoff.Sleep(ctx, 2*time.Hour) {
		t.Error("a sleep past the deadline was started")
	}
	done, stop := context.WithCancel(t.Context())
	stop()
	if backoff.Sleep(done, time.Hour) {
		t.Error("a sleep on an ended context completed")
	}
}
