package scraper_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html/charset"

	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
)

// recode serves site's HTML pages re-encoded: as label (via encoding, whose
// encoder writes HTML character references for runes it lacks) when
// recode(r) says which; other responses pass unchanged.
func recode(site http.Handler, which func(r *http.Request) (label, encoding string)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		label, name := which(r)
		if label == "" {
			site.ServeHTTP(w, r)
			return
		}
		r = r.Clone(r.Context())
		r.Header.Del("Accept-Encoding")
		rec := httptest.NewRecorder()
		site.ServeHTTP(rec, r)
		body := rec.Body.Bytes()
		if name != "" {
			e, _ := charset.Lookup(name)
			var err error
			if body, err = e.NewEncoder().Bytes(body); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.Header().Set("Content-Type", "text/html; charset="+label)
		w.WriteHeader(rec.Code)
		w.Write(body)
	})
}

// TestLegacyCharset: a site serving every page, chart and detail, as
// ISO-8859-1 (which browsers and the Encoding Standard read as
// windows-1252) is scraped to exactly the films the UTF-8 site gives:
// "Léon", "Miloš Forman" and "Kátia Lund" intact, not "L\ufffdon".
func TestLegacyCharset(t *testing.T) {
	site := recode(samplesite.New(samplesite.Options{}), func(r *http.Request) (string, string) {
		if r.URL.Path == "/robots.txt" || strings.HasPrefix(r.URL.Path, "/static/") {
			return "", ""
		}
		return "iso-8859-1", "windows-1252"
	})
	e := newEnv(t, envOpts{site: site})
	got := e.post(t, "")
	if got.Status != http.StatusAccepted || got.Summary.Published != 250 || got.Summary.Skipped != 0 {
		t.Fatalf("got %+v; want 202 with 250 published", got)
	}
	movies, _ := checkRun(t, e.pub.decoded(t))
	if diff := cmp.Diff(wantMovies(e.site.URL), movies); diff != "" {
		t.Errorf("published movies (-want +got):\n%s", diff)
	}
}

// TestUnsupportedCharset: a page declaring an encoding that cannot be
// decoded is a clear failure naming it: the first page's is a 502
// unsupported_charset with nothing published; a later page's ends the run
// with the error in scrape.completed.
func TestUnsupportedCharset(t *testing.T) {
	t.Run("first page", func(t *testing.T) {
		e := newEnv(t, envOpts{})
		target := e.site.URL + samplesite.ChartPageURL(1) + "&ctype=" + url.QueryEscape("text/html; charset=x-klingon")
		got := e.post(t, fmt.Sprintf(`{"url": %q}`, target))
		if got.Status != http.StatusBadGateway || got.Error.Code != scraper.CodeUnsupportedCharset || !strings.Contains(got.Error.Message, `"x-klingon"`) {
			t.Errorf("got %d %q (%s); want 502 %s naming x-klingon", got.Status, got.Error.Code, got.Error.Message, scraper.CodeUnsupportedCharset)
		}
		if n := len(e.pub.recs); n != 0 {
			t.Errorf("%d records published", n)
		}
	})
	t.Run("later page", func(t *testing.T) {
		site := recode(samplesite.New(samplesite.Options{}), func(r *http.Request) (string, string) {
			if r.URL.Path == samplesite.ChartPath && r.URL.Query().Get("page") == "3" {
				return "iso-2022-kr", ""
			}
			return "", ""
		})
		e := newEnv(t, envOpts{site: site})
		got := e.post(t, "")
		if got.Status != http.StatusBadGateway || got.Error.Code != scraper.CodeUnsupportedCharset || !strings.Contains(got.Error.Message, "run-") {
			t.Errorf("got %d %q (%s); want 502 %s naming the run", got.Status, got.Error.Code, got.Error.Message, scraper.CodeUnsupportedCharset)
		}
		movies, completed := checkRun(t, e.pub.decoded(t))
		if len(movies) != 100 || completed.Pages != 2 || !strings.Contains(completed.Error, `unsupported charset`) || !strings.Contains(completed.Error, `"iso-2022-kr"`) {
			t.Errorf("%d movies, completed %+v; want 100 over 2 pages and the charset error", len(movies), completed)
		}
	})
}
