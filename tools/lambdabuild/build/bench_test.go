package build_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild/build"
)

// BenchmarkBuild times building the testdata function three ways:
//
//   - zip-cache-hit: the inputs' key is in the zip cache: hashing the
//     sources, two `go env`/`go mod edit` calls and a copy;
//   - go-cache-warm: the zip cache off, Go's build cache warm: go build
//     relinks and the binary is zipped;
//   - cold: the zip cache off and an empty GOCACHE every time: the standard
//     library and every dependency are compiled (run with -benchtime=1x).
func BenchmarkBuild(b *testing.B) {
	ctx := context.Background()
	root := copyRoot(b)
	cases := []struct {
		name string
		opts func(b *testing.B) build.Options
	}{
		{"zip-cache-hit", func(b *testing.B) build.Options {
			o := build.Options{Root: root, OutDir: b.TempDir(), CacheDir: b.TempDir()}
			if _, err := build.Build(ctx, o, hello); err != nil { // fill the cache
				b.Fatal(err)
			}
			return o
		}},
		{"go-cache-warm", func(b *testing.B) build.Options {
			return build.Options{Root: root, OutDir: b.TempDir(), NoCache: true}
		}},
		{"cold", func(b *testing.B) build.Options {
			return build.Options{Root: root, OutDir: b.TempDir(), NoCache: true}
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			opts := c.opts(b)
			var size int64
			for b.Loop() {
				if c.name == "cold" {
					b.StopTimer()
					gocache := filepath.Join(b.TempDir(), "gocache")
					opts.Env = append(os.Environ(), "GOCACHE="+gocache)
					b.StartTimer()
				}
				arts, err := build.Build(ctx, opts, hello)
				if err != nil {
					b.Fatal(err)
				}
				if want := c.name == "zip-cache-hit"; arts[0].Cached != want {
					b.Fatalf("cached = %t, want %t", arts[0].Cached, want)
				}
				size = arts[0].Size
			}
			b.ReportMetric(float64(size), "zip-bytes")
		})
	}
}
