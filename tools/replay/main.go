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
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }() // a second signal kills at once
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}
