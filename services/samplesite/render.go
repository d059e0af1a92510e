package samplesite

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// Site-relative paths. The index is served at both IndexPath and
// IndexPath+"/"; pages link to the latter.
const (
	RobotsPath     = "/robots.txt"
	IndexPath      = "/site"
	ChartPath      = contract.SampleSiteChartPath
	FilmPathPrefix = "/site/films/"
	StylePath      = "/site/static/style.css"
	// DisallowedPrefix is disallowed for every user agent in robots.txt.
	DisallowedPrefix = "/site/private/"
	// BlockedUserAgent is a robots.txt group disallowed from the whole
	// site, for tests of a scraper that identifies itself as it.
	BlockedUserAgent = "BadBot"
)

const siteName = "Reel Index"

// ChartPageURL is the site-relative URL of chart page p (1..Pages), as used
// in the pagination and rel="next"/rel="prev" links.
func ChartPageURL(p int) string { return ChartPath + "?page=" + strconv.Itoa(p) }

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static/style.css
var styleCSS []byte

var templates = template.Must(template.New("site").Funcs(template.FuncMap{
	"siteName":     func() string { return siteName },
	"stylePath":    func() string { return StylePath },
	"indexPath":    func() string { return IndexPath + "/" },
	"chartPath":    func() string { return ChartPath },
	"initials":     initials,
	"thousands":    thousands,
	"hoursMinutes": hoursMinutes,
	"join":         strings.Join,
}).ParseFS(templateFS, "templates/*.html"))

// asOf is the "Data as of" stamp in every HTML page's footer: ISO for
// the <time datetime> attribute, Text for people.
type asOf struct{ ISO, Text string }

// frozenAsOf is a frozen site's stamp: the dataset date.
var frozenAsOf = asOf{LastModified.Format("2006-01-02"), LastModified.Format("2 January 2006")}

// periodAsOf is a drifting site's stamp: the start of the page's period,
// to the second.
func periodAsOf(start time.Time) asOf {
	start = start.UTC()
	text := "2 January 2006, 15:04 UTC"
	if start.Second() != 0 || start.Nanosecond() != 0 {
		text = "2 January 2006, 15:04:05 UTC"
	}
	return asOf{start.Format(time.RFC3339Nano), start.Format(text)}
}

// page is the data of every template; each page type fills its part.
type page struct {
	AsOf        asOf
	Title       string
	Description string
	Canonical   string
	PrevURL     string // rel="prev" in head (chart only)
	NextURL     string // rel="next" in head and the Next link (chart only)
	BodyClass   string

	// Chart and index.
	Page, PageCount int
	First, Last     int
	Total           int
	Films           []Film
	PageLinks       []pageLink
	Film            Film
	PrevFilm        *Film
	NextFilm        *Film
	ChartPageURL    string
	Message         string
}

type pageLink struct {
	Number  int
	URL     string
	Current bool
}

func render(name string, p page) []byte {
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name, p); err != nil {
		// The templates and data are embedded: failing here is a bug that
		// every test run catches.
		panic(fmt.Sprintf("samplesite: render %s: %v", name, err))
	}
	return b.Bytes()
}

func renderChart(films []Film, p int, at asOf) []byte {
	first := (p-1)*PageSize + 1
	d := page{
		AsOf:        at,
		Title:       fmt.Sprintf("Top 250 Films, page %d of %d", p, Pages),
		Description: fmt.Sprintf("The Top 250 films chart, ranks %d to %d.", first, first+PageSize-1),
		Canonical:   ChartPageURL(p),
		BodyClass:   "page-chart",
		Page:        p,
		PageCount:   Pages,
		First:       first,
		Last:        first + PageSize - 1,
		Total:       len(films),
		Films:       films[first-1 : first-1+PageSize],
	}
	if p > 1 {
		d.PrevURL = ChartPageURL(p - 1)
	}
	if p < Pages {
		d.NextURL = ChartPageURL(p + 1)
	}
	for i := 1; i <= Pages; i++ {
		d.PageLinks = append(d.PageLinks, pageLink{Number: i, URL: ChartPageURL(i), Current: i == p})
	}
	return render("chart.html", d)
}

func renderFilm(films []Film, i int, at asOf) []byte {
	f := films[i]
	d := page{
		AsOf:         at,
		Title:        fmt.Sprintf("%s (%d)", f.Title, f.Year),
		Description:  fmt.Sprintf("%s (%d), directed by %s: %d min, %s.", f.Title, f.Year, f.Director(), f.RuntimeMinutes, strings.Join(f.Genres, ", ")),
		Canonical:    f.Path(),
		BodyClass:    "page-film",
		Film:         f,
		ChartPageURL: ChartPageURL((f.Rank-1)/PageSize + 1),
	}
	if i > 0 {
		d.PrevFilm = &films[i-1]
	}
	if i+1 < len(films) {
		d.NextFilm = &films[i+1]
	}
	return render("film.html", d)
}

func renderIndex(films []Film, at asOf) []byte {
	return render("index.html", page{
		AsOf:        at,
		Title:       "Home",
		Description: "Reel Index: a chart of 250 well-known films.",
		Canonical:   IndexPath + "/",
		BodyClass:   "page-home",
		Total:       len(films),
		Films:       films[:5],
	})
}

func renderNotFound(msg string, at asOf) []byte {
	return render("notfound.html", page{
		AsOf:        at,
		Title:       "Not found",
		Description: "This page does not exist.",
		Canonical:   IndexPath + "/",
		BodyClass:   "page-not-found",
		Message:     msg,
	})
}

func robotsTxt() []byte {
	return []byte("# robots.txt for " + siteName + "\n" +
		"User-agent: " + BlockedUserAgent + "\n" +
		"Disallow: /\n" +
		"\n" +
		"User-agent: *\n" +
		"Allow: " + ChartPath + "\n" +
		"Allow: " + FilmPathPrefix + "\n" +
		"Disallow: " + DisallowedPrefix + "\n")
}

// initials gives the poster placeholder: the first letters of the first two
// significant words ("The Night of the Hunter" → "NH").
func initials(title string) string {
	words := strings.FieldsFunc(title, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	var significant []string
	for _, w := range words {
		switch strings.ToLower(w) {
		case "the", "a", "an", "of", "and", "in", "on", "to", "for", "or":
		default:
			significant = append(significant, w)
		}
	}
	if len(significant) > 0 {
		words = significant
	}
	if len(words) == 0 {
		return "?"
	}
	var b strings.Builder
	for _, w := range words[:min(2, len(words))] {
		r := []rune(w)[0]
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// thousands formats n with comma separators: 1234567 → "1,234,567".
func thousands(n int) string {
	s := strconv.Itoa(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// hoursMinutes formats a runtime: 142 → "2h 22m", 45 → "45m".
func hoursMinutes(m int) string {
	if m < 60 {
		return fmt.Sprintf("%dm", m)
	}
	return fmt.Sprintf("%dh %dm", m/60, m%60)
}
