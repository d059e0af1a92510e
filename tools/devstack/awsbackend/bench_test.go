package awsbackend

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
)

// BenchmarkRecords reads a 2,000-record shard of kinesis-mock through
// Records, 100 records at a time as the processor mapping asks, from a
// freshly opened Stream each time (so every read goes to the emulator).
func BenchmarkRecords(b *testing.B) {
	cfg := awsemu.Kinesis(b)
	client := kinesis.NewFromConfig(cfg)
	name := awsemu.Name(b, "bench")
	awsemu.CreateStream(b, cfg, name, 1)
	s, err := OpenStream(b.Context(), client, name)
	if err != nil {
		b.Fatal(err)
	}
	const n = 2000
	recs := make([]stream.Record, n)
	for i := range recs {
		recs[i] = stream.Record{PartitionKey: fmt.Sprintf("movie-%04d", i), Data: fmt.Appendf(nil, `{"type":"movie.scraped","i":%d,"pad":"%0200d"}`, i, 0)}
	}
	if res, err := s.Publish(b.Context(), recs); err != nil || res.Published != n {
		b.Fatalf("Publish: %+v, %v", res, err)
	}
	start := time.Now()
	for b.Loop() {
		fresh, err := OpenStream(b.Context(), client, name)
		if err != nil {
			b.Fatal(err)
		}
		sh, after, got := fresh.Shards()[0], "", 0
		for {
			batch, err := fresh.Records(sh, after, 100)
			if err != nil {
				b.Fatal(err)
			}
			if len(batch) == 0 {
				break
			}
			got += len(batch)
			after = batch[len(batch)-1].SequenceNumber
		}
		if got != n {
			b.Fatalf("read %d records, want %d", got, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "records/s")
}

// BenchmarkPutRecord puts one record at a time on kinesis-mock, as
// POST /_devstack/records does.
func BenchmarkPutRecord(b *testing.B) {
	cfg := awsemu.Kinesis(b)
	name := awsemu.Name(b, "bench")
	awsemu.CreateStream(b, cfg, name, 2)
	s, err := OpenStream(b.Context(), kinesis.NewFromConfig(cfg), name)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		if _, _, err := s.PutRecord(b.Context(), stream.Record{PartitionKey: fmt.Sprint("k", i%50), Data: []byte("poison")}); err != nil {
			b.Fatal(err)
		}
	}
}
