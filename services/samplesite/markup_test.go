package samplesite

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/antchfx/htmlquery"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"
)

// The XPath expressions documented in the package doc; the scraper's
// movies profile uses the same ones.
const (
	xItems      = "//ol[@class='chart-list']/li[@class='chart-item']"
	xItemID     = "@data-film-id"
	xItemRank   = "@data-rank"
	xItemTitle  = ".//a[@class='film-link']"
	xItemURL    = ".//a[@class='film-link']/@href"
	xItemYear   = ".//span[@class='year']"
	xItemRating = ".//span[@class='rating-value']"
	xItemVotes  = ".//span[@class='votes']/@data-votes"
	xItemVotesT = ".//span[@class='votes-count']"
	xNextLink   = "//link[@rel='next']/@href"
	xNextA      = "//a[@rel='next']/@href"

	xFilm        = "//article[@class='film-detail']"
	xFilmID      = "//article[@class='film-detail']/@data-film-id"
	xFilmTitle   = "//h1[@class='film-title']"
	xFilmDir     = "//dd[@class='director']"
	xFilmPersons = "//dd[@class='director']/span[@class='person']"
	xFilmYear    = "//dd[@class='release-year']/time"
	xFilmRuntime = "//dd[@class='runtime']/@data-minutes"
	xFilmGenres  = "//ul[@class='genre-list']/li[@class='genre']"
	xFilmRating  = "//dd[@class='rating-detail']/span[@class='rating-value']"
	xFilmVotes   = "//dd[@class='vote-count']/@data-votes"
	xFilmRank    = "//dd[@class='chart-rank-detail']/@data-rank"
)

// chartRow is what a scraper gets from one chart item.
type chartRow struct {
	ID, Title, URL, Rating, VotesText string
	Rank, Year, Votes                 int
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("not an integer: %q", s)
	}
	return n
}

func extractChart(t testing.TB, doc *html.Node) []chartRow {
	t.Helper()
	var rows []chartRow
	for _, li := range htmlquery.Find(doc, xItems) {
		rows = append(rows, chartRowOf(t, li))
	}
	return rows
}

// chartRowOf reads one chart item with the documented XPaths.
func chartRowOf(t testing.TB, li *html.Node) chartRow {
	t.Helper()
	return chartRow{
		ID:        xpathText(t, li, xItemID),
		Rank:      atoi(t, xpathText(t, li, xItemRank)),
		Title:     xpathText(t, li, xItemTitle),
		URL:       xpathText(t, li, xItemURL),
		Year:      atoi(t, xpathText(t, li, xItemYear)),
		Rating:    xpathText(t, li, xItemRating),
		Votes:     atoi(t, xpathText(t, li, xItemVotes)),
		VotesText: xpathText(t, li, xItemVotesT),
	}
}

func wantRow(f Film) chartRow {
	return chartRow{ID: f.ID, Rank: f.Rank, Title: f.Title, URL: "/site/films/" + f.ID, Year: f.Year,
		Rating: f.RatingText(), Votes: f.Votes, VotesText: thousands(f.Votes)}
}

// TestChartWalk follows the rel="next" links from the chart's first page,
// as a scraper does, and finds exactly the 250 films in rank order.
func TestChartWalk(t *testing.T) {
	h := New(Options{})
	var got []chartRow
	url := ChartPath
	var visited []string
	for url != "" {
		visited = append(visited, url)
		if len(visited) > Pages+1 {
			t.Fatalf("next links loop: %v", visited)
		}
		resp := do(t, h, "GET", url, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: status %d", url, resp.StatusCode)
		}
		doc := parseHTML(t, body(t, resp))
		rows := extractChart(t, doc)
		if len(rows) != PageSize {
			t.Errorf("%s: %d items, want %d", url, len(rows), PageSize)
		}
		got = append(got, rows...)
		head, a := xpathText(t, doc, xNextLink), xpathText(t, doc, xNextA)
		if head != a {
			t.Errorf("%s: <link rel=next> %q but <a rel=next> %q", url, head, a)
		}
		url = head
	}
	wantVisited := []string{"/site/chart", "/site/chart?page=2", "/site/chart?page=3", "/site/chart?page=4", "/site/chart?page=5"}
	if diff := cmp.Diff(wantVisited, visited); diff != "" {
		t.Errorf("pages visited (-want +got):\n%s", diff)
	}
	var want []chartRow
	for _, f := range Films() {
		want = append(want, wantRow(f))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chart rows (-want +got):\n%s", diff)
	}
}

func TestChartPrevLinks(t *testing.T) {
	h := New(Options{})
	for p := 1; p <= Pages; p++ {
		doc := parseHTML(t, body(t, do(t, h, "GET", ChartPageURL(p), nil)))
		want := ""
		if p > 1 {
			want = ChartPageURL(p - 1)
		}
		got := []string{xpathText(t, doc, "//link[@rel='prev']/@href"), xpathText(t, doc, "//a[@rel='prev']/@href")}
		if diff := cmp.Diff([]string{want, want}, got); diff != "" {
			t.Errorf("page %d prev links (-want +got):\n%s", p, diff)
		}
		if got := xpathText(t, doc, "//span[@class='page-number-current']"); got != strconv.Itoa(p) {
			t.Errorf("page %d: current page marker %q", p, got)
		}
	}
}

// filmRow is what a scraper gets from a detail page.
type filmRow struct {
	ID, Title, Director, Rating string
	Directors, Genres           []string
	Year, Runtime, Votes, Rank  int
}

// extractFilm reads a detail page with the documented XPaths.
func extractFilm(t testing.TB, doc *html.Node) filmRow {
	t.Helper()
	if n := len(htmlquery.Find(doc, xFilm)); n != 1 {
		t.Fatalf("%d film articles, want 1", n)
	}
	got := filmRow{
		ID:       xpathText(t, doc, xFilmID),
		Title:    xpathText(t, doc, xFilmTitle),
		Director: xpathText(t, doc, xFilmDir),
		Rating:   xpathText(t, doc, xFilmRating),
		Year:     atoi(t, xpathText(t, doc, xFilmYear)),
		Runtime:  atoi(t, xpathText(t, doc, xFilmRuntime)),
		Votes:    atoi(t, xpathText(t, doc, xFilmVotes)),
		Rank:     atoi(t, xpathText(t, doc, xFilmRank)),
	}
	for _, n := range htmlquery.Find(doc, xFilmPersons) {
		got.Directors = append(got.Directors, htmlquery.InnerText(n))
	}
	for _, n := range htmlquery.Find(doc, xFilmGenres) {
		got.Genres = append(got.Genres, htmlquery.InnerText(n))
	}
	return got
}

func wantFilmRow(f Film) filmRow {
	return filmRow{ID: f.ID, Title: f.Title, Director: f.Director(), Rating: f.RatingText(),
		Directors: f.Directors, Genres: f.Genres, Year: f.Year, Runtime: f.RuntimeMinutes, Votes: f.Votes, Rank: f.Rank}
}

func TestFilmPages(t *testing.T) {
	h := New(Options{})
	for _, f := range Films() {
		doc := parseHTML(t, body(t, do(t, h, "GET", f.Path(), nil)))
		got := extractFilm(t, doc)
		if diff := cmp.Diff(wantFilmRow(f), got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", f.ID, diff)
		}
		// Detail pages have no rel=next: a scraper following next links
		// must not wander from the chart into the films.
		if n := len(htmlquery.Find(doc, "//*[@rel='next']")); n != 0 {
			t.Errorf("%s: %d rel=next elements", f.ID, n)
		}
	}
}

func TestIndexLinksToChart(t *testing.T) {
	doc := parseHTML(t, body(t, do(t, New(Options{}), "GET", "/site/", nil)))
	if got := xpathText(t, doc, "//a[@class='chart-link button']/@href"); got != ChartPath {
		t.Errorf("chart link %q, want %q", got, ChartPath)
	}
	var got []string
	for _, n := range htmlquery.Find(doc, "//li[@class='teaser-item']/@data-film-id") {
		got = append(got, htmlquery.InnerText(n))
	}
	var want []string
	for _, f := range dataset[:5] {
		want = append(want, f.ID)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("teaser films (-want +got):\n%s", diff)
	}
}

// TestMalformedExtraction pins what the documented XPaths recover from the
// broken chart: every item is found; kinds 0–2 are complete, kind 3 has no
// rating, kind 4 the rating "N/A".
func TestMalformedExtraction(t *testing.T) {
	h := New(Options{Knobs: true})
	for p := 1; p <= Pages; p++ {
		t.Run(fmt.Sprint("page ", p), func(t *testing.T) {
			resp := do(t, h, "GET", ChartPageURL(p)+"&malformed=1", nil)
			doc := parseHTML(t, body(t, resp))
			items := htmlquery.Find(doc, xItems)
			if len(items) != PageSize {
				t.Fatalf("%d items, want %d", len(items), PageSize)
			}
			for i, li := range items {
				f := dataset[(p-1)*PageSize+i]
				got := chartRowOf(t, li)
				want := wantRow(f)
				switch (f.Rank - 1) % malformedKinds {
				case malformedNoRating:
					want.Rating = ""
				case malformedBadRating:
					want.Rating = "N/A"
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("item %d (kind %d) (-want +got):\n%s", i, (f.Rank-1)%malformedKinds, diff)
				}
			}
			wantNext := ""
			if p < Pages {
				wantNext = ChartPageURL(p+1) + "&malformed=1"
			}
			got := []string{xpathText(t, doc, xNextLink), xpathText(t, doc, xNextA)}
			if diff := cmp.Diff([]string{wantNext, wantNext}, got); diff != "" {
				t.Errorf("next links (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPeriodStamp: every HTML page of a frozen site states the dataset
// date where a drifting one states its period (site_drift_test.go).
func TestPeriodStamp(t *testing.T) {
	h := New(Options{Knobs: true})
	for _, p := range []string{"/site/", ChartPageURL(2), "/site/films/m-1931", "/site/films/no-such-film-1900"} {
		doc := parseHTML(t, body(t, do(t, h, "GET", p, nil)))
		got := []string{xpathText(t, doc, "//p[@class='footer-updated']/time/@datetime"), xpathText(t, doc, "//p[@class='footer-updated']/time")}
		if diff := cmp.Diff([]string{"2025-03-01", "1 March 2025"}, got); diff != "" {
			t.Errorf("%s: stamp (-want +got):\n%s", p, diff)
		}
	}
}
