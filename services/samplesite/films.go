package samplesite

import (
	"bufio"
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"
)

// Chart geometry: the chart lists every film of the dataset, PageSize per
// page, on Pages pages.
const (
	// ChartSize is the number of films on the chart (and in the dataset).
	ChartSize = 250
	// PageSize is the number of films per chart page.
	PageSize = 50
	// Pages is the number of chart pages (?page=1..Pages).
	Pages = ChartSize / PageSize
)

// LastModified is the fixed date of the dataset: every page of a frozen
// site (and robots.txt and the stylesheet of any site) carries it as
// Last-Modified, so conditional requests behave the same across restarts
// and Lambda instances. A drifting site's pages carry the start of their
// period instead (Drift.Start); its votes grow from this date.
var LastModified = time.Date(2025, time.March, 1, 0, 0, 0, 0, time.UTC)

// Film is one entry of the chart. Title, Year, Directors, RuntimeMinutes and
// Genres are facts about real films; Rank, Rating and Votes are the site's
// own deterministic numbers, which move from period to period when the
// site drifts (see Drift).
type Film struct {
	// ID is the stable slug used in URLs and data-film-id, e.g.
	// "the-godfather-1972": the title folded to lower-case ASCII words
	// joined by "-", then the year.
	ID    string
	Rank  int // 1..ChartSize, the chart position
	Title string
	Year  int
	// Directors lists the credited directors (usually one).
	Directors      []string
	RuntimeMinutes int
	Genres         []string
	// RatingTenths is the rating times ten (0..100): 93 means 9.3/10.
	// Integer tenths keep the value exact; Rating gives the float.
	RatingTenths int
	Votes        int
}

// Rating returns the rating on the 0–10 scale with one decimal.
func (f Film) Rating() float64 { return float64(f.RatingTenths) / 10 }

// RatingText is the rating as printed on the pages, e.g. "9.3".
func (f Film) RatingText() string {
	return fmt.Sprintf("%d.%d", f.RatingTenths/10, f.RatingTenths%10)
}

// Director is the director credit as one string, the way the detail page's
// dd.director reads as text: names joined by ", ".
func (f Film) Director() string { return strings.Join(f.Directors, ", ") }

// Path is the site-relative URL of the film's detail page.
func (f Film) Path() string { return FilmPathPrefix + f.ID }

//go:embed data/films.tsv
var filmsTSV []byte

// dataset is parsed once at package init: the embedded file is part of the
// binary, so a bad line is a programming error caught by every test run.
var dataset = mustParseFilms(filmsTSV)

// Films returns a copy of the frozen chart (the site with Drift 0) in rank
// order. Other modules' tests use it as the expected result of scraping
// the site; ChartAt and Drift.Films give the chart of a drifting site.
func Films() []Film { return copyFilms(dataset) }

// datasetIndex maps a film id to its index in dataset (its base rank - 1).
var datasetIndex = func() map[string]int {
	m := make(map[string]int, len(dataset))
	for i, f := range dataset {
		m[f.ID] = i
	}
	return m
}()

func mustParseFilms(b []byte) []Film {
	films, err := parseFilms(b)
	if err != nil {
		panic(fmt.Sprintf("samplesite: embedded dataset: %v", err))
	}
	return films
}

// parseFilms reads the TSV dataset: title, year, directors (";"-separated),
// runtime in minutes, genres (","-separated). Lines starting with # are
// comments. Rank follows line order; rating and votes are derived.
func parseFilms(b []byte) ([]Film, error) {
	var (
		films []Film
		errs  []error
		seen  = map[string]int{}
	)
	sc := bufio.NewScanner(bytes.NewReader(b))
	line := 0
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f, err := parseFilmLine(text)
		if err != nil {
			errs = append(errs, fmt.Errorf("line %d: %w", line, err))
			continue
		}
		if prev, dup := seen[f.ID]; dup {
			errs = append(errs, fmt.Errorf("line %d: duplicate film %q (first on line %d)", line, f.ID, prev))
			continue
		}
		seen[f.ID] = line
		f.Rank = len(films) + 1
		films = append(films, f)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("read dataset: %w", err))
	}
	if len(films) != ChartSize {
		errs = append(errs, fmt.Errorf("dataset has %d films, want %d", len(films), ChartSize))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i := range films {
		films[i].RatingTenths = ratingForRank(films[i].Rank)
		films[i].Votes = votesFor(films[i].ID, films[i].Rank)
	}
	return films, nil
}

func parseFilmLine(text string) (Film, error) {
	cols := strings.Split(text, "\t")
	if len(cols) != 5 {
		return Film{}, fmt.Errorf("want 5 tab-separated columns, got %d", len(cols))
	}
	var errs []error
	f := Film{Title: strings.TrimSpace(cols[0])}
	if f.Title == "" {
		errs = append(errs, errors.New("empty title"))
	}
	year, err := strconv.Atoi(cols[1])
	if err != nil || year < 1888 || year > 2100 {
		errs = append(errs, fmt.Errorf("bad year %q", cols[1]))
	}
	f.Year = year
	f.Directors = splitList(cols[2], ";")
	if len(f.Directors) == 0 {
		errs = append(errs, errors.New("no director"))
	}
	runtime, err := strconv.Atoi(cols[3])
	if err != nil || runtime < 1 || runtime > 1000 {
		errs = append(errs, fmt.Errorf("bad runtime %q", cols[3]))
	}
	f.RuntimeMinutes = runtime
	f.Genres = splitList(cols[4], ",")
	if len(f.Genres) == 0 {
		errs = append(errs, errors.New("no genre"))
	}
	if err := errors.Join(errs...); err != nil {
		return Film{}, fmt.Errorf("%q: %w", f.Title, err)
	}
	f.ID = Slug(f.Title, f.Year)
	return f, nil
}

func splitList(s, sep string) []string {
	var out []string
	for p := range strings.SplitSeq(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// ratingForRank spreads ratings from 9.3 (rank 1) down to 7.8 (rank 250),
// never increasing with rank, so the chart reads like a real top list.
func ratingForRank(rank int) int {
	return 93 - (rank-1)*15/(ChartSize-1)
}

// votesFor derives a plausible, stable vote count: higher ranks get more
// votes on average, and a hash of the id spreads them.
func votesFor(id string, rank int) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	spread := int(h.Sum32() % 900_000)
	return 2_400_000 - rank*7_000 + spread - 450_000 + 60_000
}

// foldRunes maps the non-ASCII letters of the dataset to ASCII for slugs.
var foldRunes = map[rune]string{
	'á': "a", 'à': "a", 'â': "a", 'ä': "a", 'ã': "a", 'å': "a",
	'é': "e", 'è': "e", 'ê': "e", 'ë': "e",
	'í': "i", 'ì': "i", 'î': "i", 'ï': "i",
	'ó': "o", 'ò': "o", 'ô': "o", 'ö': "o", 'õ': "o", 'ō': "o", 'ø': "o",
	'ú': "u", 'ù': "u", 'û': "u", 'ü': "u", 'ū': "u",
	'ñ': "n", 'ç': "c", 'š': "s", 'ž': "z", 'č': "c", 'ß': "ss",
	'æ': "ae", 'œ': "oe",
}

// Slug builds a film id from its title and year: lower-case, accents
// folded, runs of anything but letters and digits collapsed to one "-",
// apostrophes dropped ("Schindler's List" 1993 → "schindlers-list-1993").
func Slug(title string, year int) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(title) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case r == '\'' || r == '’':
			// "schindlers", not "schindler-s".
		case foldRunes[r] != "":
			b.WriteString(foldRunes[r])
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	s := strings.TrimSuffix(b.String(), "-")
	if s != "" {
		s += "-"
	}
	return s + strconv.Itoa(year)
}
