package archiver_test

import (
	"context"
	"testing"

	"github.com/scrape-pipeline/scrape-pipeline/services/archiver"
)

// BenchmarkHandle transforms a full processor buffer (BufferSizeMB) of
// realistic 600-byte events, as Firehose sends them.
func BenchmarkHandle(b *testing.B) {
	ev := fullBatch(event)
	h := archiver.New(archiver.Options{})
	b.SetBytes(int64(sumData(ev)))
	ctx := context.Background()
	for b.Loop() {
		if _, err := h.Handle(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(ev.Records))*float64(b.N)/b.Elapsed().Seconds(), "records/s")
}
