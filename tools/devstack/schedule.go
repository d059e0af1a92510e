package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/internal/uuid"
)

// scheduleState is what the schedule did, for GET /_devstack/status.
type scheduleState struct {
	mu     sync.Mutex
	status scheduleStatus
}

// scheduleStatus is the schedule in GET /_devstack/status.
type scheduleStatus struct {
	// Enabled is whether --schedule is set; IntervalMs is its period.
	Enabled    bool  `json:"enabled"`
	IntervalMs int64 `json:"intervalMs"`
	// Next is when the next scheduled scrape starts (absent when off).
	Next *time.Time `json:"next,omitempty"`
	// Started counts the scheduled scrapes that ran (completed, unchanged
	// or failed after starting a run), Skipped those the lease refused,
	// Failed those that failed before a run started.
	Started int64 `json:"started"`
	Skipped int64 `json:"skipped"`
	Failed  int64 `json:"failed"`
	// Last is the newest scheduled scrape.
	Last *scheduledScrape `json:"last,omitempty"`
}

// scheduledScrape is one scheduled scrape's outcome.
type scheduledScrape struct {
	At time.Time `json:"at"`
	// Outcome is "started", "skipped" or "failed".
	Outcome string `json:"outcome"`
	RunID   string `json:"runId,omitempty"`
	// Message says why it was skipped or failed.
	Message string `json:"message,omitempty"`
}

func (s *scheduleState) get() scheduleStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	if st.Last != nil {
		last := *st.Last
		st.Last = &last
	}
	return st
}

func (s *scheduleState) update(fn func(*scheduleStatus)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(&s.status)
}

// runSchedule scrapes every --schedule until ctx is done, as EventBridge
// Scheduler invokes the scraper function on AWS: the first scrape one
// period after the start, and a tick that comes while a scrape still runs
// is dropped (Lambda would run the two at once; the lease would refuse
// the second anyway).
func (s *Stack) runSchedule(ctx context.Context) {
	t := time.NewTicker(s.cfg.Schedule)
	defer t.Stop()
	next := time.Now().Add(s.cfg.Schedule).UTC()
	s.schedule.update(func(st *scheduleStatus) { st.Next = &next })
	for {
		var tick time.Time
		select {
		case <-ctx.Done():
			return
		case tick = <-t.C:
		}
		s.scheduledScrape(ctx)
		next := tick.Add(s.cfg.Schedule).UTC()
		s.schedule.update(func(st *scheduleStatus) { st.Next = &next })
	}
}

// scheduledScrape runs one scrape with trigger "schedule", as a scheduled
// invocation of the scraper function: its own request id and the
// --function-timeout deadline, as the HTTP path gives its invocations. A
// scrape the lease refuses (the host was scraped within the scrape
// interval) is skipped and logged at info: that is the lease doing its
// work, not an error. An invocation in flight when devstack stops is
// finished.
func (s *Stack) scheduledScrape(ctx context.Context) {
	began := time.Now()
	ictx, cancel := context.WithDeadline(context.WithoutCancel(ctx), began.Add(s.cfg.FunctionTimeout))
	defer cancel()
	ictx = lambdacontext.NewContext(ictx, &lambdacontext.LambdaContext{
		AwsRequestID:       uuid.New(),
		InvokedFunctionArn: "arn:aws:lambda:" + s.cfg.Region + ":000000000000:function:scraper-" + s.cfg.Suffix,
	})
	log := s.log.With("function", "scraper", "trigger", events.TriggerSchedule)
	sum, err := s.scraper.Scrape(ictx, scraper.Request{Trigger: events.TriggerSchedule})
	if took := time.Since(began); took > s.cfg.FunctionTimeout {
		log.ErrorContext(ictx, "function timed out: Lambda would have ended this invocation",
			"function_timeout", s.cfg.FunctionTimeout.String(), "took_ms", took.Milliseconds())
	}
	last := scheduledScrape{At: began.UTC(), RunID: sum.RunID}
	var he *httpx.Error
	switch {
	case err == nil:
		last.Outcome = "started"
		log.InfoContext(ictx, "scheduled scrape", "run_id", sum.RunID, "published", sum.Published,
			"unchanged", sum.Unchanged, "pages", sum.Pages)
		s.watchRun(sum.RunID)
	case errors.As(err, &he) && he.Status == http.StatusTooManyRequests:
		last.Outcome = "skipped"
		last.Message = "lease held, retry after " + he.RetryAfter.Round(time.Second).String()
		log.InfoContext(ictx, "scheduled scrape skipped: "+last.Message, "reason", he.Message)
	default:
		last.Outcome, last.Message = "failed", err.Error()
		if sum.RunID != "" {
			// The run started and recorded its failure.
			last.Outcome = "started"
			s.watchRun(sum.RunID)
		}
		log.LogAttrs(ictx, slog.LevelWarn, "scheduled scrape failed", slog.String("run_id", sum.RunID), slog.String("error", err.Error()))
	}
	s.schedule.update(func(st *scheduleStatus) {
		switch last.Outcome {
		case "started":
			st.Started++
		case "skipped":
			st.Skipped++
		default:
			st.Failed++
		}
		st.Last = &last
	})
}
