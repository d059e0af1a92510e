package main

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// TestSchedule: with --schedule and a drifting sample site, devstack
// scrapes by itself, every run recorded with trigger schedule; when the
// lease is held, a scheduled scrape is skipped and logged at info.
func TestSchedule(t *testing.T) {
	t.Parallel() // mostly waiting for the schedule's ticks
	cfg := testConfig(t.TempDir())
	cfg.Schedule = time.Second
	cfg.SiteDrift = time.Second // the chart moves between scrapes
	cfg.ScrapeInterval = time.Millisecond
	var logs lockedBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("devstack's logs:\n%s", logs.String())
		}
	})
	s, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		s.Close()
	})
	c := client{t, s.APIURL()}

	waitFor(t, "three scheduled scrapes", func() bool { return c.status().Schedule.Started >= 3 })
	page, err := s.tables.ListRuns(t.Context(), store.RunFilter{}, 100, nil)
	if err != nil {
		t.Fatal(err)
	}
	runs := page.Items
	if len(runs) < 3 {
		t.Fatalf("%d runs in the store after three scheduled scrapes", len(runs))
	}
	published := 0
	for _, r := range runs {
		got, err := s.tables.GetRun(t.Context(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Trigger != events.TriggerSchedule {
			t.Errorf("run %s has trigger %q, want %q", r.ID, got.Trigger, events.TriggerSchedule)
		}
		if got.Published > 0 {
			published++
		}
	}
	if published < 2 {
		t.Errorf("%d of %d scheduled runs published films; the drifting chart should change between them", published, len(runs))
	}
	st := c.status().Schedule
	if !st.Enabled || st.IntervalMs != 1000 || st.Next == nil || st.Last == nil || st.Last.Outcome != "started" || st.Last.RunID == "" {
		t.Errorf("schedule status %+v", st)
	}

	// Someone else holds the host's lease: the next tick is skipped.
	if ok, _, err := s.tables.AcquireLease(t.Context(), "127.0.0.1", "test", time.Now(), time.Hour); err != nil || !ok {
		t.Fatalf("AcquireLease = %v, %v", ok, err)
	}
	const skipped = "scheduled scrape skipped: lease held, retry after "
	waitFor(t, "a skipped scrape", func() bool { return strings.Contains(logs.String(), skipped) })
	for line := range strings.Lines(logs.String()) {
		if strings.Contains(line, skipped) && !strings.Contains(line, "level=INFO") {
			t.Errorf("skip logged as %q, want level INFO", line)
		}
	}
	last := c.status().Schedule.Last
	var after time.Duration
	if last != nil {
		after, _ = time.ParseDuration(strings.TrimPrefix(last.Message, "lease held, retry after "))
	}
	if last == nil || last.Outcome != "skipped" || after < 59*time.Minute || after > time.Hour {
		t.Errorf("last scheduled scrape %+v, want skipped for an hour's lease", last)
	}
}
