package embedded_test

import (
	"context"
	"fmt"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
)

func ExampleNewMemory() {
	ctx := context.Background()
	s := embedded.NewMemory()
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	m := store.Movie{ID: "tt0111161", Title: "The Shawshank Redemption", Year: 1994, Rating: 9.3,
		FirstSeen: at, LastSeen: at, LastEventID: "ev-1", LastEventTime: at}
	for range 2 {
		out, err := s.ApplyMovie(ctx, m)
		fmt.Println(out, err)
	}
	older := m
	older.LastEventID, older.LastEventTime = "ev-0", at.Add(-time.Hour)
	out, _ := s.ApplyMovie(ctx, older)
	fmt.Println(out)

	page, _ := s.ListMovies(ctx, store.MovieFilter{Year: 1994}, 20, nil)
	fmt.Println(len(page.Items), page.Items[0].Title, page.Next == nil)
	// Output:
	// applied <nil>
	// duplicate <nil>
	// stale
	// 1 The Shawshank Redemption true
}
