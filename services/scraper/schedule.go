package scraper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// ScheduleKey is the key that marks the schedule's input, and
// ScheduleKind its value (contract.ScheduleKey and contract.ScheduleKind).
const (
	ScheduleKey  = contract.ScheduleKey
	ScheduleKind = contract.ScheduleKind
)

// maxScheduleInput bounds the input ParseScheduleInput reads.
const maxScheduleInput = 4 << 10

// ScheduleInput is the event of a scheduled scrape: the Input of the
// stack's schedule, whose wire shape is the contract's
//
//	{"scrape-pipeline":"schedule","url":"…","scheduledTime":"…","executionId":"…"}
//
// URL "" (left out) is Config.URL; another URL must pass the allow-list,
// as a POST /scrape body's. ScheduledTime and ExecutionID go to the logs
// (scheduled_time, execution_id); both are optional, and
// ParseScheduleInput takes Scheduler's context attributes left unreplaced
// (the input sent by hand) for absent. Build it with NewScheduleInput and
// hand its JSON() to the schedule's target.
type ScheduleInput = contract.ScheduleInput

// NewScheduleInput returns the input of a schedule that scrapes url (""
// for the configured URL), asking Scheduler to fill in the scheduled time
// and the execution id (contract.ScheduledScrape). A URL that is not an
// absolute http(s) URL is an error; whether its host is allowed is the
// deployed function's configuration and checked at each run.
func NewScheduleInput(url string) (ScheduleInput, error) {
	if url != "" {
		if _, err := checkTarget(url); err != nil {
			return ScheduleInput{}, fmt.Errorf("schedule input: url: %w", err)
		}
	}
	return contract.ScheduledScrape(url), nil
}

// IsScheduleInput reports whether data is a JSON object with the key
// ScheduleKey, spelt exactly: an event meant as the schedule's input
// (ParseScheduleInput then says whether it is a good one), never one of
// AWS's events.
func IsScheduleInput(data []byte) bool {
	var obj map[string]json.RawMessage
	if json.Unmarshal(data, &obj) != nil {
		return false
	}
	_, ok := obj[ScheduleKey]
	return ok
}

// ParseScheduleInput decodes the schedule's input strictly: one JSON
// object with ScheduleKey set to ScheduleKind and no key but those of
// ScheduleInput, spelt exactly (encoding/json alone would take
// "URL" for "url"); a url, if any, an absolute http(s) URL; a scheduled
// time, if any, in RFC 3339; an execution id, if any, of at most 128
// printable ASCII characters. Anything else is an error saying what is
// wrong.
func ParseScheduleInput(data []byte) (ScheduleInput, error) {
	var in ScheduleInput
	if len(data) > maxScheduleInput {
		return in, fmt.Errorf("schedule input: larger than %d bytes", maxScheduleInput)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil || obj == nil {
		return in, fmt.Errorf("schedule input: want a JSON object %s", scheduleInputExample)
	}
	if _, err := dec.Token(); err != io.EOF {
		return in, errors.New("schedule input: data after the JSON object")
	}
	var errs []error
	keys := contract.ScheduleKeys()
	for k := range obj {
		if !slices.Contains(keys, k) {
			errs = append(errs, fmt.Errorf("unknown key %q (want %s)", text.Clip(k, maxQuoted), strings.Join(keys, ", ")))
		}
	}
	field := func(key string, dst *string) {
		raw, ok := obj[key]
		if !ok {
			return
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			errs = append(errs, fmt.Errorf("%s: want a string", key))
		}
	}
	field(contract.ScheduleKey, &in.Kind)
	field(contract.ScheduleURLKey, &in.URL)
	field(contract.ScheduleTimeKey, &in.ScheduledTime)
	field(contract.ScheduleExecutionIDKey, &in.ExecutionID)
	// The input as configured, sent by hand (aws lambda invoke): Scheduler
	// did not fill these in, which is no reason to refuse the run.
	if in.ScheduledTime == contract.SchedulerScheduledTime {
		in.ScheduledTime = ""
	}
	if in.ExecutionID == contract.SchedulerExecutionID {
		in.ExecutionID = ""
	}
	if in.Kind != ScheduleKind {
		errs = append(errs, fmt.Errorf("%s: %q, want %q", ScheduleKey, text.Clip(in.Kind, maxQuoted), ScheduleKind))
	}
	if in.URL != "" {
		if _, err := checkTarget(in.URL); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", contract.ScheduleURLKey, err))
		}
	}
	if in.ScheduledTime != "" {
		if _, err := time.Parse(time.RFC3339, in.ScheduledTime); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not an RFC 3339 time", contract.ScheduleTimeKey, text.Clip(in.ScheduledTime, maxQuoted)))
		}
	}
	if len(in.ExecutionID) > 128 || strings.ContainsFunc(in.ExecutionID, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		errs = append(errs, fmt.Errorf("%s: %q is not up to 128 printable ASCII characters", contract.ScheduleExecutionIDKey, text.Clip(in.ExecutionID, maxQuoted)))
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	if err := errors.Join(errs...); err != nil {
		return ScheduleInput{}, fmt.Errorf("schedule input: %w", err)
	}
	return in, nil
}

// scheduleInputExample is the smallest schedule input, as quoted in
// messages.
const scheduleInputExample = `{"` + ScheduleKey + `":"` + ScheduleKind + `"}`

// ScheduleResult is the outcome of a scheduled invocation that is not an
// error: a run, or a skip.
type ScheduleResult struct {
	// Run is the run's Summary; nil when skipped.
	Run *Summary `json:"run,omitempty"`
	// Skipped says why no run took place: the host was scraped within
	// Config.Interval.
	Skipped string `json:"skipped,omitempty"`
}

// RunSchedule runs the scrape that in asks for, as events.TriggerSchedule.
// Outcomes:
//   - the run went well: its Summary, nil error (a Summary.Warning, if any,
//     is logged with the run);
//   - the host's lease is held: Skipped, nil error; the schedule's next
//     firing scrapes it;
//   - in names a URL outside the allow-list: an error (a 400 *httpx.Error
//     in the chain) and no run; a configuration error, it shows in the
//     function's Errors metric like any failure;
//   - the run failed (the site, the stream, the deadline): an error, with
//     the Summary in the result when the run had started; Lambda's
//     asynchronous invocation then retries it (see the package doc,
//     Scheduled runs).
//
// Each outcome is logged with the schedule's execution_id and
// scheduled_time.
func (s *Service) RunSchedule(ctx context.Context, in ScheduleInput) (ScheduleResult, error) {
	log := s.log.With(slog.String("trigger", events.TriggerSchedule),
		slog.String("execution_id", in.ExecutionID), slog.String("scheduled_time", in.ScheduledTime))
	target := ""
	if in.URL != "" {
		var err error
		if target, err = s.allowedTarget(in.URL); err != nil {
			log.LogAttrs(ctx, slog.LevelError, "scheduled scrape refused", slog.String("url", text.Clip(in.URL, maxQuoted)), slog.String("error", err.Error()))
			return ScheduleResult{}, fmt.Errorf("scheduled scrape: %w", err)
		}
	}
	sum, err := s.Scrape(ctx, Request{URL: target, Trigger: events.TriggerSchedule})
	switch {
	case errors.Is(err, ErrLeaseHeld):
		msg := err.Error()
		var he *httpx.Error
		if errors.As(err, &he) {
			msg = he.Message
		}
		log.LogAttrs(ctx, slog.LevelInfo, "scheduled scrape skipped", slog.String("why", msg))
		return ScheduleResult{Skipped: msg}, nil
	case err != nil:
		res := ScheduleResult{}
		if sum.RunID != "" {
			res.Run = &sum
		}
		log.LogAttrs(ctx, slog.LevelError, "scheduled scrape failed", slog.String("run_id", sum.RunID), slog.String("error", err.Error()))
		return res, fmt.Errorf("scheduled scrape: %w", err)
	}
	log.LogAttrs(ctx, slog.LevelInfo, "scheduled scrape done", slog.String("run_id", sum.RunID))
	return ScheduleResult{Run: &sum}, nil
}
