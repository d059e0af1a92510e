package scraper_test

import (
	"bytes"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
)

var update = flag.Bool("update", false, "rewrite testdata/pages/ from the sample site")

// pageURLs maps each copy under testdata/pages to the sample site URL it
// was recorded from.
var pageURLs = map[string]string{
	"chart-page-1.html":            samplesite.ChartPageURL(1),
	"chart-page-2.html":            samplesite.ChartPageURL(2),
	"chart-page-3.html":            samplesite.ChartPageURL(3),
	"chart-page-4.html":            samplesite.ChartPageURL(4),
	"chart-page-5.html":            samplesite.ChartPageURL(5),
	"chart-page-1-malformed.html":  samplesite.ChartPageURL(1) + "&malformed=1",
	"film-the-godfather-1972.html": samplesite.FilmPathPrefix + "the-godfather-1972",
	"film-city-of-god-2002.html":   samplesite.FilmPathPrefix + "city-of-god-2002",
}

// TestPagesMatchSampleSite keeps the extraction tests' pages, copies of
// what the sample site serves, in step with the site: each is rendered by
// the site now and compared byte for byte. After a deliberate markup
// change, run with -update.
func TestPagesMatchSampleSite(t *testing.T) {
	site := samplesite.New(samplesite.Options{Knobs: true}) // Knobs: the malformed chart
	files, err := filepath.Glob(filepath.Join("testdata", "pages", "*.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range files {
		if _, ok := pageURLs[filepath.Base(path)]; !ok {
			t.Errorf("%s: no sample site URL for it in pageURLs", path)
		}
	}
	for file, url := range pageURLs {
		t.Run(file, func(t *testing.T) {
			path := filepath.Join("testdata", "pages", file)
			if !slices.Contains(files, path) && !*update {
				t.Fatalf("%s missing (run go test -run TestPagesMatchSampleSite -update)", path)
			}
			w := httptest.NewRecorder()
			site.ServeHTTP(w, httptest.NewRequest(http.MethodGet, url, nil))
			if w.Code != http.StatusOK {
				t.Fatalf("GET %s: status %d", url, w.Code)
			}
			got := w.Body.Bytes()
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(want, got) {
				t.Errorf("%s differs from what the sample site serves at %s (run with -update if the change is deliberate)", path, url)
			}
		})
	}
}
