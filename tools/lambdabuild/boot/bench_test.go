package boot_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild/build"
)

// coldStarts lists, per function, the fixture of its boot test: the
// environment it boots with and the event of its first invoke.
var coldStarts = []struct {
	fn      string
	fixture func(tb testing.TB) (map[string]string, []byte)
}{
	{"archiver", archiverFixture},
	{"errorsink", func(tb testing.TB) (map[string]string, []byte) {
		backend, payload, _, _, _ := errorsinkFixture(tb)
		return backend.Env, payload
	}},
	{"processor", func(tb testing.TB) (map[string]string, []byte) {
		backend, payload := processorFixture(tb)
		return backend.Env, payload
	}},
	{"query", queryFixture},
	{"samplesite", func(tb testing.TB) (map[string]string, []byte) {
		return nil, event(tb, "samplesite-robots.json")
	}},
	{"scraper", scraperFixture},
}

// BenchmarkColdStart starts each function under the emulator and invokes it
// once, b.N times: init-ms is the emulator's INIT REPORT (starting the
// bootstrap until it asks for its first event: Go runtime start, config,
// clients), first-invoke-ms the wall time of that first invoke (init plus
// handling the event). ns/op also counts starting and stopping the
// emulator. The scraper's later iterations find the page unchanged or the
// host leased (the first invoke's answer does not matter here).
func BenchmarkColdStart(b *testing.B) {
	for _, c := range coldStarts {
		b.Run(c.fn, func(b *testing.B) {
			env, payload := c.fixture(b)
			artifact(b, c.fn)
			emulatorPath(b)
			var init, first time.Duration
			for b.Loop() {
				e := start(b, c.fn, env)
				inv := invokePayload(b, e, c.fn+" event", payload)
				if err := e.Close(); err != nil {
					b.Fatal(err)
				}
				if inv.Init == 0 {
					b.Fatal("no init duration on the first invoke")
				}
				init += inv.Init
				first += inv.Elapsed
			}
			b.ReportMetric(float64(init.Microseconds())/1000/float64(b.N), "init-ms/op")
			b.ReportMetric(float64(first.Microseconds())/1000/float64(b.N), "first-invoke-ms/op")
		})
	}
}

// BenchmarkBuild builds each function for Lambda (linux/arm64) from the
// zip cache (zip-cache-hit) and with the zip cache off but Go's build cache
// warm (go-cache-warm: relink and zip), and reports the zip's size.
func BenchmarkBuild(b *testing.B) {
	root := repoRoot(b)
	fns, err := build.Discover(root)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for _, fn := range fns {
		for _, mode := range []string{"zip-cache-hit", "go-cache-warm"} {
			b.Run(fn.Name+"/"+mode, func(b *testing.B) {
				opts := build.Options{Root: root, OutDir: b.TempDir(), CacheDir: b.TempDir(), NoCache: mode == "go-cache-warm"}
				if _, err := build.Build(ctx, opts, fn); err != nil { // warm both caches
					b.Fatal(err)
				}
				var size int64
				for b.Loop() {
					arts, err := build.Build(ctx, opts, fn)
					if err != nil {
						b.Fatal(err)
					}
					size = arts[0].Size
				}
				b.ReportMetric(float64(size), "zip-bytes")
			})
		}
	}
}

// BenchmarkBuildAllCold builds every function for Lambda at once, as infra
// does, with an empty GOCACHE and the zip cache off: the cost of a first
// build on a fresh machine whose module cache is filled. Run it with
// -benchtime=1x.
func BenchmarkBuildAllCold(b *testing.B) {
	root := repoRoot(b)
	fns, err := build.Discover(root)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var total int64
	for b.Loop() {
		b.StopTimer()
		env := append(slices.Clone(os.Environ()), "GOCACHE="+filepath.Join(b.TempDir(), "gocache"))
		b.StartTimer()
		arts, err := build.Build(ctx, build.Options{Root: root, OutDir: b.TempDir(), NoCache: true, Env: env}, fns...)
		if err != nil {
			b.Fatal(err)
		}
		total = 0
		for _, a := range arts {
			total += a.Size
		}
	}
	b.ReportMetric(float64(len(fns)), "functions")
	b.ReportMetric(float64(total), "zip-bytes-total")
}
