// Command devstack runs the whole scrape-pipeline on one machine, with no
// cloud account and no Docker: the sample site, the HTTP API (the scraper's
// and the query service's own handlers), an embedded Kinesis-like stream,
// the processor and error-sink handlers behind event source mappings with
// Lambda's semantics, an on-failure queue, DynamoDB-like tables, and the
// archiver that keeps every record of the stream (package firehose) — all
// in one process, persisted under --data. With --schedule it also scrapes
// by itself, as EventBridge Scheduler does on AWS.
//
//	go run ./tools/devstack            # then follow the curl lines it prints
//	go run ./tools/devstack --fresh    # start from empty tables and stream
//	go run ./tools/devstack -h         # every flag
//
// See the README's "Run it locally" section for every flag and the
// poison-record walk-through.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

func main() {
	os.Exit(exitCode(run(os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}

// exitCode is devstack's exit status for run's error: 0 for none and for
// -h (the usage was asked for and printed, as Go's own tools do), else 2
// after the error is printed to stderr.
func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	}
	fmt.Fprintln(stderr, "devstack:", err)
	return 2
}

// run parses args, starts the stack and serves until SIGINT or SIGTERM.
func run(args []string, stdout, stderr io.Writer) error {
	cfg, logFormat, logLevel, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	log, err := newLogger(stderr, logFormat, logLevel)
	if err != nil {
		return err
	}
	started := time.Now()
	stack, err := New(cfg, log)
	if err != nil {
		return err
	}
	defer stack.Close()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("devstack ready", "api", stack.APIURL(), "site", stack.SiteURL(), "data", cfg.DataDir,
		"startup_ms", time.Since(started).Milliseconds())
	stack.logStarted()
	printBanner(stdout, stack)
	return stack.Run(ctx)
}

func parseFlags(args []string, stderr io.Writer) (Config, string, string, error) {
	fs := flag.NewFlagSet("devstack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "address of the HTTP API")
	fs.StringVar(&cfg.SiteAddr, "site-addr", "127.0.0.1:8081", "address of the sample site")
	fs.DurationVar(&cfg.SiteDrift, "site-drift", time.Minute, "how often the sample site's chart moves (ratings, votes, ranks); 0 freezes it, else at least 1s")
	fs.StringVar(&cfg.DataDir, "data", ".devstack", "directory of the persistent state (stream, checkpoints, queue, tables, archive)")
	fs.BoolVar(&cfg.Fresh, "fresh", false, "delete the state in --data first")
	fs.StringVar(&cfg.Suffix, "suffix", "devstack", "suffix of every resource name, as a stack's")
	fs.StringVar(&cfg.Region, "region", "", "region: of the ARNs of the embedded backends (default "+defaultRegion+"); with --aws, of the AWS resources (default: the SDK's, AWS_REGION or the profile's)")
	fs.IntVar(&cfg.Shards, "shards", 2, "shards of the stream")
	fs.DurationVar(&cfg.Retention, "retention", 24*time.Hour, "how long the stream keeps records (1h..168h; with --aws, whole hours from 24h, applied to the stream --create makes)")
	fs.DurationVar(&cfg.BatchingWindow, "batching-window", 200*time.Millisecond, "processor mapping's MaximumBatchingWindow")
	fs.IntVar(&cfg.ParallelizationFactor, "parallelization", contract.ProcessorMapping.ParallelizationFactor, "processor mapping's ParallelizationFactor (1..10)")
	fs.StringVar(&cfg.URL, "url", "", "page to scrape (default: the sample site's chart)")
	fs.StringVar(&cfg.Profile, "profile", "", "extraction profile: a built-in name or a JSON file (default: movies)")
	fs.BoolVar(&cfg.AllowPrivate, "allow-private", false, "let the scraper reach private and loopback addresses besides the sample site")
	fs.Var((*hostList)(&cfg.AllowHosts), "allow-host", "another host a POST /scrape body may name, `HOST[:PORT]` (no port: the URL scheme's default), besides --url's and the sample site's; repeatable")
	fs.IntVar(&cfg.DetailConcurrency, "detail-concurrency", 0, "detail pages the scraper fetches at once (1..16; default 0: the profile's own, 8 for movies), as the stack's scrapeDetailConcurrency")
	fs.DurationVar(&cfg.ScrapeInterval, "scrape-interval", 10*time.Second, "minimum time between two scrapes of one host (AWS default: 60s)")
	fs.DurationVar(&cfg.FunctionTimeout, "function-timeout", 30*time.Second, "timeout of each function invocation")
	fs.DurationVar(&cfg.Schedule, "schedule", 0, "scrape --url every `DURATION` with trigger schedule, as EventBridge Scheduler would; 0 is off, else at least 1s")
	fs.DurationVar(&cfg.ArchiveInterval, "archive-interval", archive.DefaultInterval, "how long the archiver buffers records before it writes them as one object (Firehose's buffering interval; at most 15m)")
	fs.StringVar(&cfg.ArchiveBucket, "archive-bucket", "", "with --aws: archive to S3, in this `bucket[/prefix]` (default: <data>/archive, as without --aws); --create makes the bucket")
	fs.BoolVar(&cfg.AWS, "aws", false, "use Kinesis, SQS and DynamoDB through the SDK's standard settings (AWS_ENDPOINT_URL…, AWS_REGION, AWS_PROFILE) instead of the embedded backends")
	fs.BoolVar(&cfg.Create, "create", false, "with --aws: create the stream, tables and queues if missing")
	fs.StringVar(&cfg.AWSProfile, "aws-profile", "", "with --aws: the AWS profile (default: the SDK's)")
	fs.BoolVar(&cfg.SerialTables, "serial-tables", false, "with --aws against moto_server: one DynamoDB call at a time")
	fs.BoolVar(&cfg.Sync, "sync", false, "fsync every write (survives a machine crash, not only a killed process)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: go run ./tools/devstack [flags]\n\nThe whole pipeline on this machine. Flags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, "", "", err
	}
	if fs.NArg() > 0 {
		return Config{}, "", "", fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return cfg, *logFormat, *logLevel, nil
}

// hostList is a repeatable string flag.
type hostList []string

func (l *hostList) String() string { return strings.Join(*l, ",") }

func (l *hostList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(requestIDHandler{slog.NewTextHandler(w, opts)}), nil
	case "json":
		return slog.New(requestIDHandler{slog.NewJSONHandler(w, opts)}), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// requestIDHandler adds the requestId of the invocation a line is logged
// in, as lambdacontext's handler does in Lambda: the lines of one batch
// can be told from another's here too.
type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.AddAttrs(slog.String("requestId", lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

func printBanner(w io.Writer, s *Stack) {
	api := s.APIURL()
	schedule := ""
	if s.cfg.Schedule > 0 {
		schedule = " (and every " + s.cfg.Schedule.String() + " by itself)"
	}
	fmt.Fprintf(w, `
scrape-pipeline devstack
  dashboard    %[1]s/
  API          %[1]s
  sample site  %[2]s/site/
  scraping     %[3]s%[4]s
  archive      %[5]s

Try:
  curl -X POST %[1]s/scrape
  curl %[1]s/runs/<runId from the answer>
  curl %[1]s/movies
  curl '%[1]s/movies?year=1994'
  curl %[1]s/movies/the-godfather-1972
  curl %[1]s/errors
Feed a poison record and watch it land in /errors while the shard flows on:
  curl -X POST %[1]s/_devstack/records -d '{"partitionKey":"poison","data":"not an event"}'
  curl %[1]s/_devstack/status

The archive keeps every record of the stream; GET /_devstack/status shows it.

`, api, s.SiteURL(), s.scrapeURL, schedule, s.archiveLocation)
}
