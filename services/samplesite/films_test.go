package samplesite

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDataset(t *testing.T) {
	films := Films()
	if len(films) != ChartSize {
		t.Fatalf("%d films, want %d", len(films), ChartSize)
	}
	slug := regexp.MustCompile(`^([a-z0-9]+-)+[0-9]{4}$`)
	ids := map[string]bool{}
	titleYears := map[string]bool{}
	for i, f := range films {
		if f.Rank != i+1 {
			t.Errorf("%s: rank %d at position %d", f.ID, f.Rank, i)
		}
		if !slug.MatchString(f.ID) {
			t.Errorf("%q is not a slug", f.ID)
		}
		if ids[f.ID] {
			t.Errorf("duplicate id %s", f.ID)
		}
		ids[f.ID] = true
		ty := strings.ToLower(f.Title) + "|" + f.ID[len(f.ID)-4:]
		if titleYears[ty] {
			t.Errorf("duplicate title and year %s", ty)
		}
		titleYears[ty] = true
		if f.RatingTenths < 0 || f.RatingTenths > 100 {
			t.Errorf("%s: rating %d tenths out of 0..100", f.ID, f.RatingTenths)
		}
		if i > 0 && f.RatingTenths > films[i-1].RatingTenths {
			t.Errorf("%s: rating %s above the previous rank's %s", f.ID, f.RatingText(), films[i-1].RatingText())
		}
		if f.Votes < 1000 {
			t.Errorf("%s: %d votes", f.ID, f.Votes)
		}
		if f.RuntimeMinutes < 40 || f.RuntimeMinutes > 240 {
			t.Errorf("%s: runtime %d min is implausible for these films", f.ID, f.RuntimeMinutes)
		}
		if f.Year < 1920 || f.Year > 2025 {
			t.Errorf("%s: year %d", f.ID, f.Year)
		}
		for _, g := range f.Genres {
			if !knownGenres[g] {
				t.Errorf("%s: unknown genre %q", f.ID, g)
			}
		}
	}
}

var knownGenres = map[string]bool{"Action": true, "Adventure": true, "Animation": true, "Biography": true,
	"Comedy": true, "Crime": true, "Drama": true, "Family": true, "Fantasy": true, "Film-Noir": true,
	"History": true, "Horror": true, "Music": true, "Musical": true, "Mystery": true, "Romance": true,
	"Sci-Fi": true, "Sport": true, "Thriller": true, "War": true, "Western": true}

func TestFilmsReturnsACopy(t *testing.T) {
	a := Films()
	a[0].Title = "changed"
	a[0].Genres[0] = "changed"
	b := Films()
	if b[0].Title == "changed" || b[0].Genres[0] == "changed" {
		t.Error("Films exposes the dataset to changes by the caller")
	}
}

func TestFilmFacts(t *testing.T) {
	// A few films checked by hand against their well-known facts.
	byID := map[string]Film{}
	for _, f := range Films() {
		byID[f.ID] = f
	}
	type facts struct {
		Title     string
		Year      int
		Directors []string
		Runtime   int
		Genres    []string
	}
	tests := map[string]facts{
		"the-godfather-1972":          {"The Godfather", 1972, []string{"Francis Ford Coppola"}, 175, []string{"Crime", "Drama"}},
		"schindlers-list-1993":        {"Schindler's List", 1993, []string{"Steven Spielberg"}, 195, []string{"Biography", "Drama", "History"}},
		"wall-e-2008":                 {"WALL·E", 2008, []string{"Andrew Stanton"}, 98, []string{"Animation", "Adventure", "Family"}},
		"leon-the-professional-1994":  {"Léon: The Professional", 1994, []string{"Luc Besson"}, 110, []string{"Action", "Crime", "Drama"}},
		"no-country-for-old-men-2007": {"No Country for Old Men", 2007, []string{"Joel Coen", "Ethan Coen"}, 122, []string{"Crime", "Drama", "Thriller"}},
		"m-1931":                      {"M", 1931, []string{"Fritz Lang"}, 117, []string{"Crime", "Mystery", "Thriller"}},
	}
	for id, want := range tests {
		f, ok := byID[id]
		if !ok {
			t.Errorf("no film %s", id)
			continue
		}
		got := facts{f.Title, f.Year, f.Directors, f.RuntimeMinutes, f.Genres}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", id, diff)
		}
	}
}

func TestSlug(t *testing.T) {
	tests := []struct {
		title string
		year  int
		want  string
	}{
		{"The Godfather", 1972, "the-godfather-1972"},
		{"Schindler's List", 1993, "schindlers-list-1993"},
		{"Dr. Strangelove or: How I Learned to Stop Worrying and Love the Bomb", 1964, "dr-strangelove-or-how-i-learned-to-stop-worrying-and-love-the-bomb-1964"},
		{"WALL·E", 2008, "wall-e-2008"},
		{"Amélie", 2001, "amelie-2001"},
		{"Nausicaä of the Valley of the Wind", 1984, "nausicaa-of-the-valley-of-the-wind-1984"},
		{"Birdman or (The Unexpected Virtue of Ignorance)", 2014, "birdman-or-the-unexpected-virtue-of-ignorance-2014"},
		{"Your Name.", 2016, "your-name-2016"},
		{"1917", 2019, "1917-2019"},
		{"…", 2000, "2000"},
	}
	for _, tc := range tests {
		if got := Slug(tc.title, tc.year); got != tc.want {
			t.Errorf("Slug(%q, %d) = %q, want %q", tc.title, tc.year, got, tc.want)
		}
	}
}

func TestParseFilmsErrors(t *testing.T) {
	tests := []struct {
		name, tsv string
		want      []string // substrings of the error
	}{
		{"wrong columns", "Alien\t1979\tRidley Scott\t117\n", []string{"line 1", "want 5 tab-separated columns, got 4"}},
		{"bad fields", "\tyear\t\t0\t\n", []string{"empty title", `bad year "year"`, "no director", `bad runtime "0"`, "no genre"}},
		{"duplicate", "Alien\t1979\tRidley Scott\t117\tHorror\n# comment\nAlien\t1979\tRidley Scott\t117\tHorror\n",
			[]string{`line 3: duplicate film "alien-1979" (first on line 1)`}},
		{"too few films", "Alien\t1979\tRidley Scott\t117\tHorror\n", []string{"dataset has 1 films, want 250"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFilms([]byte(tc.tsv))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

func TestFormatting(t *testing.T) {
	got := []string{thousands(0), thousands(999), thousands(1000), thousands(2812345), hoursMinutes(45), hoursMinutes(60), hoursMinutes(142),
		initials("The Night of the Hunter"), initials("M"), initials("12 Angry Men"), initials("…")}
	want := []string{"0", "999", "1,000", "2,812,345", "45m", "1h 0m", "2h 22m", "NH", "M", "1A", "?"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
