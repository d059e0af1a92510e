package awsbackend

import (
	"testing"
	"time"
)

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func TestPollerTicksAndWakes(t *testing.T) {
	p := newPoller(20 * time.Millisecond)
	a, b := p.C(), p.C()
	if a != b {
		t.Error("two waiters at once got different channels")
	}
	if closed(a) {
		t.Fatal("channel closed before its tick")
	}
	select {
	case <-a:
	case <-time.After(5 * time.Second):
		t.Fatal("channel not closed by its tick")
	}
	c := p.C()
	if c == a || closed(c) {
		t.Fatal("after a tick C returned the closed channel")
	}
	p.wake()
	if !closed(c) {
		t.Error("wake did not close the current channel")
	}
	p.wake() // nothing to close: must not panic
	d := p.C()
	if closed(d) {
		t.Error("channel after a wake is closed already")
	}
	select {
	case <-d:
	case <-time.After(5 * time.Second):
		t.Fatal("channel after a wake never ticks")
	}
}
