package embedded_test

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/storetest"
)

func TestContractMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return embedded.NewMemory() })
}

func TestContractBolt(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := embedded.Open(filepath.Join(t.TempDir(), "data", "tables.db"))
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

func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tables.db")
	s, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	m := store.Movie{ID: "tt1", Title: "T", Year: 1994, Rating: 9, Genres: []string{"Drama"}, Source: "s",
		FirstSeen: t0, LastSeen: t0, LastRunID: "r1", LastEventID: "e1", LastEventTime: t0}
	if _, err := s.ApplyMovie(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := s.StartRun(ctx, store.Run{ID: "r1", Source: "s", StartedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CountEvent(ctx, "r1", "e1", store.CounterProcessed, ""); err != nil {
		t.Fatal(err)
	}
	e := store.ErrorItem{ID: "x", Stage: store.StageDecode, Payload: []byte("raw"), PayloadSize: 3, FirstFailure: t0, LastFailure: t0,
		ExpiresAt: farFuture}
	if err := s.PutError(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.GetMovie(ctx, "tt1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, got); diff != "" {
		t.Errorf("movie after reopen (-want +got):\n%s", diff)
	}
	if p, err := s.ListMovies(ctx, store.MovieFilter{Year: 1994}, 10, nil); err != nil || len(p.Items) != 1 {
		t.Errorf("year listing after reopen: %d items, %v", len(p.Items), err)
	}
	r, err := s.GetRun(ctx, "r1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(store.Run{ID: "r1", Source: "s", StartedAt: t0, Processed: 1}, r); diff != "" {
		t.Errorf("run after reopen (-want +got):\n%s", diff)
	}
	if ok, err := s.CountEvent(ctx, "r1", "e1", store.CounterProcessed, ""); err != nil || ok {
		t.Errorf("counting e1 again after reopen = %v, %v; want false (the marker survived)", ok, err)
	}
	p, err := s.ListErrors(ctx, 10, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]store.ErrorItem{e}, p.Items); diff != "" {
		t.Errorf("errors after reopen (-want +got):\n%s", diff)
	}
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tables.db")
	s, err := embedded.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s2, err := embedded.Open(path); err == nil {
		s2.Close()
		t.Fatal("a second Open of an open file succeeded")
	}
}

// clock is a settable fake clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

func TestTTL(t *testing.T) {
	for name, open := range backings(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			clk := &clock{now: t0}
			s := open(t, embedded.WithClock(clk.Now), embedded.WithSweepInterval(0))
			if ok, err := s.CountEvent(ctx, "r1", "e1", store.CounterProcessed, ""); err != nil || !ok {
				t.Fatalf("first count = %v, %v", ok, err)
			}
			e := store.ErrorItem{ID: "x", Stage: store.StageDecode, FirstFailure: t0, LastFailure: t0}
			if err := s.PutError(ctx, e); err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.AcquireLease(ctx, "a.example", "h1", t0, time.Minute); err != nil {
				t.Fatal(err)
			}

			clk.Add(7 * 24 * time.Hour)
			if ok, _ := s.CountEvent(ctx, "r1", "e1", store.CounterProcessed, ""); ok {
				t.Errorf("marker expired after 7 days: the event was counted again")
			}
			if n, err := s.Sweep(ctx); err != nil || n != 1 {
				t.Errorf("sweep after 7 days deleted %d items (%v), want 1 (the lease)", n, err)
			}
			if p, _ := s.ListErrors(ctx, 10, nil); len(p.Items) != 1 {
				t.Errorf("error item hidden before its 14 days: %d items", len(p.Items))
			}

			clk.Add(7*24*time.Hour + time.Second)
			if p, _ := s.ListErrors(ctx, 10, nil); len(p.Items) != 0 {
				t.Errorf("error item visible after 14 days")
			}
			if ok, err := s.CountEvent(ctx, "r1", "e1", store.CounterProcessed, ""); err != nil || !ok {
				t.Errorf("count after the marker expired = %v, %v; want true", ok, err)
			}
			if n, err := s.Sweep(ctx); err != nil || n != 1 {
				t.Errorf("sweep after 14 days deleted %d items (%v), want 1 (the error; the marker is new)", n, err)
			}
			// A new failure with the id of the swept item starts afresh.
			e2 := e
			e2.FirstFailure, e2.LastFailure = clk.Now(), clk.Now()
			if err := s.PutError(ctx, e2); err != nil {
				t.Fatal(err)
			}
			p, err := s.ListErrors(ctx, 10, nil)
			if err != nil || len(p.Items) != 1 || !p.Items[0].FirstFailure.Equal(clk.Now()) {
				t.Errorf("new failure after expiry: %+v, %v", p.Items, err)
			}
			r, err := s.GetRun(ctx, "r1")
			if err != nil || r.Processed != 2 {
				t.Errorf("run: processed %d, %v; want 2", r.Processed, err)
			}
		})
	}
}

func TestSweepOnWrite(t *testing.T) {
	ctx := t.Context()
	clk := &clock{now: t0}
	s := embedded.NewMemory(embedded.WithClock(clk.Now), embedded.WithSweepInterval(time.Hour))
	if _, _, err := s.AcquireLease(ctx, "a.example", "h1", t0, time.Minute); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Hour)
	// This write sweeps the expired lease, so an explicit sweep finds nothing.
	if err := s.PutPageState(ctx, store.PageState{URL: "https://a.example/", FetchedAt: clk.Now()}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("sweep after a sweeping write deleted %d (%v), want 0", n, err)
	}
}

type openFunc func(t *testing.T, opts ...embedded.Option) *embedded.Store

func backings(t *testing.T) map[string]openFunc {
	return map[string]openFunc{
		"memory": func(t *testing.T, opts ...embedded.Option) *embedded.Store { return embedded.NewMemory(opts...) },
		"bolt": func(t *testing.T, opts ...embedded.Option) *embedded.Store {
			s, err := embedded.Open(filepath.Join(t.TempDir(), "tables.db"), opts...)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

var (
	t0        = time.Date(2025, 3, 14, 15, 9, 26, 535897932, time.UTC)
	farFuture = time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)
)

// TestReadsVersion1Data opens testdata/v1.db, written by the version
// before codec 2 and layout 2 (a devstack data dir from before the
// upgrade): every item reads back, the listing and the runs index are
// built at Open, and the new operations work on the old items. The file
// was made by that version's embedded.Open with: ApplyMovie tt1 (run r1,
// event e1, t0); StartRun r1 (t0) and r2 (t0+1h); CountEvent r1/e1
// processed; FailEvent r1/e2 with error item "x" (a 2000-byte payload of
// "p", PayloadSize 5000); PutPageState https://a.example/.
func TestReadsVersion1Data(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "tables.db")
	data, err := os.ReadFile("testdata/v1.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	want := store.Movie{ID: "tt1", Title: "T", Year: 1994, Rating: 9, Genres: []string{"Drama"}, Source: "s",
		FirstSeen: t0, LastSeen: t0, LastRunID: "r1", LastEventID: "e1", LastEventTime: t0}
	for round := range 2 { // the second Open finds the layout up to date
		s, err := embedded.Open(path)
		if err != nil {
			t.Fatalf("open %d: %v", round, err)
		}
		m, err := s.GetMovie(ctx, "tt1")
		if diff := cmp.Diff(want, m); err != nil || diff != "" {
			t.Errorf("movie (-want +got), %v:\n%s", err, diff)
		}
		runs, err := s.ListRuns(ctx, store.RunFilter{}, 10, nil)
		wantRuns := []store.Run{{ID: "r2", Source: "s", StartedAt: t0.Add(time.Hour)},
			{ID: "r1", Source: "s", StartedAt: t0, Processed: 1, Failed: 1}}
		if round == 1 {
			wantRuns[1].Processed, wantRuns[1].Failed = 2, 0 // resolved in round 0
		}
		if diff := cmp.Diff(wantRuns, runs.Items); err != nil || diff != "" {
			t.Errorf("runs (-want +got), %v:\n%s", err, diff)
		}
		errs, err := s.ListErrors(ctx, 10, nil)
		if err != nil || len(errs.Items) != 1 || string(errs.Items[0].Payload) != strings.Repeat("p", store.PreviewBytes) ||
			errs.Items[0].PayloadSize != 5000 {
			t.Errorf("errors listing: %+v, %v", errs.Items, err)
		}
		full, err := s.GetError(ctx, "x")
		if err != nil || len(full.Payload) != 2000 {
			t.Errorf("GetError: %d payload bytes, %v", len(full.Payload), err)
		}
		if ps, err := s.PageState(ctx, "https://a.example/"); err != nil || ps.ETag != `"1"` {
			t.Errorf("page state: %+v, %v", ps, err)
		}
		// A version 1 marker has no digest: it never conflicts.
		if ok, err := s.CountEvent(ctx, "r1", "e1", store.CounterProcessed, "d1"); ok || err != nil {
			t.Errorf("CountEvent over a v1 marker = %v, %v; want false, nil", ok, err)
		}
		if round == 0 {
			// The v1 marker of e2 says failed: resolving moves the count.
			if ok, err := s.ResolveError(ctx, "x", t0.Add(time.Hour)); !ok || err != nil {
				t.Errorf("ResolveError = %v, %v", ok, err)
			}
			newer := want
			newer.LastEventID, newer.LastEventTime, newer.LastEventDigest = "e3", t0.Add(time.Hour), "d3"
			if out, err := s.ApplyMovie(ctx, newer); out != store.Applied || err != nil {
				t.Errorf("ApplyMovie over a v1 movie = %v, %v", out, err)
			}
			want = newer
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
