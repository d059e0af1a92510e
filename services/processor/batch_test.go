package processor_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
)

var quiet = slog.New(slog.DiscardHandler)

// distinctBatch is n movie events of n different movies of one run.
func distinctBatch(t testing.TB, n int) []processor.Record {
	var recs []processor.Record
	for i := range n {
		e := movieEvent("run-20261127-042000-cccccccc", t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("movie-%04d", i), i)
		recs = append(recs, record(testShard, i, e.Subject, mustEncode(t, e)))
	}
	return recs
}

func TestHandleDeadline(t *testing.T) {
	t.Run("nothing starts inside the margin", func(t *testing.T) {
		mem := embedded.NewMemory()
		h := processor.New(mem, processor.Options{DeadlineMargin: time.Minute, Logger: quiet})
		recs := distinctBatch(t, 5)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res := h.Handle(ctx, recs)
		if diff := cmp.Diff([]int{0, 1, 2, 3, 4}, res.Retry); diff != "" {
			t.Errorf("failures (-want +got):\n%s", diff)
		}
		if got := allMovies(t, mem); len(got) != 0 {
			t.Errorf("store has %d movies, want none", len(got))
		}
	})

	t.Run("the rest of the batch is reported when the margin is reached", func(t *testing.T) {
		mem := embedded.NewMemory()
		// One key at a time, 2 calls of 20 ms per record: the margin is
		// reached after a few records.
		h := processor.New(slowStore{mem, 20 * time.Millisecond}, processor.Options{
			Concurrency: 1, DeadlineMargin: 400 * time.Millisecond, Logger: quiet})
		recs := distinctBatch(t, 40)
		ctx, cancel := context.WithTimeout(context.Background(), 550*time.Millisecond)
		defer cancel()
		deadline, _ := ctx.Deadline()
		res := h.Handle(ctx, recs)
		if time.Now().After(deadline) {
			t.Errorf("Handle returned after the deadline")
		}
		got := retried(recs, res)
		if len(got) == 0 || len(got) == len(recs) {
			t.Fatalf("%d of %d records reported, want some but not all", len(got), len(recs))
		}
		// Keys start in batch order and one at a time: the reported
		// records are exactly the tail, and everything before it is done.
		done := len(recs) - len(got)
		var tail []string
		for _, r := range recs[done:] {
			tail = append(tail, r.SequenceNumber)
		}
		if diff := cmp.Diff(tail, got); diff != "" {
			t.Errorf("reported records are not the tail of the batch (-want +got):\n%s", diff)
		}
		if n := len(allMovies(t, mem)); n != done {
			t.Errorf("store has %d movies, want the %d done records", n, done)
		}
	})

	t.Run("a call still running at the deadline is cancelled and reported", func(t *testing.T) {
		mem := embedded.NewMemory()
		h := processor.New(slowStore{mem, time.Hour}, processor.Options{DeadlineMargin: 200 * time.Millisecond, Logger: quiet})
		recs := distinctBatch(t, 3)
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		defer cancel()
		deadline, _ := ctx.Deadline()
		res := h.Handle(ctx, recs)
		if time.Now().After(deadline) {
			t.Errorf("Handle returned after the deadline")
		}
		if got := len(res.Retry); got != 3 {
			t.Errorf("%d records reported, want 3", got)
		}
	})
}

func TestHandleOrderAndConcurrency(t *testing.T) {
	const keys, perKey, conc = 24, 20, 6
	var recs []processor.Record
	want := map[string][]string{}
	for j := range perKey {
		for k := range keys {
			id := fmt.Sprintf("movie-%02d", k)
			run := fmt.Sprintf("run-20261127-%06d-cccccccc", j)
			e := movieEvent(run, t0.Add(time.Duration(j)*time.Minute), id, j)
			want[id] = append(want[id], e.ID)
			recs = append(recs, record(testShard, len(recs), id, mustEncode(t, e)))
		}
	}
	w := &watchStore{Store: embedded.NewMemory(), delay: 200 * time.Microsecond}
	h := processor.New(w, processor.Options{Concurrency: conc, Logger: quiet})
	if res := h.Handle(context.Background(), recs); len(res.Retry) != 0 {
		t.Fatalf("Handle = %+v, want no records to retry", res)
	}
	if w.maxPerKey != 1 {
		t.Errorf("up to %d events of one key were applied at once, want 1", w.maxPerKey)
	}
	if w.maxInFlight > conc || w.maxInFlight < 2 {
		t.Errorf("up to %d events were applied at once, want 2..%d", w.maxInFlight, conc)
	}
	if diff := cmp.Diff(want, w.order); diff != "" {
		t.Errorf("order of events per key (-want +got):\n%s", diff)
	}
}

// metricsSink collects EMF lines and checks their shape.
type metricsSink struct{ lines []emfLine }

type emfLine struct {
	AWS struct {
		Timestamp         int64 `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct{ Name, Unit string }
		} `json:"CloudWatchMetrics"`
	} `json:"_aws"`
	Service  string `json:"Service"`
	Function string `json:"Function"`
	processor.Metrics
}

func (m *metricsSink) Write(p []byte) (int, error) {
	var l emfLine
	if err := json.Unmarshal(p, &l); err != nil {
		return 0, err
	}
	m.lines = append(m.lines, l)
	return len(p), nil
}

func TestMetricsLine(t *testing.T) {
	var sink metricsSink
	h := processor.New(embedded.NewMemory(), processor.Options{
		Logger: quiet, Metrics: &sink, FunctionName: "processor-courseX", Now: func() time.Time { return now }})
	recs := distinctBatch(t, 3)
	res := h.Handle(context.Background(), recs)
	if len(sink.lines) != 1 {
		t.Fatalf("%d lines, want 1", len(sink.lines))
	}
	l := sink.lines[0]
	if diff := cmp.Diff(l.Metrics, res.Metrics); diff != "" {
		t.Errorf("Result.Metrics differ from the metrics line (-line +result):\n%s", diff)
	}
	if l.AWS.Timestamp != now.UnixMilli() || l.Service != "processor" || l.Function != "processor-courseX" {
		t.Errorf("line metadata = %d %q %q", l.AWS.Timestamp, l.Service, l.Function)
	}
	d := l.AWS.CloudWatchMetrics
	if len(d) != 1 || d[0].Namespace != processor.DefaultNamespace ||
		!cmp.Equal(d[0].Dimensions, [][]string{{"Service", "Function"}}) {
		t.Fatalf("directive = %+v", d)
	}
	// Every declared metric has a value at the top level of the line.
	var top map[string]any
	b, _ := json.Marshal(l.Metrics)
	_ = json.Unmarshal(b, &top)
	for _, m := range d[0].Metrics {
		if _, ok := top[m.Name]; !ok {
			t.Errorf("metric %s declared but has no value", m.Name)
		}
	}
	if len(d[0].Metrics) != len(top) {
		t.Errorf("%d metrics declared, %d values", len(d[0].Metrics), len(top))
	}
	// The oldest record arrived at t0 (record), the clock says now.
	if want := float64(now.Sub(t0).Milliseconds()); l.OldestRecordAgeMs != want {
		t.Errorf("OldestRecordAgeMs = %v, want %v", l.OldestRecordAgeMs, want)
	}
}

func TestLoadConfig(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name    string
		env     map[string]string
		want    processor.Config
		wantErr string
	}{
		{
			name: "all set",
			env: map[string]string{contract.EnvMoviesTable: "movies-x", contract.EnvRunsTable: "runs-x",
				contract.EnvErrorsTable: "errors-x", contract.EnvHistoryTable: "history-x"},
			want: processor.Config{MoviesTable: "movies-x", RunsTable: "runs-x", ErrorsTable: "errors-x", HistoryTable: "history-x",
				MaxClockSkew: processor.DefaultMaxClockSkew},
		},
		{
			name: "clock skew set",
			env: map[string]string{contract.EnvMoviesTable: "movies-x", contract.EnvRunsTable: "runs-x",
				contract.EnvErrorsTable: "errors-x", contract.EnvHistoryTable: "history-x", contract.EnvMaxClockSkew: "90s"},
			want: processor.Config{MoviesTable: "movies-x", RunsTable: "runs-x", ErrorsTable: "errors-x", HistoryTable: "history-x",
				MaxClockSkew: 90 * time.Second},
		},
		{
			name:    "every problem at once",
			env:     map[string]string{contract.EnvMoviesTable: " ", contract.EnvMaxClockSkew: "-1m"},
			wantErr: "processor config: MOVIES_TABLE is required\nRUNS_TABLE is required\nERRORS_TABLE is required\nHISTORY_TABLE is required\nMAX_CLOCK_SKEW -1m0s not in (0, 24h0m0s]",
		},
		{
			name: "zero clock skew",
			env: map[string]string{contract.EnvMoviesTable: "movies-x", contract.EnvRunsTable: "runs-x",
				contract.EnvErrorsTable: "errors-x", contract.EnvHistoryTable: "history-x", contract.EnvMaxClockSkew: "0s"},
			wantErr: "processor config: MAX_CLOCK_SKEW 0s not in (0, 24h0m0s]",
		},
		{
			name: "absurd clock skew",
			env: map[string]string{contract.EnvMoviesTable: "movies-x", contract.EnvRunsTable: "runs-x",
				contract.EnvErrorsTable: "errors-x", contract.EnvHistoryTable: "history-x", contract.EnvMaxClockSkew: "8760h"},
			wantErr: "processor config: MAX_CLOCK_SKEW 8760h0m0s not in (0, 24h0m0s]",
		},
		{
			name: "clock skew that is no duration",
			env: map[string]string{contract.EnvMoviesTable: "movies-x", contract.EnvRunsTable: "runs-x",
				contract.EnvErrorsTable: "errors-x", contract.EnvHistoryTable: "history-x", contract.EnvMaxClockSkew: "5 minutes"},
			wantErr: `processor config: MAX_CLOCK_SKEW: "5 minutes" is not a duration (e.g. 5m)`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := processor.LoadConfig(env(tc.env))
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff(tc.wantErr, gotErr); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}
