package embedded_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
)

func benchStores(b *testing.B) map[string]func(b *testing.B) *embedded.Store {
	return map[string]func(b *testing.B) *embedded.Store{
		"memory": func(b *testing.B) *embedded.Store { return embedded.NewMemory() },
		"bolt": func(b *testing.B) *embedded.Store {
			s, err := embedded.Open(filepath.Join(b.TempDir(), "tables.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
		// bolt-bulk: as tools/replay writes, no fsync and many writes
		// per commit.
		"bolt-bulk": func(b *testing.B) *embedded.Store {
			s, err := embedded.Open(filepath.Join(b.TempDir(), "tables.db"), embedded.WithNoSync(), embedded.WithBulkLoad(0))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			return s
		},
	}
}

// benchDigest is a digest like the processor's (SHA-256, hex): with it
// ApplyMovie also reads the event's progress marker.
const benchDigest = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// benchMovie is a full movie like the sample site's, with a content
// digest as the processor sets it.
func benchMovie(i int, at time.Time, eventID string) store.Movie {
	return store.Movie{
		ID: fmt.Sprintf("tt%07d", i), Title: "The Shawshank Redemption", Year: 1950 + i%70, Rank: i + 1,
		Rating: 9.3, Votes: 2_900_000, Director: "Frank Darabont", Genres: []string{"Drama", "Crime"},
		RuntimeMinutes: 142, DetailURL: fmt.Sprintf("http://127.0.0.1:8081/title/tt%07d/", i),
		Source: "http://127.0.0.1:8081/chart", FirstSeen: at, LastSeen: at, LastRunID: "run-0001",
		LastEventID: eventID, LastEventTime: at, LastEventDigest: benchDigest,
	}
}

const benchMovies = 250

// BenchmarkApplyMovie applies newer observations of 250 known movies (the
// processor's common case: every event changes the projection).
func BenchmarkApplyMovie(b *testing.B) {
	for _, name := range []string{"memory", "bolt", "bolt-bulk"} {
		open := benchStores(b)[name]
		b.Run(name, func(b *testing.B) {
			s := open(b)
			ctx := b.Context()
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			ms := make([]store.Movie, benchMovies)
			for i := range ms {
				ms[i] = benchMovie(i, t0, "e-0")
				if _, err := s.ApplyMovie(ctx, ms[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m := ms[i%benchMovies]
				m.LastEventTime = t0.Add(time.Duration(i+1) * time.Millisecond)
				m.LastEventID = "e-1"
				out, err := s.ApplyMovie(ctx, m)
				if err != nil || out != store.Applied {
					b.Fatalf("ApplyMovie = %v, %v", out, err)
				}
				i++
			}
		})
		b.Run(name+"/parallel", func(b *testing.B) {
			s := open(b)
			ctx := b.Context()
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			b.SetParallelism(8) // like the processor's concurrent workers
			var seq atomicCounter
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := seq.next()
					m := benchMovie(i%benchMovies, t0.Add(time.Duration(i)*time.Millisecond), fmt.Sprintf("e-%d", i))
					if _, err := s.ApplyMovie(ctx, m); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkCountEvent counts distinct events of one run: marker and counter
// in one transaction.
func BenchmarkCountEvent(b *testing.B) {
	for _, name := range []string{"memory", "bolt", "bolt-bulk"} {
		open := benchStores(b)[name]
		b.Run(name, func(b *testing.B) {
			s := open(b)
			ctx := b.Context()
			if err := s.StartRun(ctx, store.Run{ID: "run-0001", Source: "s", StartedAt: time.Now()}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				ok, err := s.CountEvent(ctx, "run-0001", fmt.Sprintf("evt-%016x", i), store.CounterProcessed, "")
				if err != nil || !ok {
					b.Fatalf("CountEvent = %v, %v", ok, err)
				}
				i++
			}
		})
	}
}

// BenchmarkRecordObservation records observations of 250 movies in time
// order, each with other values than the one before (a change point): the
// history writes of the processor's common case.
func BenchmarkRecordObservation(b *testing.B) {
	for _, name := range []string{"memory", "bolt", "bolt-bulk"} {
		open := benchStores(b)[name]
		b.Run(name, func(b *testing.B) {
			s := open(b)
			ctx := b.Context()
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				o := store.Observation{MovieID: fmt.Sprintf("film-number-%d", i%benchMovies), ObservedAt: t0.Add(time.Duration(i) * time.Millisecond),
					EventID: fmt.Sprintf("%08x-0000-5000-8000-000000000000", i), RunID: "run-0001", Rank: 1 + i%benchMovies, Rating: 8.1,
					Votes: 10_000 + i}
				if err := s.RecordObservation(ctx, o); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkListMovies reads a page of 20 of 250 movies, following the
// tokens through the whole listing, without and with a year.
func BenchmarkListMovies(b *testing.B) {
	for _, name := range []string{"memory", "bolt"} {
		open := benchStores(b)[name]
		for _, year := range []int{0, 1994} {
			b.Run(fmt.Sprintf("%s/year=%d", name, year), func(b *testing.B) {
				s := open(b)
				ctx := b.Context()
				t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
				for i := range benchMovies {
					m := benchMovie(i, t0, "e-0")
					if year != 0 {
						m.Year = year
					}
					if _, err := s.ApplyMovie(ctx, m); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				var token store.PageToken
				for b.Loop() {
					p, err := s.ListMovies(ctx, store.MovieFilter{Year: year}, 20, token)
					if err != nil || len(p.Items) == 0 {
						b.Fatalf("ListMovies = %d items, %v", len(p.Items), err)
					}
					token = p.Next
				}
			})
		}
	}
}

type atomicCounter struct{ n atomicInt }

type atomicInt = atomic.Int64

func (c *atomicCounter) next() int { return int(c.n.Add(1)) }

// BenchmarkListErrors lists a page of 100 out of 150 error items whose
// records were 1 MiB (payload cut to store.MaxPayload): what GET
// /errors?limit=100 asks of the store. B/op is the point: a listing must
// cost what it returns, not what the items hold.
func BenchmarkListErrors(b *testing.B) {
	for _, name := range []string{"memory", "bolt"} {
		open := benchStores(b)[name]
		b.Run(name, func(b *testing.B) {
			s := open(b)
			ctx := b.Context()
			t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			payload := make([]byte, store.MaxPayload)
			for i := range payload {
				payload[i] = 'a' + byte(i%26)
			}
			for i := range 150 {
				at := t0.Add(time.Duration(i) * time.Second)
				e := store.ErrorItem{ID: fmt.Sprintf("err-%03d", i), Stage: store.StageDecode, Reason: "invalid character",
					Payload: payload, PayloadSize: 1 << 20, ShardID: "shardId-000000000000", SequenceNumber: fmt.Sprint(i),
					Attempts: 1, FirstFailure: at, LastFailure: at, ExpiresAt: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)}
				if err := s.PutError(ctx, e); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				p, err := s.ListErrors(ctx, 100, nil)
				if err != nil || len(p.Items) != 100 {
					b.Fatalf("ListErrors = %d items, %v", len(p.Items), err)
				}
			}
		})
	}
}

// BenchmarkBulkLoad feeds a bulk-loading store (as tools/replay opens it)
// what the processor asks of it for each event of a replay of the sample
// chart: per run StartRun, then per movie event ApplyMovie,
// RecordObservation and CountEvent (with a digest), then CompleteRun. The
// values drift from run to run, so every observation is a change point.
// One op is one movie event: the store's serialised cost per event, its
// commits included, without the processor's decoding around it. cpu-ns/op
// is the process's CPU time (garbage collection included) per event: on a
// shared machine it moves less than ns/op.
func BenchmarkBulkLoad(b *testing.B) {
	s, err := embedded.Open(filepath.Join(b.TempDir(), "tables.db"), embedded.WithNoSync(), embedded.WithSweepInterval(0),
		embedded.WithBulkLoad(0))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := b.Context()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	ids := make([]string, benchMovies)
	for i := range ids {
		ids[i] = fmt.Sprintf("film-number-%d-%d", i, 1920+i*97%100)
	}
	b.ReportAllocs()
	var runID string
	at := t0
	cpu := cpuTime()
	for i := 0; b.Loop(); i++ {
		run, m := i/benchMovies, i%benchMovies
		if m == 0 {
			if runID != "" {
				if err := s.CompleteRun(ctx, store.Run{ID: runID, Source: "s", StartedAt: at, FinishedAt: at, Published: benchMovies}); err != nil {
					b.Fatal(err)
				}
			}
			runID = fmt.Sprintf("run-%s-%08x", at.Format("20060102-150405"), run)
			if err := s.StartRun(ctx, store.Run{ID: runID, Source: "s", StartedAt: at}); err != nil {
				b.Fatal(err)
			}
		}
		at = at.Add(2 * time.Millisecond)
		eventID := fmt.Sprintf("%08x-0000-5000-8000-%012x", i, run)
		mv := benchMovie(m, at, eventID)
		mv.ID, mv.LastRunID, mv.Rank = ids[m], runID, 1+(m+run/7)%benchMovies
		mv.Votes = 10_000 + m*977 + run*(1+m%5)
		mv.LastEventDigest = fmt.Sprintf("%032x", i)
		if out, err := s.ApplyMovie(ctx, mv); err != nil || out != store.Applied {
			b.Fatalf("ApplyMovie = %v, %v", out, err)
		}
		o := store.Observation{MovieID: mv.ID, ObservedAt: at, EventID: eventID, RunID: runID, Rank: mv.Rank,
			Rating: mv.Rating, Votes: mv.Votes}
		if err := s.RecordObservation(ctx, o); err != nil {
			b.Fatal(err)
		}
		if ok, err := s.CountEvent(ctx, runID, eventID, store.CounterProcessed, mv.LastEventDigest); err != nil || !ok {
			b.Fatalf("CountEvent = %v, %v", ok, err)
		}
	}
	if err := s.Flush(); err != nil {
		b.Fatal(err)
	}
	if used := cpuTime() - cpu; used > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}
