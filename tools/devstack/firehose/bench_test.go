package firehose

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/esm"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/kinesis"
)

// BenchmarkArchive measures the archiver alone draining a backlog of
// 10,000 events (about 600 bytes each, as the scraper publishes them) from
// the embedded stream into a directory archive, every object fsynced: its
// capacity, beside the processor's (BenchmarkInjectedThroughput in
// tools/devstack).
func BenchmarkArchive(b *testing.B) {
	const n = 10_000
	recs := make([]stream.Record, n)
	for i := range recs {
		recs[i] = stream.Record{PartitionKey: fmt.Sprintf("film-%d-2000", i%3000), Data: fmt.Appendf(nil,
			`{"specversion":"1.0","id":"%08d-c1d5-5b7f-ba50-10e80b390eb5","source":"https://films.example.org/site/chart","type":"movie.observed","schemaversion":2,"time":"2026-11-27T04:20:00Z","subject":"film-%d-2000","runid":"run-20261127-042000-0a1b2c3d","data":{"title":"Film %d","year":2000,"rank":%d,"rating":{"value":7.5,"votes":1000},"director":"A Director","genres":["Drama"],"runtimeMinutes":120}}`,
			i, i%3000, i%3000, 1+i%250)}
	}
	var bytes int
	for _, r := range recs {
		bytes += len(r.Data)
	}
	for b.Loop() {
		b.StopTimer()
		f := newFixture(b, kinesis.Options{})
		for i := 0; i < n; i += 500 {
			if _, err := f.stream.Publish(context.Background(), recs[i:i+500]); err != nil {
				b.Fatal(err)
			}
		}
		o := f.options()
		o.Interval = 10 * time.Millisecond // the tail is written at once
		a, err := New(f.stream, esm.BoltCheckpoints{DB: f.db}, f.store, o)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		b.StartTimer()
		start := time.Now()
		go func() { done <- a.Run(ctx) }()
		for a.Status().Records < n {
			time.Sleep(time.Millisecond)
		}
		took := time.Since(start)
		b.StopTimer()
		cancel()
		<-done
		b.ReportMetric(n/took.Seconds(), "events/s")
		b.ReportMetric(float64(bytes)/took.Seconds()/1e6, "MB/s")
		b.StartTimer()
	}
}
