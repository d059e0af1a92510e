package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/tools/replay/replay"
)

// Exit codes, as diff(1) has them, and 130 (128+SIGINT) for a replay
// interrupted and resumable.
const (
	exitOK          = 0
	exitDiffer      = 1
	exitTrouble     = 2
	exitInterrupted = 130
)

// run parses args, runs the tool and returns the exit code. Errors go to
// stderr, the report to stdout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	o, logFormat, logLevel, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "replay:", err)
		return exitTrouble
	}
	if o.Logger, err = newLogger(stderr, logFormat, logLevel); err != nil {
		fmt.Fprintln(stderr, "replay:", err)
		return exitTrouble
	}
	o.Out, o.Progress = stdout, stderr
	t, err := replay.New(ctx, o)
	if err != nil {
		fmt.Fprintln(stderr, "replay:", err)
		return exitTrouble
	}
	defer t.Close()
	_, err = t.Run(ctx)
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, replay.ErrDiffer):
		return exitDiffer
	case errors.Is(err, replay.ErrInterrupted):
		fmt.Fprintln(stderr, "replay:", err)
		return exitInterrupted
	}
	fmt.Fprintln(stderr, "replay:", err)
	return exitTrouble
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (replay.Options, string, string, error) {
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o replay.Options
	var since, until string
	fs.StringVar(&o.Archive, "archive", "", "replay this archive: a directory (devstack's <data>/archive) or s3://BUCKET[/PREFIX]")
	fs.StringVar(&o.Data, "data", "", "the devstack data directory to rebuild into (a new one: devstack --data DIR then serves it), or to verify or redrive")
	fs.StringVar(&o.Verify, "verify", "", "compare the tables with these live ones: a data directory, or with --aws a suffix; exit 1 when they differ")
	fs.BoolVar(&o.Redrive, "redrive", false, "feed the open error items through today's processor and move the error sink's dead-letter queue back to the on-failure queue")
	fs.BoolVar(&o.AWS, "aws", false, "the tables (and queues) are DynamoDB's (SQS's), of --suffix, through the SDK's standard settings (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL…)")
	fs.StringVar(&o.Suffix, "suffix", "", "with --aws: the suffix of the tables to write, verify or redrive; without: of the devstack's queues (default "+replay.DefaultSuffix+")")
	fs.BoolVar(&o.Create, "create", false, "with --aws: create the tables of --suffix for the replay")
	fs.BoolVar(&o.SerialTables, "serial-tables", false, "with --aws against moto_server: one DynamoDB call at a time")
	fs.StringVar(&since, "since", "", "replay only records that arrived at or after this time (RFC 3339)")
	fs.StringVar(&until, "until", "", "replay only records that arrived before this time (RFC 3339)")
	fs.BoolVar(&o.FromStart, "from-start", false, "read the whole archive again, not only past the last replay's checkpoint (for objects delivered late)")
	fs.IntVar(&o.BatchSize, "batch", replay.DefaultBatchSize, "records per processor batch")
	fs.IntVar(&o.Lanes, "lanes", replay.DefaultLanes, "batches applied at once (each partition key belongs to one)")
	fs.IntVar(&o.Concurrency, "concurrency", 0, fmt.Sprintf("partition keys the processor works on at once per batch (default %d, with --aws %d)", replay.DefaultConcurrency, replay.DefaultAWSConcurrency))
	fs.IntVar(&o.MaxDiffs, "diffs", replay.DefaultMaxDiffs, "differences --verify prints in full")
	fs.StringVar(&o.Region, "region", "", "AWS region (default: the SDK's, AWS_REGION or the profile's)")
	fs.StringVar(&o.Profile, "aws-profile", "", "AWS profile (default: the SDK's)")
	pathStyle := getenv("AWS_ENDPOINT_URL_S3") != "" || getenv("AWS_ENDPOINT_URL") != ""
	fs.BoolVar(&o.S3PathStyle, "s3-path-style", pathStyle, "address S3 buckets in the path, as emulators need (default: on when AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL is set)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `Usage:
  replay --archive DIR|s3://BUCKET[/PREFIX] --data NEWDIR [--verify LIVEDIR] [--since T] [--until T]
  replay --archive … --aws --suffix NEW [--create] [--verify LIVE]
  replay --verify LIVEDIR --data REBUILTDIR          (or --aws --suffix REBUILT --verify LIVE)
  replay --redrive --data DIR                        (or --aws --suffix S)

Rebuild the projections from the archive with the processor's own code, compare
them with the live ones, redrive failed records. Exit 0, 1 when --verify finds
differences, 2 on trouble, 130 when interrupted (run the same command to resume).

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return replay.Options{}, "", "", err
	}
	if fs.NArg() > 0 {
		return replay.Options{}, "", "", fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	var errs []error
	for _, f := range []struct {
		name, value string
		t           *time.Time
	}{{"--since", since, &o.Since}, {"--until", until, &o.Until}} {
		if f.value == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, f.value)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want an RFC 3339 time such as 2026-11-27T04:00:00Z", f.name, f.value))
		}
		*f.t = t
	}
	if err := errors.Join(append(errs, o.Validate())...); err != nil {
		return replay.Options{}, "", "", err
	}
	return o, *logFormat, *logLevel, nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}
