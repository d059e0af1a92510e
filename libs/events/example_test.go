package events_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
)

// A producer builds the latest version of an event and encodes it; the
// partition key keeps the events of one movie in order on one shard.
func ExampleEncode() {
	runID := "run-20261127-042000-3f9a2c1b"
	source := "https://films.example.org/site/chart"
	observed := time.Date(2026, 11, 27, 4, 20, 0, 0, time.UTC)

	id := events.MovieID("", "The Godfather", 1972)
	e := events.NewMovieObserved(runID, source, observed, id, events.MovieObserved{
		Title:  "The Godfather",
		Year:   1972,
		Rank:   2,
		Rating: events.Rating{Value: 9.2, Votes: 2_031_554},
	})
	raw, err := events.Encode(e)
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println(e.PartitionKey())
	fmt.Println(string(raw))
	// Output:
	// the-godfather-1972
	// {"specversion":"1.0","id":"26ca826a-8b9e-5e9e-b811-abe881b9b057","source":"https://films.example.org/site/chart","type":"movie.observed","schemaversion":2,"runid":"run-20261127-042000-3f9a2c1b","time":"2026-11-27T04:20:00Z","subject":"the-godfather-1972","datacontenttype":"application/json","data":{"title":"The Godfather","year":1972,"rank":2,"rating":{"value":9.2,"votes":2031554}}}
}

// A consumer decodes any published version and sees only the latest types;
// a decode error tells which permanent failure it is.
func ExampleDecode() {
	v1 := []byte(`{"specversion":"1.0","id":"e1","source":"https://films.example.org/site/chart",
		"type":"movie.observed","schemaversion":1,"runid":"run-1","time":"2026-11-27T04:20:00Z",
		"subject":"heat-1995","data":{"title":"Heat","year":1995,"rank":7,"rating":"8.3"}}`)
	for _, raw := range [][]byte{v1, []byte(`{"specversion":"1.0"`), []byte(`{"specversion":"1.0","id":"e2","source":"https://x.org","type":"movie.rated","schemaversion":1,"runid":"r","time":"2026-11-27T04:20:00Z","subject":"s","data":{}}`)} {
		e, err := events.Decode(raw)
		switch {
		case errors.Is(err, events.ErrMalformed):
			fmt.Println("malformed: store in errors, move on")
		case errors.Is(err, events.ErrUnknownType):
			fmt.Println("unknown type: store in errors, move on")
		case err != nil:
			fmt.Println("other permanent failure:", err)
		default:
			switch d := e.Data.(type) {
			case events.MovieObserved:
				fmt.Printf("%s (%d) rated %.1f, published as v%d\n", d.Title, d.Year, d.Rating.Value, e.PublishedVersion)
			case events.ScrapeCompleted:
				fmt.Println("run done:", d.Published)
			}
		}
	}
	// Output:
	// Heat (1995) rated 8.3, published as v1
	// malformed: store in errors, move on
	// unknown type: store in errors, move on
}
