package boot_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild/rie"
)

// scraperFixture sets up what the scraper needs (a stream, the tables, the
// sample site on loopback to scrape) and returns its environment and a
// recorded POST /scrape.
func scraperFixture(tb testing.TB) (map[string]string, []byte) {
	tb.Helper()
	endpoints := awsemu.All(tb)
	backend := newTables(tb, endpoints)
	stream := awsemu.Name(tb, "events")
	awsemu.CreateStream(tb, awsemu.Kinesis(tb), stream, 2)

	// The function may dial the loopback site because SCRAPE_ALLOW_PRIVATE
	// is set, as devstack does.
	site := httptest.NewServer(samplesite.New(samplesite.Options{}))
	tb.Cleanup(site.Close)
	env := backend.Env
	env[contract.EnvStreamName] = stream
	env[contract.EnvScrapeURL] = site.URL + samplesite.ChartPath
	env[contract.EnvScrapeAllowPrivate] = "true"
	return env, event(tb, "scraper-post.json")
}

func TestBootScraper(t *testing.T) {
	t.Parallel()
	env, post := scraperFixture(t)
	e := boot(t, "scraper", env)
	r := decodeHTTP(t, invokePayload(t, e, "scraper-post.json", post).Payload)
	var sum struct {
		Source    string `json:"source"`
		Published int    `json:"published"`
		Failed    int    `json:"failed"`
		Pages     int    `json:"pages"`
	}
	if err := json.Unmarshal([]byte(r.Body), &sum); err != nil {
		t.Fatalf("body %q: %v", r.Body, err)
	}
	type result struct {
		Status                   int
		Source                   string
		Published, Failed, Pages int
	}
	got := result{r.Status, sum.Source, sum.Published, sum.Failed, sum.Pages}
	// The sample site's chart: 250 films over 5 pages.
	want := result{202, env[contract.EnvScrapeURL], 250, 0, 5}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("POST /scrape (-want +got):\n%s", diff)
	}
}

// TestBootScraperSchedule: the built function takes the schedule's input
// as EventBridge Scheduler delivers it, and API Gateway's requests beside
// it. The schedule scrapes (trigger schedule in its answer and in its log
// line, tied to the invocation); an API request within the interval gets
// the shared lease's 429; the schedule firing again is a skip, not a
// function error that Lambda's asynchronous retries would repeat; an event
// of no known shape is a function error and scrapes nothing.
func TestBootScraperSchedule(t *testing.T) {
	t.Parallel()
	env, post := scraperFixture(t)
	schedule := event(t, "scraper-schedule.json")
	e := boot(t, "scraper", env)

	type run struct {
		Trigger          string
		Published, Pages int
	}
	type result struct {
		Run     *run   `json:"run"`
		Skipped string `json:"skipped"`
	}
	decode := func(payload []byte) result {
		t.Helper()
		var r result
		if err := json.Unmarshal(payload, &r); err != nil {
			t.Fatalf("schedule result %q: %v", payload, err)
		}
		return r
	}

	inv := invokePayload(t, e, "scraper-schedule.json", schedule)
	// The sample site's chart: 250 films over 5 pages.
	if diff := cmp.Diff(result{Run: &run{"schedule", 250, 5}}, decode(inv.Payload)); diff != "" {
		t.Errorf("scheduled invocation (-want +got):\n%s", diff)
	}
	line, ok := logLine(e.Output(), "scrape done")
	if !ok {
		t.Fatal(`no JSON log line "scrape done"`)
	}
	if line["requestId"] != inv.RequestID || line["trigger"] != "schedule" {
		t.Errorf("log line %v: want trigger schedule and requestId %q", line, inv.RequestID)
	}
	if line, _ := logLine(e.Output(), "scheduled scrape done"); line["execution_id"] != "d32c5kddcf5bb8c3" {
		t.Errorf(`"scheduled scrape done" line %v: want Scheduler's execution id`, line)
	}

	if r := decodeHTTP(t, invokePayload(t, e, "scraper-post.json", post).Payload); r.Status != http.StatusTooManyRequests {
		t.Errorf("POST /scrape right after the scheduled run: %d %s, want 429", r.Status, r.Body)
	}

	if got := decode(invokePayload(t, e, "scraper-schedule.json", schedule).Payload); got.Run != nil || got.Skipped == "" {
		t.Errorf("the schedule again within the interval: %+v, want a skip", got)
	}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := e.Invoke(ctx, []byte(`{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}`))
	var fe *rie.FunctionError
	if !errors.As(err, &fe) || !strings.HasPrefix(fe.Message, "unrecognised event (an object with keys ") {
		t.Errorf("an EventBridge rule's event: %v, want a function error naming it unrecognised", err)
	}
}
