package lambdaadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/lambdaadapter"
)

// spy is a Core that records which path an invocation took.
type spy struct{ served, scheduled int }

func (s *spy) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.served++
		w.WriteHeader(http.StatusAccepted)
	})
}

func (s *spy) RunSchedule(context.Context, scraper.ScheduleInput) (scraper.ScheduleResult, error) {
	s.scheduled++
	return scraper.ScheduleResult{Skipped: "spy"}, nil
}

// FuzzInvoke sends random events to the function. It never panics; an
// event reaches the schedule only if, read independently as generic
// JSON, it is one object of the schedule input's keys with
// "scrape-pipeline": "schedule", and the HTTP handler only if it has
// "version": "2.0" and a requestContext.http.method; never both. Every
// other event is an error, and one of no known shape wraps
// ErrUnknownEvent.
func FuzzInvoke(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"version":"2.0","requestContext":{"http":{"method":"POST"}},"headers":5}`,
		`{"version":"2.0","requestContext":{"http":{"method":"POST"}},"rawPath":"/sc%rape"}`,
		`{"scrape-pipeline":"schedule","Scrape-Pipeline":"x"}`, `{"SCRAPE-PIPELINE":"schedule"}`,
		`{"version":"2.0","VERSION":"1.0","requestContext":{"http":{"method":"GET"}}}`, `null`, `[]`, `{}`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		s := &spy{}
		fn := lambdaadapter.New(s, nil)
		out, err := fn.Invoke(context.Background(), payload)
		var obj map[string]any
		isObj := json.Unmarshal(payload, &obj) == nil && obj != nil
		switch {
		case s.served > 0 && s.scheduled > 0:
			t.Fatalf("%q reached both the HTTP handler and the schedule", payload)
		case s.scheduled > 0:
			if !isObj || obj["scrape-pipeline"] != "schedule" {
				t.Fatalf("%q reached the schedule without our marker", payload)
			}
			for k := range obj {
				if k != "scrape-pipeline" && k != "url" && k != "scheduledTime" && k != "executionId" {
					t.Fatalf("%q reached the schedule with key %q", payload, k)
				}
			}
			if err != nil || !strings.Contains(string(out), `"skipped":"spy"`) {
				t.Fatalf("%q: %s, %v; want the schedule's result", payload, out, err)
			}
		case s.served > 0:
			rc, _ := obj["requestContext"].(map[string]any)
			h, _ := rc["http"].(map[string]any)
			if m, _ := h["method"].(string); !isObj || obj["version"] != "2.0" || m == "" {
				t.Fatalf("%q reached the HTTP handler without API Gateway v2's shape", payload)
			}
			if _, marked := obj["scrape-pipeline"]; marked {
				t.Fatalf("%q, marked as the schedule's, reached the HTTP handler", payload)
			}
			if err != nil {
				t.Fatalf("%q: served, then %v", payload, err)
			}
		default:
			if err == nil {
				t.Fatalf("%q went nowhere without an error: %s", payload, out)
			}
			if lambdaadapter.Classify(payload) == lambdaadapter.Unknown && !errors.Is(err, lambdaadapter.ErrUnknownEvent) {
				t.Fatalf("%q: %v does not wrap ErrUnknownEvent", payload, err)
			}
		}
	})
}
