package replay

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/dir"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
)

var (
	benchEvents  = flag.Int("bench-events", 100_000, "events in the archive BenchmarkReplay replays")
	benchArchive = flag.String("bench-archive", "", "directory of BenchmarkReplay's archive: written if it does not exist, reused if it does (default: a temporary one)")
	benchBatch   = flag.Int("bench-batch", 0, "BenchmarkReplay's Options.BatchSize (0: the default)")
	benchLanes   = flag.Int("bench-lanes", 0, "BenchmarkReplay's Options.Lanes (0: the default)")
	benchConc    = flag.Int("bench-concurrency", 0, "BenchmarkReplay's Options.Concurrency (0: the default)")
	benchOnce    sync.Once
)

// chartSize is the number of movies of the benchmark's chart: the sample
// site's.
const chartSize = 250

// writeBenchArchive writes n events to an archive in root as devstack's
// archiver would (5 MiB objects through archive.Buffer): scrape runs of
// the 250-movie chart, each scrape.started, 250 movie.observed v2 (ranks,
// ratings and votes drifting from run to run) and scrape.completed, 2 ms
// apart, ending an hour ago.
func writeBenchArchive(tb testing.TB, root string, n int) {
	tb.Helper()
	st, err := dir.New(root)
	if err != nil {
		tb.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour - time.Duration(n)*2*time.Millisecond)
	buf, err := archive.NewBuffer(st, archive.BufferOptions{Name: "bench", Now: func() time.Time { return at }})
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	seq := 0
	add := func(key string, e events.Event) {
		data, err := events.Encode(e)
		if err != nil {
			tb.Fatal(err)
		}
		seq++
		full, err := buf.Add(archive.Record{ShardID: fmt.Sprintf("shardId-%012d", seq%2), SequenceNumber: fmt.Sprintf("4965900000000000000000000%012d", seq),
			PartitionKey: key, ArrivalTime: at, Data: data})
		if err != nil {
			tb.Fatal(err)
		}
		if full || seq == n {
			if _, err := buf.Flush(ctx); err != nil {
				tb.Fatal(err)
			}
		}
		at = at.Add(2 * time.Millisecond)
	}
	for run := 0; seq < n; run++ {
		began := at
		runID := fmt.Sprintf("run-%s-%08x", began.Format("20060102-150405"), run)
		add(runID, events.NewRunEvent(runID, testSource, at, events.ScrapeStarted{Profile: "movies", Trigger: events.TriggerSchedule}))
		published := 0
		for m := 0; m < chartSize && seq < n-1; m++ {
			year := 1920 + m*97%100
			id := events.MovieID("", fmt.Sprintf("Film Number %d", m), year)
			add(id, events.NewMovieObserved(runID, testSource, at, id, events.MovieObserved{
				Title: fmt.Sprintf("Film Number %d", m), Year: year, Rank: 1 + (m+run/7)%chartSize,
				Rating:   events.Rating{Value: 6 + float64((m*13+run/3)%40)/10, Votes: int64(10_000 + m*977 + run*(1+m%5))},
				Director: fmt.Sprintf("Director %d", m%90), Genres: []string{"Drama", "Crime"}, RuntimeMinutes: 80 + m%90,
				DetailURL: fmt.Sprintf("https://films.example.org/site/films/%s", id),
			}))
			published++
		}
		add(runID, events.NewRunEvent(runID, testSource, at, events.ScrapeCompleted{Published: published, Pages: 5,
			DurationMs: at.Sub(began).Milliseconds()}))
	}
}

// benchArchiveDir returns the benchmark's archive, written on first use.
func benchArchiveDir(b *testing.B) string {
	root := *benchArchive
	if root == "" {
		root = filepath.Join(os.TempDir(), fmt.Sprintf("replay-bench-archive-%d", *benchEvents))
	}
	benchOnce.Do(func() {
		if _, err := os.Stat(root); err == nil {
			return
		}
		t0 := time.Now()
		writeBenchArchive(b, root+".tmp", *benchEvents)
		if err := os.Rename(root+".tmp", root); err != nil {
			b.Fatal(err)
		}
		b.Logf("wrote %d events to %s in %s", *benchEvents, root, time.Since(t0).Round(time.Millisecond))
	})
	return root
}

// BenchmarkReplay replays an archive of -bench-events events into a new
// data directory's bbolt tables, the default way (DefaultBatchSize,
// DefaultLanes, DefaultConcurrency, unless -bench-batch, -bench-lanes or
// -bench-concurrency say otherwise). It reports events/s of wall time and
// of CPU time (the machine is shared: the CPU figure measures the code,
// the wall figure the neighbours too) and the peak Go heap during the
// replay. For the process's peak RSS run the command under /usr/bin/time
// (see BENCHMARKS-replay.md).
func BenchmarkReplay(b *testing.B) {
	root := benchArchiveDir(b)
	var events int64
	var heap uint64
	cpu := cpuTime()
	for b.Loop() {
		data := filepath.Join(b.TempDir(), "data")
		runtime.GC()
		stop := watchHeap(&heap)
		rep, err := replayInto(b, root, data, Options{BatchSize: *benchBatch, Lanes: *benchLanes, Concurrency: *benchConc})
		stop()
		if err != nil {
			b.Fatal(err)
		}
		if rep.Events != int64(*benchEvents) {
			b.Fatalf("replayed %d events, want %d", rep.Events, *benchEvents)
		}
		events += rep.Events
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	if used := cpuTime() - cpu; used > 0 {
		b.ReportMetric(float64(events)/used.Seconds(), "events/cpu-s")
	}
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
}

// watchHeap samples the live heap every 10 ms into peak until stopped.
func watchHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			*peak = max(*peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
