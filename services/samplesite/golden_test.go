package samplesite

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the recorded pages under testdata/")

// TestRecordedPages keeps testdata/ in step with the site: chart pages 1–5,
// the malformed chart and two detail pages, the recordings the scraper's
// extraction tests read. Run with -update after a deliberate markup change.
func TestRecordedPages(t *testing.T) {
	h := New(Options{Knobs: true}) // for the malformed recording
	pages := map[string]string{
		"chart-page-1.html":            ChartPageURL(1),
		"chart-page-2.html":            ChartPageURL(2),
		"chart-page-3.html":            ChartPageURL(3),
		"chart-page-4.html":            ChartPageURL(4),
		"chart-page-5.html":            ChartPageURL(5),
		"film-the-godfather-1972.html": "/site/films/the-godfather-1972",
		"film-city-of-god-2002.html":   "/site/films/city-of-god-2002",
		"chart-page-1-malformed.html":  ChartPageURL(1) + "&malformed=1",
	}
	for file, url := range pages {
		t.Run(file, func(t *testing.T) {
			resp := do(t, h, "GET", url, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("%s: status %d", url, resp.StatusCode)
			}
			got := body(t, resp)
			path := filepath.Join("testdata", file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -run TestRecordedPages -update)", err)
			}
			if !bytes.Equal(want, got) {
				t.Errorf("%s differs from %s (run with -update if the change is deliberate)", url, path)
			}
		})
	}
}
