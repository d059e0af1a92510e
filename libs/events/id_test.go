package events

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestEventID(t *testing.T) {
	a := EventID("run-1", "https://x.org/chart", "the-godfather-1972")
	if b := EventID("run-1", "https://x.org/chart", "the-godfather-1972"); a != b {
		t.Errorf("same inputs gave %s and %s", a, b)
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	if !uuid.MatchString(a) {
		t.Errorf("%s is not a version 5 UUID", a)
	}
	others := [][3]string{
		{"run-2", "https://x.org/chart", "the-godfather-1972"},
		{"run-1", "https://x.org/chart?page=2", "the-godfather-1972"},
		{"run-1", "https://x.org/chart", "the-godfather-1974"},
		// The separator keeps field boundaries: no ambiguity by concatenation.
		{"run-1https://x.org/chart", "", "the-godfather-1972"},
	}
	for _, o := range others {
		if b := EventID(o[0], o[1], o[2]); b == a {
			t.Errorf("EventID%v collides with the original", o)
		}
	}
}

func TestNewRunID(t *testing.T) {
	now := time.Date(2026, 11, 27, 4, 20, 0, 0, time.UTC)
	a, b := NewRunID(now), NewRunID(now)
	if a == b {
		t.Errorf("two run ids are equal: %s", a)
	}
	if !regexp.MustCompile(`^run-20261127-042000-[0-9a-f]{8}$`).MatchString(a) {
		t.Errorf("run id %q has the wrong shape", a)
	}
	if err := checkToken("runid", a, MaxRunIDLen); err != nil {
		t.Error(err)
	}
}

func TestMovieID(t *testing.T) {
	tests := []struct {
		siteID, title string
		year          int
		want          string
	}{
		{"", "The Godfather", 1972, "the-godfather-1972"},
		{"", "Schindler's List", 1993, "schindlers-list-1993"},
		{"", "Amélie", 2001, "amelie-2001"},
		{"", "Léon: The Professional", 1994, "leon-the-professional-1994"},
		{"", "  WALL·E  ", 2008, "wall-e-2008"},
		{"", "Das Boot", 1981, "das-boot-1981"},
		{"", "Der Untergang (Straße)", 2004, "der-untergang-strasse-2004"},
		{"", "千と千尋の神隠し", 2001, "9f71d092-2001"},
		{"", "Ran 乱", 1985, "ran-2182980a-1985"},
		{"tt0068646", "ignored", 1972, "tt0068646"},
		{"Film/42", "", 0, "film-42"},
		{"---", "", 0, "id-" + shortHash("---")},
	}
	for _, tt := range tests {
		t.Run(tt.title+tt.siteID, func(t *testing.T) {
			got := MovieID(tt.siteID, tt.title, tt.year)
			if got != tt.want {
				t.Errorf("MovieID = %q, want %q", got, tt.want)
			}
			if !ValidMovieID(got) {
				t.Errorf("MovieID = %q is not a valid movie id", got)
			}
			if again := MovieID(tt.siteID, tt.title, tt.year); again != got {
				t.Errorf("not stable: %q then %q", got, again)
			}
		})
	}
	if a, b := MovieID("", "千と千尋の神隠し", 2001), MovieID("", "もののけ姫", 2001); a == b {
		t.Errorf("two non-Latin titles collide: %s", a)
	}
	// A site id that slugs past the cap is trimmed and keeps a hash of
	// the whole id, so two long ids with a common prefix stay apart.
	longA, longB := repeat("a", 120), repeat("a", 119)+"b"
	for _, id := range []string{longA, longB, repeat("ab-", 50)} {
		got := MovieID(id, "", 0)
		if len(got) > MaxMovieIDLen || !ValidMovieID(got) || got != MovieID(id, "", 0) {
			t.Errorf("MovieID(%q) = %q (%d bytes), want a stable valid id", id, got, len(got))
		}
		if want := "-" + shortHash(id); !strings.HasSuffix(got, want) {
			t.Errorf("MovieID(%q) = %q, want the suffix %q", id, got, want)
		}
	}
	if MovieID(longA, "", 0) == MovieID(longB, "", 0) {
		t.Errorf("two long site ids collide: %s", MovieID(longA, "", 0))
	}
	if got := MovieID(repeat("a", MaxMovieIDLen), "", 0); got != repeat("a", MaxMovieIDLen) {
		t.Errorf("a site id at the cap changed: %q", got)
	}
	long := MovieID("", repeat("very long title ", 40), 1999)
	if len(long) > MaxMovieIDLen || !ValidMovieID(long) {
		t.Errorf("long title gave %q (%d bytes)", long, len(long))
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func TestValidMovieID(t *testing.T) {
	for _, s := range []string{"a", "a-b", "the-godfather-1972", "0"} {
		if !ValidMovieID(s) {
			t.Errorf("ValidMovieID(%q) = false", s)
		}
	}
	for _, s := range []string{"", "-a", "a-", "a--b", "A", "a b", "a/b", "é", repeat("a", MaxMovieIDLen+1)} {
		if ValidMovieID(s) {
			t.Errorf("ValidMovieID(%q) = true", s)
		}
	}
}
