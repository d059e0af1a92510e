package scraper_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
)

// TestNewScheduleInput: the schedule's Input is one line of JSON with
// Scheduler's context attributes written literally (json.Marshal would
// escape their '<' and '>', and Scheduler would pass them on unreplaced),
// and it parses back.
func TestNewScheduleInput(t *testing.T) {
	tests := []struct{ url, want string }{
		{"", `{"scrape-pipeline":"schedule","scheduledTime":"<aws.scheduler.scheduled-time>","executionId":"<aws.scheduler.execution-id>"}`},
		{"https://films.example/chart?page=1&x=<1>", `{"scrape-pipeline":"schedule","url":"https://films.example/chart?page=1&x=<1>","scheduledTime":"<aws.scheduler.scheduled-time>","executionId":"<aws.scheduler.execution-id>"}`},
	}
	for _, tc := range tests {
		in, err := scraper.NewScheduleInput(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, in.JSON()); diff != "" {
			t.Errorf("NewScheduleInput(%q).JSON() (-want +got):\n%s", tc.url, diff)
		}
		got, err := scraper.ParseScheduleInput([]byte(in.JSON()))
		if err != nil {
			t.Fatalf("ParseScheduleInput(%s): %v", in.JSON(), err)
		}
		// Unreplaced attributes (the input sent by hand) read as absent.
		if diff := cmp.Diff(scraper.ScheduleInput{Kind: scraper.ScheduleKind, URL: tc.url}, got); diff != "" {
			t.Errorf("ParseScheduleInput(%s) (-want +got):\n%s", in.JSON(), diff)
		}
	}
	if _, err := scraper.NewScheduleInput("ftp://films.example/"); err == nil || !strings.Contains(err.Error(), "want an http or https URL") {
		t.Errorf("NewScheduleInput(ftp://…): %v, want an error", err)
	}
}

func TestParseScheduleInput(t *testing.T) {
	ok := []struct {
		name, in string
		want     scraper.ScheduleInput
	}{
		{"smallest", `{"scrape-pipeline":"schedule"}`, scraper.ScheduleInput{Kind: "schedule"}},
		{"as Scheduler delivers it", `{"scrape-pipeline":"schedule","scheduledTime":"2026-11-27T10:00:00Z","executionId":"d32c5kddcf5bb8c3"}`,
			scraper.ScheduleInput{Kind: "schedule", ScheduledTime: "2026-11-27T10:00:00Z", ExecutionID: "d32c5kddcf5bb8c3"}},
		{"with a url", " {\"url\": \"https://films.example/chart\", \"scrape-pipeline\": \"schedule\"}\n",
			scraper.ScheduleInput{Kind: "schedule", URL: "https://films.example/chart"}},
		{"empty url", `{"scrape-pipeline":"schedule","url":""}`, scraper.ScheduleInput{Kind: "schedule"}},
	}
	for _, tc := range ok {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scraper.ParseScheduleInput([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	bad := []struct{ name, in, want string }{
		{"another kind", `{"scrape-pipeline":"scheduled"}`, `scrape-pipeline: "scheduled", want "schedule"`},
		{"kind not a string", `{"scrape-pipeline":1}`, `scrape-pipeline: want a string`},
		{"kind null", `{"scrape-pipeline":null}`, `scrape-pipeline: "", want "schedule"`},
		{"key in another case", `{"scrape-pipeline":"schedule","URL":"https://films.example/"}`, `unknown key "URL"`},
		{"unknown key", `{"scrape-pipeline":"schedule","depth":3}`, `unknown key "depth" (want scrape-pipeline, url, scheduledTime, executionId)`},
		{"bad url", `{"scrape-pipeline":"schedule","url":"file:///etc/passwd"}`, `url: "file:///etc/passwd": want an http or https URL`},
		{"url not a string", `{"scrape-pipeline":"schedule","url":["x"]}`, `url: want a string`},
		{"bad time", `{"scrape-pipeline":"schedule","scheduledTime":"yesterday"}`, `scheduledTime: "yesterday" is not an RFC 3339 time`},
		{"bad execution id", `{"scrape-pipeline":"schedule","executionId":"a b"}`, `executionId: "a b" is not up to 128 printable ASCII characters`},
		{"long execution id", `{"scrape-pipeline":"schedule","executionId":"` + strings.Repeat("a", 129) + `"}`, `is not up to 128 printable ASCII characters`},
		{"every problem at once", `{"scrape-pipeline":"x","url":"x","Depth":1}`, "scrape-pipeline: \"x\", want \"schedule\"\nunknown key \"Depth\""},
		{"two objects", `{"scrape-pipeline":"schedule"} {}`, "data after the JSON object"},
		{"null", `null`, `want a JSON object {"scrape-pipeline":"schedule"}`},
		{"array", `[{"scrape-pipeline":"schedule"}]`, "want a JSON object"},
		{"string", `"schedule"`, "want a JSON object"},
		{"empty", ``, "want a JSON object"},
		{"too large", `{"scrape-pipeline":"schedule","url":"https://films.example/` + strings.Repeat("a", 5000) + `"}`, "larger than 4096 bytes"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scraper.ParseScheduleInput([]byte(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "schedule input: ") {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
			if got != (scraper.ScheduleInput{}) {
				t.Errorf("input %+v along with the error", got)
			}
		})
	}
}

func TestIsScheduleInput(t *testing.T) {
	for in, want := range map[string]bool{
		`{"scrape-pipeline":"schedule"}`: true,
		`{"scrape-pipeline":"other"}`:    true, // meant as ours: ParseScheduleInput refuses it
		`{"Scrape-Pipeline":"schedule"}`: false,
		`{"version":"2.0"}`:              false,
		`[{"scrape-pipeline":1}]`:        false,
		`null`:                           false,
		`garbage`:                        false,
	} {
		if got := scraper.IsScheduleInput([]byte(in)); got != want {
			t.Errorf("IsScheduleInput(%s) = %v, want %v", in, got, want)
		}
	}
}

// logLines decodes JSON log lines.
func logLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range bytes.Split(bytes.TrimSpace(b.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("log line %s: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// findLog returns the first line whose msg is msg.
func findLog(lines []map[string]any, msg string) map[string]any {
	for _, l := range lines {
		if l["msg"] == msg {
			return l
		}
	}
	return nil
}

// TestRunSchedule goes through RunSchedule's outcomes in order on one
// scraper: a run, a skip while the lease is held, a URL outside the
// allow-list, a target that fails.
func TestRunSchedule(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, envOpts{logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	in := scraper.ScheduleInput{Kind: scraper.ScheduleKind, ScheduledTime: "2026-11-27T04:20:00Z", ExecutionID: "d32c5kddcf5bb8c3"}

	t.Run("a run", func(t *testing.T) {
		res, err := e.svc.RunSchedule(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		if res.Run == nil || res.Skipped != "" {
			t.Fatalf("result %+v, want a run", res)
		}
		want := scraper.Summary{Source: e.site.URL + samplesite.ChartPageURL(1), Trigger: events.TriggerSchedule, Published: 250, Pages: 5}
		if diff := cmp.Diff(want, *res.Run, cmpopts.IgnoreFields(scraper.Summary{}, "RunID", "DurationMs")); diff != "" {
			t.Errorf("run (-want +got):\n%s", diff)
		}
		run, err := e.store.GetRun(t.Context(), res.Run.RunID)
		if err != nil {
			t.Fatal(err)
		}
		evs := e.pub.decoded(t)
		started, _ := evs[0].Data.(events.ScrapeStarted)
		if got := []string{run.Trigger, started.Trigger}; !cmp.Equal(got, []string{"schedule", "schedule"}) {
			t.Errorf("trigger of run item, scrape.started = %q, want schedule", got)
		}
		lines := logLines(t, &logs)
		done, sched := findLog(lines, "scrape done"), findLog(lines, "scheduled scrape done")
		if done == nil || done["trigger"] != "schedule" || done["run_id"] != res.Run.RunID {
			t.Errorf(`"scrape done" line %v, want trigger schedule and the run id`, done)
		}
		wantSched := map[string]any{"level": "INFO", "msg": "scheduled scrape done", "trigger": "schedule", "run_id": res.Run.RunID,
			"execution_id": "d32c5kddcf5bb8c3", "scheduled_time": "2026-11-27T04:20:00Z"}
		if diff := cmp.Diff(wantSched, sched, cmpopts.IgnoreMapEntries(func(k string, _ any) bool { return k == "time" })); diff != "" {
			t.Errorf(`"scheduled scrape done" line (-want +got):\n%s`, diff)
		}
	})

	t.Run("the lease is held: a skip, not an error", func(t *testing.T) {
		before := len(e.pub.decoded(t))
		e.clock.Advance(20 * time.Second)
		res, err := e.svc.RunSchedule(t.Context(), in)
		if err != nil {
			t.Fatalf("error %v, want a skip", err)
		}
		want := scraper.ScheduleResult{Skipped: "127.0.0.1 was scraped less than 1m0s ago; retry after 40s"}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("result (-want +got):\n%s", diff)
		}
		if n := len(e.pub.decoded(t)) - before; n != 0 {
			t.Errorf("%d events published", n)
		}
		if l := findLog(logLines(t, &logs), "scheduled scrape skipped"); l == nil || l["execution_id"] != "d32c5kddcf5bb8c3" {
			t.Errorf(`"scheduled scrape skipped" line %v`, l)
		}
	})

	t.Run("a url outside the allow-list", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		before := len(e.pub.decoded(t))
		res, err := e.svc.RunSchedule(t.Context(), scraper.ScheduleInput{Kind: scraper.ScheduleKind, URL: "https://example.org/chart"})
		var he *httpx.Error
		if !errors.As(err, &he) || he.Status != http.StatusBadRequest ||
			he.Message != "url: host example.org is not in the allow-list; to allow it, "+scraper.DefaultAllowHint {
			t.Errorf("error %v, want a 400 with the allow hint", err)
		}
		if res != (scraper.ScheduleResult{}) || len(e.pub.decoded(t)) != before {
			t.Errorf("result %+v and %d events, want neither", res, len(e.pub.decoded(t))-before)
		}
	})

	t.Run("an allowed url", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		url := e.site.URL + samplesite.ChartPageURL(1) + "&malformed=1"
		res, err := e.svc.RunSchedule(t.Context(), scraper.ScheduleInput{Kind: scraper.ScheduleKind, URL: url})
		if err != nil || res.Run == nil || res.Run.Source != url || res.Run.Published != 150 {
			t.Errorf("result %+v, error %v; want a run of %s", res, err, url)
		}
	})

	t.Run("the target fails: an error, for Lambda to retry", func(t *testing.T) {
		e.clock.Advance(time.Hour)
		res, err := e.svc.RunSchedule(t.Context(), scraper.ScheduleInput{Kind: scraper.ScheduleKind, URL: e.site.URL + samplesite.ChartPageURL(1) + "&status=500"})
		var he *httpx.Error
		if !errors.As(err, &he) || he.Code != scraper.CodeTargetError || errors.Is(err, scraper.ErrLeaseHeld) {
			t.Errorf("error %v, want target_error", err)
		}
		if res.Run != nil {
			t.Errorf("run %+v for a page that never came", res.Run)
		}
		if l := findLog(logLines(t, &logs), "scheduled scrape failed"); l == nil || l["level"] != "ERROR" {
			t.Errorf(`"scheduled scrape failed" line %v`, l)
		}
	})
}

// TestRunScheduleLaterPageFails: a run that failed after it started is
// an error too, with its Summary.
func TestRunScheduleLaterPageFails(t *testing.T) {
	e := newEnv(t, envOpts{site: failingPage3(samplesite.New(samplesite.Options{}))})
	res, err := e.svc.RunSchedule(t.Context(), scraper.ScheduleInput{Kind: scraper.ScheduleKind})
	if err == nil || !strings.HasPrefix(err.Error(), "scheduled scrape: ") {
		t.Fatalf("error %v, want the run's failure", err)
	}
	if res.Run == nil || res.Run.Published != 100 || res.Run.Trigger != events.TriggerSchedule {
		t.Errorf("result %s, want the run's summary (100 published)", fmt.Sprintf("%+v", res.Run))
	}
}
