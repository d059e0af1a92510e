package esm

import (
	"testing"
	"time"
)

// TestBackoff: retry n waits at most Backoff doubled n-1 times, capped at
// MaxBackoff (the jitter below that bound is libs/backoff's, tested there).
func TestBackoff(t *testing.T) {
	m := &Kinesis{opts: Options{Backoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond}}
	m.opts.defaults()
	for n, bound := range map[int]time.Duration{1: 10 * time.Millisecond, 2: 20 * time.Millisecond, 3: 40 * time.Millisecond, 30: 40 * time.Millisecond} {
		for range 100 {
			if d := m.backoff(n); d <= 0 || d > bound {
				t.Fatalf("backoff(%d) = %v, want in (0, %v]", n, d, bound)
			}
		}
	}
}

// TestOptionsDefaultsKeepBackoffPositive: a zero, negative or inverted
// backoff setting cannot make the mapping's retry wait zero or panic.
func TestOptionsDefaultsKeepBackoffPositive(t *testing.T) {
	for _, o := range []Options{{}, {Backoff: -1, MaxBackoff: -1}, {Backoff: time.Second, MaxBackoff: time.Millisecond}} {
		o.defaults()
		if o.Backoff <= 0 || o.MaxBackoff < o.Backoff {
			t.Errorf("defaults: Backoff %v, MaxBackoff %v; want 0 < Backoff <= MaxBackoff", o.Backoff, o.MaxBackoff)
		}
	}
}
