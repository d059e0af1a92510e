package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	archivedir "github.com/scrape-pipeline/scrape-pipeline/libs/archive/dir"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
	proclambda "github.com/scrape-pipeline/scrape-pipeline/services/processor/lambdaadapter"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/esm"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/firehose"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/kinesis"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/sqs"
)

// BenchmarkScrapeToQueryable measures POST /scrape of the 250-film sample
// until GET /runs/{id} says completed, with devstack's default 200 ms
// batching window.
func BenchmarkScrapeToQueryable(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		cfg := testConfig(b.TempDir())
		cfg.ScrapeInterval = time.Millisecond
		s, err := New(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		c := client{t: &testing.T{}, base: s.APIURL()}
		b.StartTimer()
		resp, err := http.Post(s.APIURL()+"/scrape", "", nil)
		if err != nil || resp.StatusCode != http.StatusAccepted {
			b.Fatalf("POST /scrape: %v %v", resp, err)
		}
		var sc scrapeView
		decodeBody(b, resp.Body, &sc)
		for {
			var r runView
			status, _, body := c.do("GET", "/runs/"+sc.RunID, nil)
			if status == 200 && jsonUnmarshal(body, &r) == nil && r.Status == "completed" {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		b.StopTimer()
		cancel()
		<-done
		s.Close()
		b.StartTimer()
	}
}

// BenchmarkInjectedThroughput measures events through the embedded stream,
// the processor's mapping and the processor into the bbolt tables: the
// rate at which devstack drains a backlog on this machine. With
// archiver=on the archiver consumes the same stream meanwhile, as in
// devstack (its default buffering), and the backlog is drained when the
// processor is caught up and the archiver has read every record (its last
// object is written at its interval).
func BenchmarkInjectedThroughput(b *testing.B) {
	const n = 10_000
	recs := make([]stream.Record, n)
	now := time.Now().UTC()
	for i := range recs {
		id := fmt.Sprintf("film-%d-2000", i%3000)
		e := events.NewMovieObserved("run-bench", "https://films.example.org/site/chart", now.Add(time.Duration(i)), id,
			events.MovieObserved{Title: fmt.Sprintf("Film %d", i%3000), Year: 2000, Rank: 1 + i%250,
				Rating: events.Rating{Value: 7.5, Votes: 1000}, Director: "A Director", Genres: []string{"Drama"}, RuntimeMinutes: 120})
		raw, err := events.Encode(e)
		if err != nil {
			b.Fatal(err)
		}
		recs[i] = stream.Record{PartitionKey: id, Data: raw}
	}
	for _, archiving := range []bool{false, true} {
		name := "archiver=off"
		if archiving {
			name = "archiver=on"
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				drain(b, recs, archiving)
			}
		})
	}
}

// drain publishes recs to a new embedded stream, then times the processor
// mapping (and the archiver) consuming them.
func drain(b *testing.B, recs []stream.Record, archiving bool) {
	b.StopTimer()
	dir := b.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "stream.db"), 0o600, nil)
	if err != nil {
		b.Fatal(err)
	}
	db.NoSync = true
	str, _ := kinesis.Open(db, kinesis.Options{Name: "events", Shards: 2})
	q, _ := sqs.Open(db, sqs.Options{Name: "onfailure"})
	tables, err := embedded.Open(filepath.Join(dir, "tables.db"), embedded.WithNoSync())
	if err != nil {
		b.Fatal(err)
	}
	proc := processor.New(tables, processor.Options{Logger: slog.New(slog.DiscardHandler)})
	cps := esm.BoltCheckpoints{DB: db}
	m, err := esm.NewKinesis(str, cps, contract.ProcessorMapping, proclambda.Handler(proc), q, esm.Options{Name: "processor"})
	if err != nil {
		b.Fatal(err)
	}
	var arch *firehose.Archiver
	if archiving {
		store, err := archivedir.New(filepath.Join(dir, "archive"))
		if err != nil {
			b.Fatal(err)
		}
		if arch, err = firehose.New(str, cps, store, firehose.Options{Name: "archiver", Writer: "bench"}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < len(recs); i += 500 {
		if _, err := str.Publish(context.Background(), recs[i:min(i+500, len(recs))]); err != nil {
			b.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	b.StartTimer()
	start := time.Now()
	wg.Go(func() { m.RunWindow(ctx, 0) })
	if arch != nil {
		wg.Go(func() { arch.Run(ctx) })
	}
	for {
		st, err := m.Status()
		if err != nil {
			b.Fatal(err)
		}
		caught := len(st) > 0
		for _, s := range st {
			caught = caught && s.Checkpoint == s.Latest
		}
		if arch != nil {
			a := arch.Status()
			caught = caught && a.Records+int64(a.PendingRecords) == int64(len(recs))
		}
		if caught {
			break
		}
		time.Sleep(time.Millisecond)
	}
	b.ReportMetric(float64(len(recs))/time.Since(start).Seconds(), "events/s")
	b.StopTimer()
	cancel()
	wg.Wait()
	tables.Close()
	db.Close()
	b.StartTimer()
}

// BenchmarkStartup measures New until the API answers: devstack's start.
func BenchmarkStartup(b *testing.B) {
	for b.Loop() {
		cfg := testConfig(b.TempDir())
		s, err := New(cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- s.Run(ctx) }()
		for {
			resp, err := http.Get(s.APIURL() + "/_devstack/status")
			if err == nil {
				resp.Body.Close()
				break
			}
		}
		b.StopTimer()
		cancel()
		<-done
		s.Close()
		b.StartTimer()
	}
}

func decodeBody(b *testing.B, r io.ReadCloser, v any) {
	defer r.Close()
	body, err := io.ReadAll(r)
	if err != nil {
		b.Fatal(err)
	}
	if err := jsonUnmarshal(body, v); err != nil {
		b.Fatal(err)
	}
}
