package contract

import (
	"bytes"
	"encoding/json"
	"strings"
)

// ScheduleInput is the wire shape of the event a schedule invokes the
// scraper with (EventBridge Scheduler's target Input on AWS), as JSON:
//
//	{"scrape-pipeline":"schedule","url":"…","scheduledTime":"…","executionId":"…"}
//
// infra writes it (ScheduledScrape(…).JSON()); the scraper recognises it
// by ScheduleKey and parses and validates it strictly. The struct tags are
// the Schedule*Key names (a test compares them).
type ScheduleInput struct {
	// Kind is ScheduleKind.
	Kind string `json:"scrape-pipeline"`
	// URL is the page to scrape; "" (left out) is the scraper's configured
	// URL.
	URL string `json:"url,omitempty"`
	// ScheduledTime and ExecutionID identify the invocation in the logs:
	// Scheduler writes them in place of the context attributes
	// (SchedulerScheduledTime, SchedulerExecutionID) that ScheduledScrape
	// puts there.
	ScheduledTime string `json:"scheduledTime,omitempty"`
	ExecutionID   string `json:"executionId,omitempty"`
}

// The keys of a ScheduleInput. ScheduleKey marks the input, no event of
// AWS's carries it, and its value is ScheduleKind.
const (
	ScheduleKey            = "scrape-pipeline"
	ScheduleKind           = "schedule"
	ScheduleURLKey         = "url"
	ScheduleTimeKey        = "scheduledTime"
	ScheduleExecutionIDKey = "executionId"
)

// ScheduleKeys returns the keys of a ScheduleInput, in order.
func ScheduleKeys() []string {
	return []string{ScheduleKey, ScheduleURLKey, ScheduleTimeKey, ScheduleExecutionIDKey}
}

// Context attributes that EventBridge Scheduler replaces in the target's
// Input on every invocation.
const (
	SchedulerScheduledTime = "<aws.scheduler.scheduled-time>"
	SchedulerExecutionID   = "<aws.scheduler.execution-id>"
)

// ScheduledScrape returns the input of a schedule that scrapes url (""
// for the scraper's configured URL), asking Scheduler to fill in the
// scheduled time and the execution id. It does not check url: the
// scraper's NewScheduleInput does, and the scraper checks it again at each
// run.
func ScheduledScrape(url string) ScheduleInput {
	return ScheduleInput{Kind: ScheduleKind, URL: url, ScheduledTime: SchedulerScheduledTime, ExecutionID: SchedulerExecutionID}
}

// JSON returns in as one line of JSON, the form of the schedule target's
// Input. Unlike json.Marshal it leaves '<' and '>' as they are: Scheduler
// replaces its context attributes ("<aws.scheduler.scheduled-time>") only
// where they stand literally.
func (in ScheduleInput) JSON() string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(in) // strings only: cannot fail
	return strings.TrimSuffix(b.String(), "\n")
}
