package samplesite

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// discardWriter is a ResponseWriter that keeps nothing, so the benchmark
// measures the handler rather than a recorder's buffer.
type discardWriter struct{ h http.Header }

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) WriteHeader(int)             {}
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkChartPage serves chart page 3 as the scraper asks for it, with
// and without gzip, plus the 304 of a conditional request.
func BenchmarkChartPage(b *testing.B) {
	h := New(Options{})
	for _, bc := range []struct {
		name   string
		header map[string]string
	}{
		{"identity", nil},
		{"gzip", map[string]string{"Accept-Encoding": "gzip"}},
		{"not-modified", map[string]string{"If-Modified-Since": "Sat, 01 Mar 2025 00:00:00 GMT"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/site/chart?page=3", nil)
			for k, v := range bc.header {
				req.Header.Set(k, v)
			}
			w := &discardWriter{h: http.Header{}}
			h.ServeHTTP(w, req) // warm the lazily built gzip bytes
			if bc.name != "not-modified" {
				b.SetBytes(int64(len(renderChart(dataset, 3)))) // bytes of HTML delivered
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
