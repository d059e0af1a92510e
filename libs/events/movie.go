package events

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Caps on movie data.
const (
	MaxTitleLen    = 512
	MaxDirectorLen = 256
	MaxGenres      = 16
	MaxGenreLen    = 64
	MaxRatingText  = 16
	MaxRank        = 1_000_000
	MaxVotes       = 10_000_000_000
	MaxRuntime     = 2000 // minutes; the longest released films run ~ 14 h
	MinYear        = 1878 // The Horse in Motion
)

// MovieObserved is the latest version of movie.observed.
type MovieObserved = MovieObservedV2

// MovieObservedV1 is movie.observed version 1: what the first scraper read
// off a chart page.
type MovieObservedV1 struct {
	Title string `json:"title"`
	Year  int    `json:"year"`
	// Rank is the position on the chart, 1-based.
	Rank int `json:"rank"`
	// Rating is the rating as printed on the page, e.g. "8.7".
	Rating    string `json:"rating"`
	DetailURL string `json:"detailUrl,omitempty"`
}

// EventType implements Data.
func (MovieObservedV1) EventType() string { return TypeMovieObserved }

// SchemaVersion implements Data.
func (MovieObservedV1) SchemaVersion() int { return 1 }

func (m MovieObservedV1) validate(t time.Time) error {
	var p problems
	p.add(checkTitle(m.Title))
	p.add(checkYear(m.Year, t))
	p.add(checkRank(m.Rank))
	if m.Rating == "" {
		p.add(errors.New("rating: required"))
	} else if len(m.Rating) > MaxRatingText {
		p.add(fmt.Errorf("rating: longer than %d bytes", MaxRatingText))
	} else if _, err := parseRatingText(m.Rating); err != nil {
		p.add(fmt.Errorf("rating: %w", err))
	}
	if m.DetailURL != "" {
		p.add(checkURL("detailUrl", m.DetailURL))
	}
	return p.err()
}

// parseRatingText reads a rating as printed: "8.7", " 8,7 ", "8.7/10".
func parseRatingText(s string) (float64, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, "/10")
	s = strings.Replace(s, ",", ".", 1)
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if err := checkRatingValue(f); err != nil {
		return 0, err
	}
	return f, nil
}

// Upcast lifts a version 1 observation to version 2: the printed rating
// becomes a number with an unknown (zero) vote count; director, genres and
// runtime, which version 1 did not carry, are empty.
func (m MovieObservedV1) Upcast() (MovieObservedV2, error) {
	r, err := parseRatingText(m.Rating)
	if err != nil {
		return MovieObservedV2{}, fmt.Errorf("rating: %w", err)
	}
	return MovieObservedV2{
		Title:     m.Title,
		Year:      m.Year,
		Rank:      m.Rank,
		Rating:    Rating{Value: r},
		DetailURL: m.DetailURL,
	}, nil
}

// MovieObservedV2 is movie.observed version 2. It adds director, genres and
// runtime, and changes the shape of rating: a number with its vote count
// instead of the printed text.
type MovieObservedV2 struct {
	Title string `json:"title"`
	Year  int    `json:"year"`
	// Rank is the position on the chart, 1-based; 0 when the page has none.
	Rank           int      `json:"rank,omitempty"`
	Rating         Rating   `json:"rating"`
	Director       string   `json:"director,omitempty"`
	Genres         []string `json:"genres,omitempty"`
	RuntimeMinutes int      `json:"runtimeMinutes,omitempty"`
	DetailURL      string   `json:"detailUrl,omitempty"`
}

// Rating is a rating on a 0..10 scale and the number of votes behind it
// (0: unknown).
type Rating struct {
	Value float64 `json:"value"`
	Votes int64   `json:"votes,omitempty"`
}

// EventType implements Data.
func (MovieObservedV2) EventType() string { return TypeMovieObserved }

// SchemaVersion implements Data.
func (MovieObservedV2) SchemaVersion() int { return 2 }

func (m MovieObservedV2) validate(t time.Time) error {
	var p problems
	p.add(checkTitle(m.Title))
	p.add(checkYear(m.Year, t))
	if m.Rank != 0 {
		p.add(checkRank(m.Rank))
	}
	if err := checkRatingValue(m.Rating.Value); err != nil {
		p.add(fmt.Errorf("rating.value: %w", err))
	}
	if m.Rating.Votes < 0 || m.Rating.Votes > MaxVotes {
		p.add(fmt.Errorf("rating.votes: %d not in 0..%d", m.Rating.Votes, int64(MaxVotes)))
	}
	p.add(checkString("director", m.Director, MaxDirectorLen, false))
	if len(m.Genres) > MaxGenres {
		p.add(fmt.Errorf("genres: more than %d", MaxGenres))
	}
	for i, g := range m.Genres {
		if err := checkString("genre", g, MaxGenreLen, true); err != nil {
			p.add(fmt.Errorf("genres[%d]: %w", i, err))
		}
	}
	if m.RuntimeMinutes < 0 || m.RuntimeMinutes > MaxRuntime {
		p.add(fmt.Errorf("runtimeMinutes: %d not in 0..%d", m.RuntimeMinutes, MaxRuntime))
	}
	if m.DetailURL != "" {
		p.add(checkURL("detailUrl", m.DetailURL))
	}
	return p.err()
}

// problems collects validation errors without allocating while there are
// none: validation runs on every decoded record.
type problems []error

func (p *problems) add(err error) {
	if err != nil {
		*p = append(*p, err)
	}
}

func (p problems) err() error { return errors.Join(p...) }

func checkTitle(s string) error { return checkString("title", s, MaxTitleLen, true) }

func checkString(field, s string, maxLen int, required bool) error {
	switch {
	case s == "" && required:
		return fmt.Errorf("%s: required", field)
	case len(s) > maxLen:
		return fmt.Errorf("%s: longer than %d bytes", field, maxLen)
	case s != strings.TrimSpace(s):
		return fmt.Errorf("%s: leading or trailing space", field)
	}
	return nil
}

// checkYear accepts MinYear up to the year after the observation (films are
// announced with next year's date).
func checkYear(y int, t time.Time) error {
	if latest := t.UTC().Year() + 1; y < MinYear || y > latest {
		return fmt.Errorf("year: %d not in %d..%d", y, MinYear, latest)
	}
	return nil
}

func checkRank(r int) error {
	if r < 1 || r > MaxRank {
		return fmt.Errorf("rank: %d not in 1..%d", r, MaxRank)
	}
	return nil
}

func checkRatingValue(f float64) error {
	if math.IsNaN(f) || f < 0 || f > 10 {
		return fmt.Errorf("%v not in 0..10", f)
	}
	return nil
}
