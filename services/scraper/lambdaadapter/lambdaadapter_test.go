package lambdaadapter_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/lambdaadapter"
)

// counter is a Publisher that accepts and counts every record.
type counter struct {
	mu sync.Mutex
	n  int
}

func (c *counter) Publish(_ context.Context, recs []stream.Record) (stream.Result, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n += len(recs)
	return stream.Result{Published: len(recs)}, nil
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// fixture is the scraper's Lambda function on the sample site, an
// embedded store and a counting stream, logging JSON to logs.
type fixture struct {
	fn   *lambdaadapter.Function
	pub  *counter
	logs *bytes.Buffer
	site string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	site := httptest.NewServer(samplesite.New(samplesite.Options{}))
	t.Cleanup(site.Close)
	fx := &fixture{pub: &counter{}, logs: &bytes.Buffer{}, site: site.URL}
	log := slog.New(slog.NewJSONHandler(fx.logs, nil))
	svc, err := scraper.New(scraper.Config{URL: site.URL + samplesite.ChartPath, AllowPrivate: true},
		scraper.Deps{Publisher: fx.pub, Store: embedded.NewMemory(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	fx.fn = lambdaadapter.New(svc, log)
	return fx
}

// logged returns the first log line whose msg is msg.
func (fx *fixture) logged(t *testing.T, msg string) map[string]any {
	t.Helper()
	for _, l := range bytes.Split(fx.logs.Bytes(), []byte("\n")) {
		var m map[string]any
		if json.Unmarshal(l, &m) == nil && m["msg"] == msg {
			return m
		}
	}
	return nil
}

func readEvent(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// summary is the part of a run's Summary the tests compare.
type summary struct {
	Trigger          string
	Published, Pages int
}

// outcome is what an invocation did, reduced to what the tests compare.
type outcome struct {
	Status   int     // an API Gateway response's status
	Run      summary // the run of an HTTP 202 or a schedule result
	Skipped  bool    // a schedule result's skip
	Error    string  // a part of the function's error
	Unknown  bool    // the error wraps ErrUnknownEvent
	Recorded int     // records published
}

func invoke(t *testing.T, fx *fixture, kind lambdaadapter.Kind, payload []byte) outcome {
	t.Helper()
	before := fx.pub.count()
	out, err := fx.fn.Invoke(t.Context(), payload)
	var got outcome
	got.Recorded = fx.pub.count() - before
	if err != nil {
		got.Error, got.Unknown = err.Error(), errors.Is(err, lambdaadapter.ErrUnknownEvent)
		if out != nil {
			t.Errorf("payload %s along with the error", out)
		}
		return got
	}
	var run *scraper.Summary
	switch kind {
	case lambdaadapter.HTTP:
		var resp events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("response %s: %v", out, err)
		}
		got.Status = resp.StatusCode
		if resp.StatusCode == http.StatusAccepted {
			run = &scraper.Summary{}
			if err := json.Unmarshal([]byte(resp.Body), run); err != nil {
				t.Fatalf("body %s: %v", resp.Body, err)
			}
		}
	case lambdaadapter.Schedule:
		var res scraper.ScheduleResult
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&res); err != nil {
			t.Fatalf("schedule result %s: %v", out, err)
		}
		run, got.Skipped = res.Run, res.Skipped != ""
	default:
		t.Fatalf("%s event answered %s without an error", kind, out)
	}
	if run != nil {
		got.Run = summary{run.Trigger, run.Published, run.Pages}
	}
	return got
}

// chart is the sample site's whole chart scraped once: 250 movies over 5
// pages, and the run's two events.
var chart = summary{Published: 250, Pages: 5}

func withTrigger(s summary, trigger string) summary { s.Trigger = trigger; return s }

// TestRecordedEvents classifies and invokes recorded events of every kind
// that could reach the function, each on a fresh scraper.
func TestRecordedEvents(t *testing.T) {
	tests := []struct {
		file string
		kind lambdaadapter.Kind
		want outcome
	}{
		{"apigw-v2-post-scrape.json", lambdaadapter.HTTP, outcome{Status: 202, Run: withTrigger(chart, "api"), Recorded: 252}},
		{"function-url-post.json", lambdaadapter.HTTP, outcome{Status: 202, Run: withTrigger(chart, "api"), Recorded: 252}},
		{"schedule.json", lambdaadapter.Schedule, outcome{Run: withTrigger(chart, "schedule"), Recorded: 252}},
		{"schedule-as-configured.json", lambdaadapter.Schedule, outcome{Run: withTrigger(chart, "schedule"), Recorded: 252}},
		{"schedule-unknown-key.json", lambdaadapter.Schedule, outcome{Error: `schedule input: unknown key "URL"`}},
		{"schedule-and-apigw-v2.json", lambdaadapter.Schedule, outcome{Error: `unknown key "version"`}},
		{"apigw-rest-proxy.json", lambdaadapter.Unknown, outcome{Unknown: true,
			Error: "unrecognised event (an API Gateway REST API or payload format 1.0 request: the integration must use payload format 2.0)"}},
		{"apigw-http-payload-1.0.json", lambdaadapter.Unknown, outcome{Unknown: true, Error: "the integration must use payload format 2.0"}},
		{"eventbridge-scheduled-event.json", lambdaadapter.Unknown, outcome{Unknown: true,
			Error: `unrecognised event (an object with keys "account", "detail", "detail-type", "id", "region", "resources", "source", "time" and 1 more): ` +
				`the scraper takes an API Gateway HTTP API request (payload format 2.0) or its schedule's input {"scrape-pipeline":"schedule"}`}},
		{"kinesis.json", lambdaadapter.Unknown, outcome{Unknown: true, Error: `unrecognised event (an object with keys "Records")`}},
		{"garbage.txt", lambdaadapter.Unknown, outcome{Unknown: true, Error: "unrecognised event (not JSON)"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			payload := readEvent(t, tc.file)
			if got := lambdaadapter.Classify(payload); got != tc.kind {
				t.Errorf("Classify = %s, want %s", got, tc.kind)
			}
			fx := newFixture(t)
			got := invoke(t, fx, tc.kind, payload)
			if tc.want.Error != "" && strings.Contains(got.Error, tc.want.Error) {
				got.Error = tc.want.Error // compare the part the case names
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Invoke (-want +got):\n%s", diff)
			}
		})
	}
}

// TestScheduleLogs: a scheduled run's lines say trigger=schedule, and the
// line of the schedule's outcome carries Scheduler's execution id.
func TestScheduleLogs(t *testing.T) {
	fx := newFixture(t)
	invoke(t, fx, lambdaadapter.Schedule, readEvent(t, "schedule.json"))
	done := fx.logged(t, "scrape done")
	sched := fx.logged(t, "scheduled scrape done")
	type line struct{ Trigger, ExecutionID, ScheduledTime any }
	got := []line{{done["trigger"], nil, nil}, {sched["trigger"], sched["execution_id"], sched["scheduled_time"]}}
	want := []line{{"schedule", nil, nil}, {"schedule", "d32c5kddcf5bb8c3", "2026-11-27T04:20:00Z"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}

// TestScheduleAndAPIShareTheLease: one scraper invoked in turn by the
// schedule and by API Gateway. The schedule runs; the API request that
// follows within the interval is a 429 response (not a function error);
// the schedule firing again is a skip, not an error that Lambda would
// retry.
func TestScheduleAndAPIShareTheLease(t *testing.T) {
	fx := newFixture(t)
	steps := []struct {
		file string
		kind lambdaadapter.Kind
		want outcome
	}{
		{"schedule.json", lambdaadapter.Schedule, outcome{Run: withTrigger(chart, "schedule"), Recorded: 252}},
		{"apigw-v2-post-scrape.json", lambdaadapter.HTTP, outcome{Status: http.StatusTooManyRequests}},
		{"schedule.json", lambdaadapter.Schedule, outcome{Skipped: true}},
	}
	for i, st := range steps {
		got := invoke(t, fx, st.kind, readEvent(t, st.file))
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Errorf("step %d, %s (-want +got):\n%s", i+1, st.file, diff)
		}
	}
}

func TestClassify(t *testing.T) {
	for in, want := range map[string]lambdaadapter.Kind{
		`{"scrape-pipeline":"schedule"}`:                                lambdaadapter.Schedule,
		`{"scrape-pipeline":1}`:                                         lambdaadapter.Schedule, // ours, and refused by ParseScheduleInput
		`{"Scrape-Pipeline":"schedule"}`:                                lambdaadapter.Unknown,
		`{"version":"2.0","requestContext":{"http":{"method":"POST"}}}`: lambdaadapter.HTTP,
		`{"Version":"2.0","requestContext":{"http":{"method":"POST"}}}`: lambdaadapter.Unknown,
		`{"version":"2.0","requestContext":{"HTTP":{"method":"POST"}}}`: lambdaadapter.Unknown,
		`{"version":"2.0","requestContext":{"http":{"method":""}}}`:     lambdaadapter.Unknown,
		`{"version":"2.0","requestContext":{"http":{"method":1}}}`:      lambdaadapter.Unknown,
		`{"version":"2.0","requestContext":{"http":null}}`:              lambdaadapter.Unknown,
		`{"version":"2.0","requestContext":null}`:                       lambdaadapter.Unknown,
		`{"version":"2.0"}`:                                             lambdaadapter.Unknown,
		`{"version":2.0,"requestContext":{"http":{"method":"POST"}}}`:   lambdaadapter.Unknown,
		`{"version":"1.0","requestContext":{"http":{"method":"POST"}}}`: lambdaadapter.Unknown,
		`{}`:   lambdaadapter.Unknown,
		`null`: lambdaadapter.Unknown,
		`[]`:   lambdaadapter.Unknown,
		`""`:   lambdaadapter.Unknown,
		``:     lambdaadapter.Unknown,
	} {
		if got := lambdaadapter.Classify([]byte(in)); got != want {
			t.Errorf("Classify(%s) = %s, want %s", in, got, want)
		}
	}
}

// The function is a lambda.Handler: lambda.Start takes it as it is, with
// no reflection over a handler's signature.
var _ lambda.Handler = (*lambdaadapter.Function)(nil)
