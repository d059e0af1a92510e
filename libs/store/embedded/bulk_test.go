package embedded_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/storetest"
)

// A bulk-loading store keeps every promise of the port: its writes are
// whole, ordered and read back, commits or not (every 3 writes here, so
// the suite crosses many commits).
func TestContractBoltBulk(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := embedded.Open(filepath.Join(t.TempDir(), "tables.db"), embedded.WithBulkLoad(3))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return s
	})
}

// The same, with one transaction for the whole suite: every read is served
// from the open transaction and the write-back cache, never from a commit.
func TestContractBoltBulkOneTransaction(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := embedded.Open(filepath.Join(t.TempDir(), "tables.db"), embedded.WithBulkLoad(1<<30))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
		return s
	})
}

// A bulk load resumed on a file that holds progress markers still counts
// each event once: what it knows of the markers starts with the file's.
func TestBulkLoadResumedCountsOnce(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tables.db")
	const digest = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	for i, want := range []bool{true, false, false} {
		s, err := embedded.Open(path, embedded.WithBulkLoad(0))
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			// Markers of other events, so that the file holds many.
			for j := range 300 {
				if _, err := s.CountEvent(ctx, "run-0", fmt.Sprint("other-", j), store.CounterProcessed, digest); err != nil {
					t.Fatal(err)
				}
			}
		}
		counted, err := s.CountEvent(ctx, "run-1", "event-1", store.CounterProcessed, digest)
		if err != nil || counted != want {
			t.Errorf("opening %d: CountEvent = %v, %v; want %v", i, counted, err, want)
		}
		if _, err := s.CountEvent(ctx, "run-1", "event-1", store.CounterProcessed, strings.Repeat("b", 32)); !errors.Is(err, store.ErrConflict) {
			t.Errorf("opening %d: CountEvent with another digest = %v, want ErrConflict", i, err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if r, err := s.GetRun(ctx, "run-1"); err != nil || r.Processed != 1 {
		t.Errorf("run = %+v, %v; want the event counted once", r, err)
	}
}

func TestBulkLoadCommitsAtFlushAndClose(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tables.db")
	at := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	movie := func(id string) store.Movie {
		return store.Movie{ID: id, Title: id, Year: 1994, Source: "https://example.org/", FirstSeen: at, LastSeen: at,
			LastRunID: "run-1", LastEventID: "event-" + id, LastEventTime: at}
	}
	s, err := embedded.Open(path, embedded.WithBulkLoad(1000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyMovie(ctx, movie("flushed")); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyMovie(ctx, movie("closed")); err != nil {
		t.Fatal(err)
	}
	// A write refused for good leaves nothing behind and the store goes on.
	if _, err := s.CountEvent(ctx, "run-1", "event-x", store.CounterProcessed, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CountEvent(ctx, "run-1", "event-x", store.CounterProcessed, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("CountEvent with another digest = %v, want ErrConflict", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, id := range []string{"flushed", "closed"} {
		got, err := s.GetMovie(ctx, id)
		if err != nil {
			t.Fatalf("movie %s after reopening: %v", id, err)
		}
		if diff := cmp.Diff(movie(id), got); diff != "" {
			t.Errorf("movie %s (-want +got):\n%s", id, diff)
		}
	}
	r, err := s.GetRun(ctx, "run-1")
	if err != nil || r.Processed != 1 {
		t.Errorf("run after reopening = %+v, %v; want the event counted once", r, err)
	}
}
