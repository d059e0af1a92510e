package awsemu

import (
	"os"
	"testing"
	"time"
)

// BenchmarkStart measures a warm start of each emulator (node_modules already
// installed): exec, first good API answer, stop. ms-to-ready is the part that
// a test binary waits for once, on its first emulator test.
func BenchmarkStart(b *testing.B) {
	for _, e := range []emulator{kinesisMockEmulator, motoEmulator} {
		b.Run(e.name, func(b *testing.B) {
			var ready time.Duration
			for b.Loop() {
				inst, err := start(b.Context(), e)
				if err != nil {
					if shouldSkip(err, os.Getenv) {
						b.Skip(err)
					}
					b.Fatal(err)
				}
				ready += inst.ready
				if err := inst.stop(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(ready.Milliseconds())/float64(b.N), "ms-to-ready/op")
		})
	}
}
