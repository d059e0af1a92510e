package scraper

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/profile"
)

// movieFields maps the profile field names the scraper reads into
// movie.observed to the types each may have. Other fields (say, a site id
// used by the id template) are allowed and not published.
var movieFields = map[string][]profile.Type{
	"title":          {profile.String},
	"year":           {profile.Int},
	"rank":           {profile.Int},
	"rating":         {profile.Float, profile.Int},
	"votes":          {profile.Int},
	"director":       {profile.String, profile.List},
	"genres":         {profile.List, profile.String},
	"runtimeMinutes": {profile.Int},
	"detailUrl":      {profile.URL},
}

// checkMovieProfile reports every way p cannot feed movie.observed: it must
// declare title and year, and the fields it shares with the event must have
// fitting types.
func checkMovieProfile(p *profile.Profile) error {
	var errs []error
	for _, name := range []string{"title", "year"} {
		if _, _, ok := p.FieldType(name); !ok {
			errs = append(errs, fmt.Errorf("field %q: required by movie.observed", name))
		}
	}
	names := make([]string, 0, len(movieFields))
	for name := range movieFields {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		t, _, ok := p.FieldType(name)
		if ok && !slices.Contains(movieFields[name], t) {
			errs = append(errs, fmt.Errorf("field %q: type %s, want %s", name, t, joinTypes(movieFields[name])))
		}
	}
	return errors.Join(errs...)
}

func joinTypes(ts []profile.Type) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, " or ")
}

// movie maps an extracted item to movie.observed data. Fields the item
// lacks stay zero; events.Encode then rejects what the schema requires.
func movie(it profile.Item) events.MovieObserved {
	f := it.Fields
	m := events.MovieObserved{
		Title:          f["title"].Text,
		Year:           int(clampInt(f["year"].Int)),
		Rank:           int(clampInt(f["rank"].Int)),
		RuntimeMinutes: int(clampInt(f["runtimeMinutes"].Int)),
		DetailURL:      f["detailUrl"].Text,
		Rating:         events.Rating{Votes: f["votes"].Int},
	}
	if v, ok := f["rating"]; ok {
		m.Rating.Value = v.Float
		if v.Type == profile.Int {
			m.Rating.Value = float64(v.Int)
		}
	}
	if v, ok := f["director"]; ok {
		m.Director = v.Text // a list's Text joins it with ", "
	}
	if v, ok := f["genres"]; ok {
		m.Genres = v.List
		if v.Type == profile.String {
			m.Genres = []string{v.Text}
		}
	}
	return m
}

// clampInt keeps a parsed int64 inside int32 so that a huge number on a
// page fails the event's range checks instead of wrapping around.
func clampInt(n int64) int64 {
	const lim = 1 << 31
	return max(-lim, min(n, lim))
}
