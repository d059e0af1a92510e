package processor

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// Metrics are the figures of one batch, written as a CloudWatch Embedded
// Metric Format line
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
type Metrics struct {
	// Records is the batch size.
	Records int `json:"Records"`
	// Applied, Duplicates and Stale count the movie events by outcome.
	Applied    int `json:"Applied"`
	Duplicates int `json:"Duplicates"`
	Stale      int `json:"Stale"`
	// RunEvents counts projected scrape.started and scrape.completed.
	RunEvents int `json:"RunEvents"`
	// PermanentFailures counts records stored in errors.
	PermanentFailures int `json:"PermanentFailures"`
	// TransientFailures counts records that failed transiently;
	// ReportedFailures adds the records skipped behind them and those not
	// started before the deadline: all of them are retried.
	TransientFailures int `json:"TransientFailures"`
	ReportedFailures  int `json:"ReportedFailures"`
	// BatchDurationMs is the time Handle took.
	BatchDurationMs float64 `json:"BatchDurationMs"`
	// OldestRecordAgeMs is how long ago the oldest record of the batch
	// reached the stream (Record.ArrivalTime); 0 if unknown.
	OldestRecordAgeMs float64 `json:"OldestRecordAgeMs"`
}

// metricDefs declares the metrics and their units in every line.
var metricDefs = []emfMetric{
	{"Records", "Count"}, {"Applied", "Count"}, {"Duplicates", "Count"}, {"Stale", "Count"},
	{"RunEvents", "Count"}, {"PermanentFailures", "Count"}, {"TransientFailures", "Count"},
	{"ReportedFailures", "Count"}, {"BatchDurationMs", "Milliseconds"}, {"OldestRecordAgeMs", "Milliseconds"},
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

// emfLine is one EMF log event: the metadata, the dimension values and the
// metric values at the top level.
type emfLine struct {
	AWS      emfMeta `json:"_aws"`
	Service  string  `json:"Service"`
	Function string  `json:"Function,omitempty"`
	Metrics
}

// emfWriter writes EMF lines, one Write per line.
type emfWriter struct {
	mu        sync.Mutex
	w         io.Writer
	directive []emfDirective
	function  string
}

func newEMFWriter(w io.Writer, namespace, function string) *emfWriter {
	dims := []string{"Service"}
	if function != "" {
		dims = append(dims, "Function")
	}
	return &emfWriter{
		w:         w,
		directive: []emfDirective{{Namespace: namespace, Dimensions: [][]string{dims}, Metrics: metricDefs}},
		function:  function,
	}
}

// write emits m stamped at t; a write error is returned for the caller to
// log (metrics never fail a batch).
func (e *emfWriter) write(t time.Time, m Metrics) error {
	b, err := json.Marshal(emfLine{
		AWS:      emfMeta{Timestamp: t.UnixMilli(), CloudWatchMetrics: e.directive},
		Service:  "processor",
		Function: e.function,
		Metrics:  m,
	})
	if err != nil {
		return err
	}
	b = append(b, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err = e.w.Write(b)
	return err
}

// metrics sums up the batch.
func (b *batch) metrics(now time.Time, took time.Duration) Metrics {
	m := Metrics{Records: len(b.recs), BatchDurationMs: float64(took.Microseconds()) / 1000}
	var oldest time.Time
	for i := range b.res {
		r := &b.res[i]
		switch r.state {
		case stateDone:
			switch r.kind {
			case kindMovie:
				switch r.outcome {
				case store.Applied:
					m.Applied++
				case store.Duplicate:
					m.Duplicates++
				case store.Stale:
					m.Stale++
				}
			case kindRun:
				m.RunEvents++
			case kindPermanent:
				m.PermanentFailures++
			}
		case stateFailed:
			m.TransientFailures++
			m.ReportedFailures++
		default:
			m.ReportedFailures++
		}
		if t := b.recs[i].ArrivalTime; !t.IsZero() && (oldest.IsZero() || t.Before(oldest)) {
			oldest = t
		}
	}
	if !oldest.IsZero() && now.After(oldest) {
		m.OldestRecordAgeMs = float64(now.Sub(oldest).Microseconds()) / 1000
	}
	return m
}

// report writes the batch's metrics line, logs its summary and returns
// its figures.
func (h *Handler) report(ctx context.Context, b *batch, took time.Duration) Metrics {
	now := h.now()
	m := b.metrics(now, took)
	if h.metrics != nil {
		if err := h.metrics.write(now, m); err != nil {
			h.log.LogAttrs(ctx, slog.LevelWarn, "write metrics", slog.String("error", err.Error()))
		}
	}
	level := slog.LevelInfo
	if m.ReportedFailures > 0 {
		level = slog.LevelWarn
	}
	h.log.LogAttrs(ctx, level, "batch processed",
		slog.Int("records", m.Records), slog.Int("applied", m.Applied),
		slog.Int("duplicates", m.Duplicates), slog.Int("stale", m.Stale),
		slog.Int("run_events", m.RunEvents), slog.Int("permanent_failures", m.PermanentFailures),
		slog.Int("transient_failures", m.TransientFailures), slog.Int("reported_failures", m.ReportedFailures),
		slog.Float64("duration_ms", m.BatchDurationMs), slog.Float64("oldest_record_age_ms", m.OldestRecordAgeMs))
	return m
}
