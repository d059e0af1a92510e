// Package backoff holds the two pieces the project's retry loops share:
// how long to wait before the next attempt, and a wait that never
// outlives the caller's context.
package backoff

import (
	"context"
	"math/rand/v2"
	"time"
)

// Jittered returns the wait before retry n (n >= 1): full jitter, uniform in
// (0, ceiling], over a ceiling of base doubled per retry and capped at maxDelay
// ("Exponential Backoff And Jitter", AWS Architecture Blog).
func Jittered(n int, base, maxDelay time.Duration) time.Duration {
	ceil := base
	for i := 1; i < n && ceil < maxDelay; i++ {
		ceil *= 2
	}
	ceil = min(ceil, maxDelay)
	return time.Duration(rand.Int64N(int64(ceil)) + 1)
}

// Sleep waits d unless ctx ends first or its deadline is closer than d (a
// wait that could only end past the deadline is not started); it reports
// whether the full wait happened.
func Sleep(ctx context.Context, d time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) <= d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
