package replay

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// meter counts a replay's progress for the progress lines: the events
// applied (lanes add), and the archive bytes read through and to read
// (Scan's progress, the listing).
type meter struct {
	start time.Time
	// events are the records applied.
	events atomic.Int64
	// read are the stored bytes of the objects read through; total the
	// stored bytes of every object to read, -1 until the listing is done.
	read, total atomic.Int64
}

func newMeter(now time.Time) *meter {
	m := &meter{start: now}
	m.total.Store(-1)
	return m
}

// line returns a progress line at now, with the rate since the previous
// line (events then, at prev).
func (m *meter) line(now, prev time.Time, prevEvents int64) string {
	events := m.events.Load()
	rate := float64(events-prevEvents) / max(now.Sub(prev).Seconds(), 1e-9)
	s := fmt.Sprintf("replay: %s events, %s events/s", thousands(events), thousands(int64(rate)))
	read, total := m.read.Load(), m.total.Load()
	switch {
	case total < 0:
		s += fmt.Sprintf(", %s read (listing the archive…)", bytesString(read))
	case total == 0:
	default:
		s += fmt.Sprintf(", %s of %s (%d%%)", bytesString(read), bytesString(total), min(100, read*100/total))
		elapsed := now.Sub(m.start)
		if read > 0 && read < total {
			eta := time.Duration(float64(elapsed) * float64(total-read) / float64(read))
			s += ", ETA " + eta.Round(time.Second).String()
		}
	}
	return s
}

// report prints a line to w every interval until stop is closed.
func (m *meter) report(w io.Writer, every time.Duration, stop <-chan struct{}) {
	t := time.NewTicker(every)
	defer t.Stop()
	prev, prevEvents := m.start, int64(0)
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			fmt.Fprintln(w, m.line(now, prev, prevEvents))
			prev, prevEvents = now, m.events.Load()
		}
	}
}

// thousands formats n with comma separators: 1,234,567.
func thousands(n int64) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// bytesString formats a size in binary units: 512 B, 1.5 MiB.
func bytesString(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
