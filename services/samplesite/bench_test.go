package samplesite

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the handler rather than a recorder's buffer.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkChartPage serves chart page 3 of the frozen site as the
// scraper asks for it, with and without gzip, plus the 304 of a
// conditional request.
func BenchmarkChartPage(b *testing.B) {
	benchmarkChartPage(b, New(Options{}), "Sat, 01 Mar 2025 00:00:00 GMT")
}

// BenchmarkChartPageDrift is the same on a site drifting every hour with
// the real clock: each request reads the clock and finds its period's
// view, whose pages were rendered by the first request of the period.
func BenchmarkChartPageDrift(b *testing.B) {
	benchmarkChartPage(b, New(Options{Drift: time.Hour}), time.Now().UTC().Format(http.TimeFormat))
}

func benchmarkChartPage(b *testing.B, h http.Handler, ifModifiedSince string) {
	for _, bc := range []struct {
		name   string
		header map[string]string
	}{
		{"identity", nil},
		{"gzip", map[string]string{"Accept-Encoding": "gzip"}},
		{"not-modified", map[string]string{"If-Modified-Since": ifModifiedSince}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/site/chart?page=3", nil)
			for k, v := range bc.header {
				req.Header.Set(k, v)
			}
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, req) // warm the lazily built gzip bytes
			if bc.name != "not-modified" {
				b.SetBytes(int64(len(renderChart(dataset, 3, frozenAsOf)))) // bytes of HTML delivered
			}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
		})
	}
}

// BenchmarkChartPageHTTP is the same over a loopback connection with
// net/http's client, which asks for gzip and decodes it: what one scraper
// fetch costs end to end on this machine.
func BenchmarkChartPageHTTP(b *testing.B) {
	srv := httptest.NewServer(New(Options{}))
	defer srv.Close()
	client := srv.Client()
	for _, bc := range []struct{ name, acceptEncoding string }{{"identity", "identity"}, {"gzip", ""}} {
		b.Run(bc.name, func(b *testing.B) {
			req, _ := http.NewRequest("GET", srv.URL+"/site/chart?page=3", nil)
			if bc.acceptEncoding != "" {
				req.Header.Set("Accept-Encoding", bc.acceptEncoding)
			}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
			}
		})
	}
}

// BenchmarkNew is the cold-start cost: rendering every page once.
func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		New(Options{})
	}
}

// BenchmarkPeriodStart is what the first request of a period costs: the
// period's chart and the rendering of the page asked for (chart page 3),
// paid once a period, never per request.
func BenchmarkPeriodStart(b *testing.B) {
	now := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	h := New(Options{Drift: time.Hour, Now: func() time.Time { return now }})
	req := httptest.NewRequest("GET", "/site/chart?page=3", nil)
	w := &discardWriter{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		now = now.Add(time.Hour)
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

// BenchmarkDriftChart is the cost of a new period's chart: every film's
// score and votes, and the sort. A drifting site pays it once a period.
func BenchmarkDriftChart(b *testing.B) {
	d := Drift{Every: time.Hour}
	n := d.Period(time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC))
	b.ReportAllocs()
	for b.Loop() {
		n++
		d.chart(n)
	}
}
