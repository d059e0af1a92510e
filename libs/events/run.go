package events

import (
	"errors"
	"fmt"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// Caps on run data.
const (
	MaxProfileLen = 128
	MaxErrorLen   = 1024
	MaxCount      = 10_000_000
	MaxPages      = 10_000
)

// ScrapeStarted is the latest version of scrape.started.
type ScrapeStarted = ScrapeStartedV2

// Triggers of a run: what started it.
const (
	// TriggerAPI: a POST /scrape request.
	TriggerAPI = "api"
	// TriggerSchedule: a schedule (EventBridge Scheduler on AWS,
	// devstack's --schedule).
	TriggerSchedule = "schedule"
)

// ScrapeStartedV1 opens a run. It is published before any movie event of
// the run. Version 1 did not say what started the run: every run was
// started by POST /scrape.
type ScrapeStartedV1 struct {
	// Profile is the name of the extraction profile used.
	Profile string `json:"profile"`
}

// EventType implements Data.
func (ScrapeStartedV1) EventType() string { return TypeScrapeStarted }

// SchemaVersion implements Data.
func (ScrapeStartedV1) SchemaVersion() int { return 1 }

func (s ScrapeStartedV1) validate(time.Time) error {
	return checkString("profile", s.Profile, MaxProfileLen, true)
}

// Upcast lifts a version 1 scrape.started to version 2: a version 1 run
// was started through the API, the only trigger there was.
func (s ScrapeStartedV1) Upcast() ScrapeStartedV2 {
	return ScrapeStartedV2{Profile: s.Profile, Trigger: TriggerAPI}
}

// ScrapeStartedV2 opens a run and says what started it. It is published
// before any movie event of the run.
type ScrapeStartedV2 struct {
	// Profile is the name of the extraction profile used.
	Profile string `json:"profile"`
	// Trigger is TriggerAPI or TriggerSchedule.
	Trigger string `json:"trigger"`
}

// EventType implements Data.
func (ScrapeStartedV2) EventType() string { return TypeScrapeStarted }

// SchemaVersion implements Data.
func (ScrapeStartedV2) SchemaVersion() int { return 2 }

func (s ScrapeStartedV2) validate(time.Time) error {
	var p problems
	p.add(checkString("profile", s.Profile, MaxProfileLen, true))
	if s.Trigger != TriggerAPI && s.Trigger != TriggerSchedule {
		p.add(fmt.Errorf("trigger: %q is not %q or %q", text.Clip(s.Trigger, maxQuoted), TriggerAPI, TriggerSchedule))
	}
	return p.err()
}

// ScrapeCompleted is the latest version of scrape.completed.
type ScrapeCompleted = ScrapeCompletedV1

// ScrapeCompletedV1 closes a run with its final counts. It is published
// after every movie event of the run.
type ScrapeCompletedV1 struct {
	// Published is the number of movie events the stream accepted.
	Published int `json:"published"`
	// Failed is the number of movie events the stream did not accept.
	Failed int `json:"failed"`
	// Skipped is the number of items the extraction skipped (missing
	// required field, bad number, …).
	Skipped int `json:"skipped"`
	// Unchanged is true when the page had not changed since the last run
	// (conditional GET answered 304) and nothing was published.
	Unchanged bool `json:"unchanged"`
	// Pages is the number of pages fetched.
	Pages      int   `json:"pages"`
	DurationMs int64 `json:"durationMs"`
	// Error says why the run failed, when it did.
	Error string `json:"error,omitempty"`
}

// EventType implements Data.
func (ScrapeCompletedV1) EventType() string { return TypeScrapeCompleted }

// SchemaVersion implements Data.
func (ScrapeCompletedV1) SchemaVersion() int { return 1 }

func (s ScrapeCompletedV1) validate(time.Time) error {
	var p problems
	for _, c := range []struct {
		name   string
		v, max int
	}{
		{"published", s.Published, MaxCount},
		{"failed", s.Failed, MaxCount},
		{"skipped", s.Skipped, MaxCount},
		{"pages", s.Pages, MaxPages},
	} {
		if c.v < 0 || c.v > c.max {
			p.add(fmt.Errorf("%s: %d not in 0..%d", c.name, c.v, c.max))
		}
	}
	if s.DurationMs < 0 {
		p.add(fmt.Errorf("durationMs: %d is negative", s.DurationMs))
	}
	if s.Unchanged && s.Published+s.Failed > 0 {
		p.add(errors.New("unchanged: a run that published events is not unchanged"))
	}
	p.add(checkString("error", s.Error, MaxErrorLen, false))
	return p.err()
}
