package awsbackend

import (
	"sync"
	"time"
)

// poller hands out channels closed by a timer, or earlier by wake: the
// Notify of a backend whose service cannot push. It needs no goroutine and
// no Close: each channel's timer fires once.
type poller struct {
	every time.Duration

	mu sync.Mutex
	ch chan struct{}
}

func newPoller(every time.Duration) *poller { return &poller{every: every} }

// C returns a channel closed at the next tick or wake; callers waiting at
// the same time share it.
func (p *poller) C() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch == nil {
		ch := make(chan struct{})
		p.ch = ch
		time.AfterFunc(p.every, func() { p.close(ch) })
	}
	return p.ch
}

// wake closes the current channel now: something was appended through this
// process.
func (p *poller) wake() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch != nil {
		close(p.ch)
		p.ch = nil
	}
}

// close closes ch if it is still the current channel (wake may have closed
// it already).
func (p *poller) close(ch chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ch == ch {
		close(ch)
		p.ch = nil
	}
}
