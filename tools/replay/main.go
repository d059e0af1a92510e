// Command replay rebuilds the pipeline's projections from the permanent
// event log (the archive), verifies rebuilt tables against live ones, and
// redrives failed records; see package replay and the README's "The
// permanent log".
//
//	go run ./tools/replay --archive .devstack/archive --data .rebuilt --verify .devstack
//	go run ./tools/replay --redrive --data .devstack
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	tuneGC(os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }() // a second signal kills at once
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// gcPercent is the replay's GOGC. A replay allocates fast (about 4 KB an
// event, much of it bbolt's) around a small live heap (about 45 MB), so
// at the default 100 the collector runs several times a second and takes
// about a tenth of the CPU, and its assists and marking slow the
// pipeline's goroutines. At 200 it runs half as often: 1,000,000 events
// take 10-15% less CPU and the process about 50 MB more memory (RssAnon
// 93-100 -> 143-157 MB; see BENCHMARKS-replay.md).
const gcPercent = 200

// tuneGC sets gcPercent unless GOGC says otherwise.
func tuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
}
