package boot_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// godfather is the movie the query test seeds.
var godfather = store.Movie{
	ID:            "the-godfather-1972",
	Title:         "The Godfather",
	Year:          1972,
	Rank:          2,
	Rating:        9.2,
	Source:        "https://films.example.org/site/chart?page=1",
	FirstSeen:     time.Date(2026, 11, 27, 4, 20, 0, 123e6, time.UTC),
	LastSeen:      time.Date(2026, 11, 27, 4, 20, 0, 123e6, time.UTC),
	LastRunID:     "run-20261127-042000-3f9a2c1b",
	LastEventID:   "bcadddeb-75eb-5e67-8998-ecdd34e77708",
	LastEventTime: time.Date(2026, 11, 27, 4, 20, 0, 123e6, time.UTC),
}

// queryFixture creates the tables with one movie and returns the query
// function's environment and a recorded GET /movies.
func queryFixture(tb testing.TB) (map[string]string, []byte) {
	tb.Helper()
	backend := newTables(tb, motoEndpoints(tb))
	if _, err := backend.Store.ApplyMovie(context.Background(), godfather); err != nil {
		tb.Fatal(err)
	}
	env := backend.Env
	env[contract.EnvCursorKey] = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // 32 bytes
	return env, event(tb, "query-list-movies.json")
}

func TestBootQuery(t *testing.T) {
	t.Parallel()
	env, _ := queryFixture(t)
	e := boot(t, "query", env)

	type movie struct {
		ID     string  `json:"id"`
		Title  string  `json:"title"`
		Year   int     `json:"year"`
		Rating float64 `json:"rating"`
	}
	type result struct {
		Status int
		Movies []movie
		Error  string
	}
	decode := func(file string) result {
		r := decodeHTTP(t, invoke(t, e, file).Payload)
		got := result{Status: r.Status}
		var body struct {
			Items []movie `json:"items"`
			movie
			Error struct {
				Code string `json:"code"`
			} `json:"error"`
		}
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil {
			t.Fatalf("%s: body %q: %v", file, r.Body, err)
		}
		got.Movies = body.Items
		if body.ID != "" {
			got.Movies = []movie{body.movie}
		}
		got.Error = body.Error.Code
		return got
	}
	want := []movie{{ID: godfather.ID, Title: godfather.Title, Year: godfather.Year, Rating: godfather.Rating}}
	got := map[string]result{
		"list":    decode("query-list-movies.json"),
		"get":     decode("query-get-movie.json"),
		"unknown": decode("query-get-movie-unknown.json"),
	}
	wantResults := map[string]result{
		"list":    {Status: 200, Movies: want},
		"get":     {Status: 200, Movies: want},
		"unknown": {Status: 404, Error: "not_found"},
	}
	if diff := cmp.Diff(wantResults, got); diff != "" {
		t.Errorf("query answers (-want +got):\n%s", diff)
	}
}
