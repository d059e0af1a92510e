package archive_test

import (
	"context"
	"flag"
	"fmt"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/dir"
)

var benchEvents = flag.Int("bench-events", 200_000, "events BenchmarkScan reads per op")

var genres = []string{`["Crime","Drama"]`, `["Action","Sci-Fi","Thriller"]`, `["Animation","Family"]`, `["Drama","Romance","War"]`}

// event returns the i-th of a run of realistic movie.observed v2 events:
// compact CloudEvents JSON, 600 bytes give or take, as the scraper
// publishes them.
func event(i int) archive.Record {
	year := 1950 + i%70
	id := fmt.Sprintf("film-number-%d-%d", i%5000, year)
	data := fmt.Sprintf(`{"specversion":"1.0","id":"%08x-75eb-5e67-8998-%012x","source":"https://films.example.org/site/chart?page=%d",`+
		`"type":"movie.observed","schemaversion":2,"runid":"run-20261127-042000-3f9a2c1b","time":"2026-11-27T04:20:%02d.%03dZ",`+
		`"subject":"%s","datacontenttype":"application/json","data":{"title":"Film Number %d","certificate":"PG-13","tagline":"Seen on the sample chart","year":%d,"rank":%d,`+
		`"rating":{"value":%d.%d,"votes":%d},"director":"Director %d","genres":%s,"runtimeMinutes":%d,`+
		`"detailUrl":"https://films.example.org/site/films/%s"}}`,
		i, i, 1+i%5, i%60, i%1000, id, i%5000, year, 1+i%250, 5+i%5, i%10, 10000+i*37%2000000, i%300, genres[i%len(genres)], 80+i%100, id)
	return archive.Record{
		ShardID:        fmt.Sprintf("shardId-%012d", i%4),
		SequenceNumber: fmt.Sprintf("4965901234567890123456789012345678901234567890%010d", i),
		PartitionKey:   id,
		ArrivalTime:    time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC).Add(time.Duration(i) * 10 * time.Millisecond),
		Data:           []byte(data),
	}
}

func TestBenchEventIsRealistic(t *testing.T) {
	for _, i := range []int{0, 1, 4999, 123456} {
		r := event(i)
		if n := len(r.Data); n < 540 || n > 660 {
			t.Errorf("event %d is %d bytes, want about 600", i, n)
		}
		if !archive.Embeddable(r.Data) {
			t.Errorf("event %d is not embeddable JSON: %s", i, r.Data)
		}
	}
}

func BenchmarkEncode(b *testing.B) {
	r := event(42)
	buf := make([]byte, 0, 1024)
	b.SetBytes(int64(len(r.Data)))
	for b.Loop() {
		var err error
		if buf, err = archive.AppendLine(buf[:0], r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeLine(b *testing.B) {
	line, _ := archive.Encode(event(42))
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		if _, err := archive.DecodeLine(line); err != nil {
			b.Fatal(err)
		}
	}
}

// fill writes n events through a Buffer with the default size (5 MiB of
// lines per object), as devstack's archiver would, and returns the stored
// (compressed) and raw sizes.
func fill(b *testing.B, w archive.Writer, n int) (stored, raw int64) {
	b.Helper()
	buf, err := archive.NewBuffer(w, archive.BufferOptions{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for i := range n {
		full, err := buf.Add(event(i))
		if err != nil {
			b.Fatal(err)
		}
		if full || i == n-1 {
			f, err := buf.Flush(ctx)
			if err != nil {
				b.Fatal(err)
			}
			stored, raw = stored+int64(f.Bytes), raw+int64(f.RawBytes)
		}
	}
	return stored, raw
}

// BenchmarkScan measures replay's read side: listing, gunzip, line decode,
// the time filter, for realistic events in 5 MiB objects — in memory, and
// from a directory (the page cache: the disk is not measured). Each op
// reads all events; events/s and MB/s (raw NDJSON) are reported.
func BenchmarkScan(b *testing.B) {
	events := *benchEvents
	run := func(b *testing.B, s archive.Reader, stored, raw int64) {
		b.SetBytes(raw)
		ctx := context.Background()
		cpu := cpuTime()
		for b.Loop() {
			n := 0
			err := archive.Scan(ctx, s, archive.ScanOptions{Since: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)}, func(archive.Record) error {
				n++
				return nil
			})
			if err != nil || n != events {
				b.Fatalf("Scan = %v after %d events, want %d", err, n, events)
			}
		}
		b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
		if used := cpuTime() - cpu; used > 0 {
			b.ReportMetric(float64(events)*float64(b.N)/used.Seconds(), "events/cpu-s")
		}
		b.ReportMetric(float64(stored)/float64(events), "stored-B/event")
	}
	b.Run("memory", func(b *testing.B) {
		s := newMemStore()
		stored, raw := fill(b, s, events)
		run(b, s, stored, raw)
	})
	b.Run("dir", func(b *testing.B) {
		s, err := dir.New(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		stored, raw := fill(b, s, events)
		run(b, s, stored, raw)
	})
}

// discard is a Writer that keeps nothing.
type discard struct{}

func (discard) Put(context.Context, string, []byte) error { return nil }

// BenchmarkBuffer measures the write side: Add (line encoding) and Flush
// (gzip) of realistic events into 5 MiB objects.
func BenchmarkBuffer(b *testing.B) {
	const events = 20_000
	recs := make([]archive.Record, events)
	var raw int64
	for i := range recs {
		recs[i] = event(i)
		raw += int64(archive.LineSize(recs[i]))
	}
	b.SetBytes(raw)
	ctx := context.Background()
	cpu := cpuTime()
	for b.Loop() {
		buf, err := archive.NewBuffer(discard{}, archive.BufferOptions{Name: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		for _, r := range recs {
			if full, err := buf.Add(r); err != nil {
				b.Fatal(err)
			} else if full {
				if _, err := buf.Flush(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		if _, err := buf.Flush(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	if used := cpuTime() - cpu; used > 0 {
		b.ReportMetric(float64(events)*float64(b.N)/used.Seconds(), "events/cpu-s")
	}
}
