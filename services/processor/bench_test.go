package processor_test

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor/lambdaadapter"
)

// benchBatch is a batch of n movie.observed events of distinct movies,
// spread over a few runs, as the scraper publishes them and Lambda
// delivers them.
func benchBatch(b *testing.B, n int) lambdaevents.KinesisEvent {
	ev := lambdaevents.KinesisEvent{Records: make([]lambdaevents.KinesisEventRecord, n)}
	for i := range n {
		run := fmt.Sprintf("run-20261127-%06d-cccccccc", i/250)
		e := movieEvent(run, t0.Add(time.Duration(i)*time.Second), fmt.Sprintf("movie-%05d", i), i)
		seq := seqNumber(i)
		ev.Records[i] = lambdaevents.KinesisEventRecord{
			AwsRegion: "eu-west-2", EventID: testShard + ":" + seq, EventName: "aws:kinesis:record",
			EventSource: "aws:kinesis", EventSourceArn: testStreamARN, EventVersion: "1.0",
			Kinesis: lambdaevents.KinesisRecord{
				ApproximateArrivalTimestamp: lambdaevents.SecondsEpochTime{Time: t0.Add(time.Duration(i) * time.Millisecond)},
				Data:                        mustEncode(b, e), PartitionKey: e.Subject, SequenceNumber: seq, KinesisSchemaVersion: "1.0",
			},
		}
	}
	return ev
}

// BenchmarkHandle measures the processor's CPU and allocations per
// record on the embedded memory store, for Lambda's default batch size
// (100) and a large one (1,000), along Lambda's path: the Kinesis event
// through lambdaadapter into the core and the response back. Every batch
// goes to a fresh store, so every record is applied, counted and written
// (no duplicate shortcut). The store's own work is included.
func BenchmarkHandle(b *testing.B) {
	for _, size := range []int{100, 1000} {
		for _, conc := range []int{1, processor.DefaultConcurrency} {
			b.Run(fmt.Sprintf("batch=%d/concurrency=%d", size, conc), func(b *testing.B) {
				ev := benchBatch(b, size)
				var mallocs uint64
				var ms runtime.MemStats
				ctx := context.Background()
				b.ResetTimer()
				for b.Loop() {
					b.StopTimer()
					h := lambdaadapter.Handler(processor.New(embedded.NewMemory(), processor.Options{Concurrency: conc, Logger: quiet, Metrics: io.Discard}))
					runtime.ReadMemStats(&ms)
					before := ms.Mallocs
					b.StartTimer()
					resp, _ := h(ctx, ev)
					b.StopTimer()
					runtime.ReadMemStats(&ms)
					mallocs += ms.Mallocs - before
					if len(resp.BatchItemFailures) != 0 {
						b.Fatalf("%d failures", len(resp.BatchItemFailures))
					}
					b.StartTimer()
				}
				records := float64(b.N * size)
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/records/1000, "µs/record")
				b.ReportMetric(float64(mallocs)/records, "allocs/record")
			})
		}
	}
}

// BenchmarkLatencyBound compares one-at-a-time with the default
// concurrency when every store call takes 2 ms (a DynamoDB round trip):
// a batch of 100 distinct movies, 2 calls per record.
func BenchmarkLatencyBound(b *testing.B) {
	for _, conc := range []int{1, processor.DefaultConcurrency} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			ev := benchBatch(b, 100)
			ctx := context.Background()
			for b.Loop() {
				b.StopTimer()
				h := lambdaadapter.Handler(processor.New(slowStore{embedded.NewMemory(), 2 * time.Millisecond},
					processor.Options{Concurrency: conc, Logger: quiet, Metrics: io.Discard}))
				b.StartTimer()
				if resp, _ := h(ctx, ev); len(resp.BatchItemFailures) != 0 {
					b.Fatalf("%d failures", len(resp.BatchItemFailures))
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/batch")
		})
	}
}
