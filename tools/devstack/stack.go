package main

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/dir"
	s3archive "github.com/scrape-pipeline/scrape-pipeline/libs/archive/s3"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/services/errorsink"
	sinklambda "github.com/scrape-pipeline/scrape-pipeline/services/errorsink/lambdaadapter"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
	proclambda "github.com/scrape-pipeline/scrape-pipeline/services/processor/lambdaadapter"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/awsbackend"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/esm"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/firehose"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/kinesis"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/sqs"
)

// Config is devstack's configuration, from its flags.
type Config struct {
	// Addr serves the HTTP API, SiteAddr the sample site.
	Addr, SiteAddr string
	// SiteDrift is how often the sample site's chart moves (samplesite
	// Options.Drift): 0 freezes it, else at least samplesite.MinDrift.
	SiteDrift time.Duration
	// DataDir holds the persistent state; Fresh deletes it first.
	DataDir string
	Fresh   bool
	// Suffix ends every resource name, as in a stack.
	Suffix string
	// Region is the region of the embedded backends' ARNs (empty:
	// defaultRegion) or, with AWS, of the resources (empty: the SDK's
	// standard settings, AWS_REGION or the profile's).
	Region string
	// Shards and Retention shape the embedded stream, and the stream
	// --aws --create makes (an existing one keeps its own).
	Shards    int
	Retention time.Duration
	// BatchingWindow is the processor mapping's batching window (AWS
	// counts whole seconds; devstack allows less).
	BatchingWindow time.Duration
	// ParallelizationFactor of the processor mapping.
	ParallelizationFactor int
	// URL and Profile are the scraper's target and extraction profile; URL
	// defaults to the sample site's chart.
	URL, Profile string
	// AllowPrivate lets the scraper reach private addresses other than
	// devstack's own sample site.
	AllowPrivate bool
	// ScrapeInterval is the minimum time between two scrapes of a host.
	ScrapeInterval time.Duration
	// FunctionTimeout bounds each invocation of a function (processor,
	// error sink, scraper, query), as a Lambda timeout does: the HTTP
	// functions' request contexts get the invocation's deadline.
	FunctionTimeout time.Duration
	// AWS uses the AWS adapters (with the SDK's standard settings, e.g.
	// AWS_ENDPOINT_URL_KINESIS) instead of the embedded backends; Create
	// creates the stream, tables and queues first. Profile is the AWS
	// profile (empty: the SDK's default).
	AWS, Create bool
	AWSProfile  string
	// SerialTables sends one DynamoDB call at a time (moto_server applies
	// conditional writes non-atomically under concurrency).
	SerialTables bool
	// Sync makes every write of the embedded backends reach the disk
	// before it returns (slower; without it a killed process loses
	// nothing, only a machine crash could).
	Sync bool
	// ArchiveInterval is how long the archiver buffers records before it
	// writes them as one object (Firehose's buffering interval; 5 MiB of
	// records fill an object sooner).
	ArchiveInterval time.Duration
	// ArchiveBucket is, with AWS, the S3 bucket and optional key prefix
	// (NAME[/PREFIX]) the archive goes to; empty: <DataDir>/archive, as
	// without AWS. Create creates the bucket if it is missing.
	ArchiveBucket string
	// Schedule scrapes URL every Schedule with trigger "schedule", as
	// EventBridge Scheduler invokes the scraper on AWS; 0 is off.
	Schedule time.Duration
	// AllowHosts are hosts a POST /scrape body may name besides URL's and
	// the sample site's: "host" on the default port of the URL's scheme,
	// "host:port" on that port.
	AllowHosts []string
	// DetailConcurrency is how many detail pages the scraper fetches at
	// once (0: the profile's own).
	DetailConcurrency int

	// diskFault, when set (tests only), is called before every write to
	// the data directory with the file written; an error it returns is
	// that write's, as if the file system had returned it (see
	// storageHealth).
	diskFault func(path string) error
	// errorsinkVisibility, when set (tests only), replaces
	// defaultErrorsinkVisibility: how long a message the error sink
	// failed stays hidden before it comes back, so that a test reaches
	// the dead-letter queue (after the queue's maxReceiveCount receives)
	// in a second rather than in half a minute.
	errorsinkVisibility time.Duration
}

// defaultErrorsinkVisibility is the on-failure queue's visibility timeout
// for the error sink's mapping: a few seconds, so that a redelivery is
// seen (AWS advises six times the function's timeout).
const defaultErrorsinkVisibility = 5 * time.Second

// maxArchiveInterval is Firehose's longest buffering interval.
const maxArchiveInterval = 900 * time.Second

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	for name, addr := range map[string]string{"--addr": c.Addr, "--site-addr": c.SiteAddr} {
		if _, _, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", name, addr, err))
		}
	}
	if err := samplesite.CheckDrift(c.SiteDrift); err != nil {
		errs = append(errs, fmt.Errorf("--site-drift %w", err))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data: required"))
	}
	if err := contract.ValidSuffix(c.Suffix); err != nil {
		errs = append(errs, fmt.Errorf("--suffix: %w", err))
	}
	if c.Shards < 1 || c.Shards > 64 {
		errs = append(errs, fmt.Errorf("--shards %d: want 1..64", c.Shards))
	}
	// The processor's per-event progress markers live 8 days: a replay of
	// records older than that would count them twice, so retention stays
	// within Kinesis's standard 7 days.
	if c.Retention < time.Hour || c.Retention > contract.MaxStreamRetention {
		errs = append(errs, fmt.Errorf("--retention %s: want 1h..%s", c.Retention, contract.MaxStreamRetention))
	}
	if c.BatchingWindow < 0 || c.BatchingWindow > 300*time.Second {
		errs = append(errs, fmt.Errorf("--batching-window %s: want 0..300s", c.BatchingWindow))
	}
	if c.ParallelizationFactor < 1 || c.ParallelizationFactor > 10 {
		errs = append(errs, fmt.Errorf("--parallelization %d: want 1..10", c.ParallelizationFactor))
	}
	if c.URL != "" {
		if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--url %q: want an absolute http(s) URL", c.URL))
		}
	}
	if c.Create && !c.AWS {
		errs = append(errs, errors.New("--create: only with --aws"))
	}
	// Kinesis keeps records for whole hours, 24 at least.
	if c.AWS && (c.Retention < 24*time.Hour || c.Retention%time.Hour != 0) {
		errs = append(errs, fmt.Errorf("--retention %s with --aws: want whole hours from 24h (Kinesis's least)", c.Retention))
	}
	if c.SerialTables && !c.AWS {
		errs = append(errs, errors.New("--serial-tables: only with --aws"))
	}
	if c.ScrapeInterval < 0 {
		errs = append(errs, fmt.Errorf("--scrape-interval %s: must not be negative", c.ScrapeInterval))
	}
	if c.ArchiveInterval <= 0 || c.ArchiveInterval > maxArchiveInterval {
		errs = append(errs, fmt.Errorf("--archive-interval %s: want more than 0 and at most %s (Firehose's longest)", c.ArchiveInterval, maxArchiveInterval))
	}
	if c.ArchiveBucket != "" {
		if !c.AWS {
			errs = append(errs, errors.New("--archive-bucket: only with --aws (without it the archive is in --data)"))
		}
		if _, err := archiveLocation(c.ArchiveBucket); err != nil {
			errs = append(errs, fmt.Errorf("--archive-bucket: %w", err))
		}
	}
	if c.Schedule != 0 && c.Schedule < time.Second {
		errs = append(errs, fmt.Errorf("--schedule %s: want 0 (off) or at least 1s", c.Schedule))
	}
	for _, h := range c.AllowHosts {
		if err := checkHostPattern(h); err != nil {
			errs = append(errs, fmt.Errorf("--allow-host %w", err))
		}
	}
	if c.DetailConcurrency < 0 || c.DetailConcurrency > scraper.MaxDetailConcurrency {
		errs = append(errs, fmt.Errorf("--detail-concurrency %d: want 0 (the profile's) or 1..%d", c.DetailConcurrency, scraper.MaxDetailConcurrency))
	}
	if c.FunctionTimeout < 3*time.Second || c.FunctionTimeout > 15*time.Minute {
		// Lambda allows 1s, but the processor and the error sink stop
		// starting work 2s before their deadline.
		errs = append(errs, fmt.Errorf("--function-timeout %s: want 3s..15m (Lambda's 15m at most; the handlers keep 2s before their deadline)", c.FunctionTimeout))
	}
	return errors.Join(errs...)
}

// streamBackend is the stream: devstack's embedded one, or Kinesis with
// --aws.
type streamBackend interface {
	stream.Publisher
	stream.RangeReader
	esm.KinesisSource
	// PutRecord stores one record and tells where it went.
	PutRecord(ctx context.Context, r stream.Record) (shardID, sequenceNumber string, err error)
	Name() string
}

// queueBackend is a queue: devstack's embedded one, or SQS with --aws.
type queueBackend interface {
	esm.SQSSource
	esm.Destination
	Name() string
	Depth() (visible, inFlight int, err error)
}

// checkHostPattern checks an --allow-host value: HOST or HOST:PORT.
func checkHostPattern(h string) error {
	host := h
	if hp, port, err := net.SplitHostPort(h); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: the port is not 1..65535", h)
		}
		host = hp
	} else if strings.Contains(h, ":") {
		host = "" // not HOST:PORT, and a host has no ':'
	}
	if host == "" || strings.ContainsAny(host, "/@?#* ") {
		return fmt.Errorf("%q: want HOST or HOST:PORT (e.g. example.org or localhost:9000)", h)
	}
	return nil
}

// archiveLocation parses --archive-bucket: NAME[/PREFIX] (s3:// optional).
func archiveLocation(v string) (s3archive.Location, error) {
	return s3archive.ParseLocation("s3://" + strings.TrimPrefix(v, "s3://"))
}

// Stack is the whole pipeline in one process.
type Stack struct {
	cfg Config
	log *slog.Logger

	db     *bolt.DB
	tables store.Store // embedded, or DynamoDB with --aws
	stream streamBackend
	queue  queueBackend
	dlq    queueBackend
	// trim applies the stream's retention (embedded stream only).
	trim func() (int, error)

	processorMapping *esm.Kinesis
	errorsinkMapping *esm.SQS
	// archiver delivers the stream to archive (S3 with --aws
	// --archive-bucket; nil: <data>/archive), at archiveLocation.
	archiver        *firehose.Archiver
	archive         archive.Writer
	archiveLocation string
	// health is the data directory's; probe its smallest writes.
	health *storageHealth
	probe  func(context.Context) error
	// scraper is the scraper service, for the schedule.
	scraper  *scraper.Service
	schedule scheduleState

	api, site     *http.Server
	apiLn, siteLn net.Listener
	scrapeURL     string
	progress      sync.WaitGroup
	// stopped is closed when Run stops: progress watchers end.
	stopped chan struct{}
	closers []func() error
}

// defaultRegion is the region of the embedded backends' ARNs when none is
// given: the workshop stack's.
const defaultRegion = "eu-west-2"

// New opens the data directory and builds every part; Run starts them.
func New(cfg Config, log *slog.Logger) (_ *Stack, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Fresh {
		if err := os.RemoveAll(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("--fresh: %w", err)
		}
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	s := &Stack{cfg: cfg, log: log}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s.health = &storageHealth{dir: dataDir, log: log, now: time.Now, fault: cfg.diskFault}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	// Listen first: a port in use is the likeliest failure, and the
	// scraper's default URL needs the sample site's real address.
	if s.siteLn, err = net.Listen("tcp", cfg.SiteAddr); err != nil {
		return nil, fmt.Errorf("sample site: %w", err)
	}
	if s.apiLn, err = net.Listen("tcp", cfg.Addr); err != nil {
		return nil, fmt.Errorf("API: %w", err)
	}
	s.db, err = bolt.Open(filepath.Join(cfg.DataDir, "stream.db"), 0o600, &bolt.Options{Timeout: 2 * time.Second})
	if err != nil {
		return nil, fmt.Errorf("open %s (is another devstack running on it?): %w", cfg.DataDir, err)
	}
	s.db.NoSync = !cfg.Sync
	if cfg.AWS {
		// The region the SDK resolved names the ARNs too.
		cfg.Region, err = s.openAWS()
	} else {
		cfg.Region = cmp.Or(cfg.Region, defaultRegion)
		s.cfg = cfg
		err = s.openEmbedded()
	}
	if err != nil {
		return nil, err
	}
	s.cfg = cfg
	raw := s.stream // the stream before guarding, for its extra methods
	cps := s.guard()

	s.scrapeURL = cfg.URL
	if s.scrapeURL == "" {
		s.scrapeURL = "http://" + s.siteLn.Addr().String() + samplesite.ChartPath
	}
	processorARN := fmt.Sprintf("arn:aws:lambda:%s:000000000000:function:processor-%s", cfg.Region, cfg.Suffix)

	proc := processor.New(s.tables, processor.Options{Logger: log.With("function", "processor"), FunctionName: "processor-" + cfg.Suffix})
	settings := contract.ProcessorMapping
	settings.ParallelizationFactor = cfg.ParallelizationFactor
	// The mappings invoke the functions Lambda runs: the Lambda adapters
	// around the services' cores (see package esm).
	if s.processorMapping, err = esm.NewKinesis(s.stream, cps, settings, proclambda.Handler(proc), s.queue, esm.Options{
		Name: checkpointName("processor", raw), FunctionARN: processorARN, FunctionTimeout: cfg.FunctionTimeout,
		Region: cfg.Region, Logger: log.With("mapping", "processor"), Throttled: s.health.Throttled,
	}); err != nil {
		return nil, err
	}
	sink := errorsink.New(s.stream, s.tables, errorsink.Options{Logger: log.With("function", "errorsink")})
	visibility := cmp.Or(cfg.errorsinkVisibility, defaultErrorsinkVisibility)
	if s.errorsinkMapping, err = esm.NewSQS(s.queue, contract.ErrorsinkMapping, sinklambda.Handler(sink), visibility, esm.Options{
		Name: "errorsink", FunctionARN: fmt.Sprintf("arn:aws:lambda:%s:000000000000:function:errorsink-%s", cfg.Region, cfg.Suffix),
		FunctionTimeout: cfg.FunctionTimeout, Region: cfg.Region, Logger: log.With("mapping", "errorsink"),
		Throttled: s.health.Throttled,
	}); err != nil {
		return nil, err
	}
	if err := s.openArchiver(raw, cps); err != nil {
		return nil, err
	}

	cursorKey, err := loadOrCreateKey(filepath.Join(cfg.DataDir, "cursor.key"))
	if err != nil {
		return nil, err
	}
	apiHandler, err := s.apiHandler(cursorKey)
	if err != nil {
		return nil, err
	}
	s.api = &http.Server{Handler: apiHandler, ReadHeaderTimeout: 10 * time.Second}
	s.site = &http.Server{Handler: samplesite.New(samplesite.Options{Knobs: true, Drift: cfg.SiteDrift}), ReadHeaderTimeout: 10 * time.Second}
	s.stopped = make(chan struct{})
	return s, nil
}

// guard routes every write to the data directory through the storage
// health (see storageHealth), and returns the checkpoints, guarded too.
// The stream's extra methods (Created, Retention, Expired) are those of
// the stream before guarding.
func (s *Stack) guard() esm.Checkpoints {
	h, dir := s.health, s.health.dir
	tables, streamDB := filepath.Join(dir, "tables.db"), filepath.Join(dir, "stream.db")
	if s.cfg.AWS {
		tables = "dynamodb" // no file: never full; guarded all the same
	}
	s.tables = guardedStore{next: s.tables, h: h, path: tables}
	streamPath, queuePath := streamDB, streamDB
	if s.cfg.AWS {
		streamPath, queuePath = "kinesis", "sqs"
	}
	s.stream = guardedStream{streamBackend: s.stream, h: h, path: streamPath}
	s.queue = guardedQueue{queueBackend: s.queue, h: h, path: queuePath}
	s.dlq = guardedQueue{queueBackend: s.dlq, h: h, path: queuePath}
	cps := guardedCheckpoints{Checkpoints: esm.BoltCheckpoints{DB: s.db}, h: h, path: streamDB}
	probeFile := filepath.Join(dir, ".space-probe")
	s.probe = func(ctx context.Context) error {
		// Room for a new file (bbolt may still have free pages inside its
		// files when the disk is full), then the smallest writes devstack
		// has to the files a full disk stopped: a lease no scrape uses,
		// and a checkpoint of its own.
		if err := h.write(probeFile, func() error { return writeProbe(probeFile) }); err != nil {
			return err
		}
		if !s.cfg.AWS {
			if _, _, err := s.tables.AcquireLease(ctx, probeHost, "devstack", time.Now(), time.Millisecond); err != nil {
				return err
			}
		}
		return cps.SetCheckpoint("devstack storage probe", "probe", time.Now().UTC().Format(time.RFC3339Nano))
	}
	return cps
}

// writeProbe writes 64 KiB to path, syncs and removes it: whether the
// file system has room for a new object, and a little more.
func writeProbe(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer os.Remove(path)
	_, err = f.Write(make([]byte, 64<<10))
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// openArchiver builds the archiver of the stream (raw: before guarding)
// into the archive: the bucket openAWS opened, or <data>/archive.
func (s *Stack) openArchiver(raw streamBackend, cps esm.Checkpoints) error {
	var src firehose.Source
	var retention time.Duration
	switch st := raw.(type) {
	case *kinesis.Stream:
		src, retention = st, st.Retention()
	case *awsbackend.Stream:
		// A reader of its own, as Firehose is a consumer of its own; it
		// polls once a second, an object is written every few.
		src, retention = st.Reader(time.Second), st.Retention()
	default:
		return fmt.Errorf("archiver: no reader for stream %T", raw)
	}
	w := s.archive
	if w == nil {
		d, err := dir.New(filepath.Join(s.cfg.DataDir, "archive"))
		if err != nil {
			return err
		}
		w, s.archiveLocation = d, d.Root()
	}
	var err error
	s.archiver, err = firehose.New(src, cps, guardedArchive{Writer: w, h: s.health, path: s.archiveLocation}, firehose.Options{
		Name: checkpointName("archiver", raw), Writer: "devstack-" + s.cfg.Suffix,
		Interval: s.cfg.ArchiveInterval, Retention: retention, MaxBackoff: 2 * time.Second, Logger: s.log.With("component", "archiver"),
	})
	return err
}

// openEmbedded opens the embedded backends under the data directory.
func (s *Stack) openEmbedded() error {
	cfg := s.cfg
	var opts []embedded.Option
	if !cfg.Sync {
		opts = append(opts, embedded.WithNoSync())
	}
	tbl, err := embedded.Open(filepath.Join(cfg.DataDir, "tables.db"), opts...)
	if err != nil {
		return err
	}
	s.tables = tbl
	s.closers = append(s.closers, tbl.Close)
	str, err := kinesis.Open(s.db, kinesis.Options{
		Name: contract.Name(contract.StreamBase, cfg.Suffix), Region: cfg.Region,
		Shards: cfg.Shards, Retention: cfg.Retention,
	})
	if err != nil {
		return err
	}
	s.stream, s.trim = str, str.TrimExpired
	dlq, err := sqs.Open(s.db, sqs.Options{Name: contract.Name(contract.ErrorsinkDLQBase, cfg.Suffix), Region: cfg.Region})
	if err != nil {
		return err
	}
	q, err := sqs.Open(s.db, sqs.Options{
		Name: contract.Name(contract.OnFailureQueue, cfg.Suffix), Region: cfg.Region,
		Retention: contract.OnFailureQueueRetention, MaxReceiveCount: 5, DeadLetter: dlq,
	})
	if err != nil {
		return err
	}
	s.queue, s.dlq = q, dlq
	return nil
}

// loadOrCreateKey returns the query API's cursor key, kept in the data
// directory so that cursors survive a restart, as they survive Lambda cold
// starts with the stack's key.
func loadOrCreateKey(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err == nil && len(key) == 32 {
		return key, nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key = make([]byte, 32)
	_, _ = rand.Read(key)
	if err := os.WriteFile(path, key, 0o600); err != nil {
		return nil, fmt.Errorf("cursor key: %w", err)
	}
	return key, nil
}

// checkpointName names the checkpoints of consumer ("processor",
// "archiver") in stream. A stream deleted and created again under its name
// (an emulator restarted, with --aws) keeps its ARN but numbers its records
// anew, and Kinesis refuses an iterator after a sequence number of the old
// stream: its creation time tells the two apart, so the new one starts
// afresh.
func checkpointName(consumer string, stream streamBackend) string {
	name := consumer + " " + stream.ARN()
	if c, ok := stream.(interface{ Created() time.Time }); ok && !c.Created().IsZero() {
		name += " created " + c.Created().UTC().Format(time.RFC3339Nano)
	}
	return name
}

// openAWS opens the AWS backends: Kinesis, SQS and DynamoDB through the
// SDK's standard settings, creating them with --create. It returns their
// region.
func (s *Stack) openAWS() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	awsCfg, err := awsbackend.LoadConfig(ctx, s.cfg.Region, s.cfg.AWSProfile)
	if err != nil {
		return "", err
	}
	opts := []awsbackend.Option{awsbackend.WithShards(s.cfg.Shards), awsbackend.WithRetention(s.cfg.Retention)}
	if s.cfg.SerialTables {
		opts = append(opts, awsbackend.WithSerialTables())
	}
	b, err := awsbackend.Open(ctx, awsCfg, awsbackend.NamesFor(s.cfg.Suffix), s.cfg.Create, opts...)
	if err != nil {
		return "", err
	}
	s.stream, s.queue, s.dlq, s.tables = b.Stream, b.Queue, b.DLQ, b.Tables
	if s.cfg.ArchiveBucket != "" {
		loc, _ := archiveLocation(s.cfg.ArchiveBucket) // validated
		a, err := awsbackend.OpenArchive(ctx, awsCfg, loc, s.cfg.Create)
		if err != nil {
			return "", err
		}
		s.archive, s.archiveLocation = a, loc.String()
	}
	return awsCfg.Region, nil
}

// APIURL is the HTTP API's base URL.
func (s *Stack) APIURL() string { return "http://" + s.apiLn.Addr().String() }

// SiteURL is the sample site's base URL.
func (s *Stack) SiteURL() string { return "http://" + s.siteLn.Addr().String() }

// Run serves until ctx is done, then stops the schedule and accepting
// requests, lets the batches in flight finish, has the archiver write what
// it holds, checkpoints, logs what it finished and returns.
func (s *Stack) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	bg, stopBG := context.WithCancel(context.Background())
	defer stopBG()
	wg.Go(func() {
		if err := s.site.Serve(s.siteLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("sample site: %w", err)
		}
	})
	wg.Go(func() {
		if err := s.api.Serve(s.apiLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("API: %w", err)
		}
	})
	mappings := sync.WaitGroup{}
	mappings.Go(func() {
		if err := s.processorMapping.RunWindow(bg, s.cfg.BatchingWindow); err != nil {
			errs <- fmt.Errorf("processor mapping: %w", err)
		}
	})
	mappings.Go(func() {
		if err := s.errorsinkMapping.Run(bg); err != nil {
			errs <- fmt.Errorf("errorsink mapping: %w", err)
		}
	})
	mappings.Go(func() {
		if err := s.archiver.Run(bg); err != nil {
			errs <- fmt.Errorf("archiver: %w", err)
		}
	})
	mappings.Go(func() { s.trimLoop(bg) })
	mappings.Go(func() { s.health.watch(bg, s.probe) })
	schedule, stopSchedule := context.WithCancel(bg)
	defer stopSchedule()
	var scheduler sync.WaitGroup
	if s.cfg.Schedule > 0 {
		scheduler.Go(func() { s.runSchedule(schedule) })
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
	}
	s.log.Info("stopping: no new scrapes or requests; finishing the batches in flight")
	// A scheduled scrape in flight finishes first, while the sample site
	// still answers.
	stopSchedule()
	scheduler.Wait()
	shutdown, cancel := context.WithTimeout(context.Background(), s.cfg.FunctionTimeout+5*time.Second)
	defer cancel()
	_ = s.api.Shutdown(shutdown)
	_ = s.site.Shutdown(shutdown)
	stopBG()
	mappings.Wait()
	close(s.stopped)
	s.progress.Wait()
	wg.Wait()
	s.logStopped()
	return runErr
}

// logStopped logs what devstack finished and checkpointed: per mapping
// and shard, the batches done and the checkpoint; the archiver's last
// object and checkpoints; the queues' depths.
func (s *Stack) logStopped() {
	if shards, err := s.processorMapping.Status(); err == nil {
		for _, sh := range shards {
			s.log.Info("stopped: processor mapping", "shard", sh.ShardID, "batches_done", sh.BatchesDone,
				"batches_to_on_failure", sh.BatchesToOnFailure, "checkpoint", sh.Checkpoint, "latest", sh.Latest)
		}
	}
	sqsSt := s.errorsinkMapping.Status()
	s.log.Info("stopped: errorsink mapping", "invocations", sqsSt.Invocations, "messages_handled", sqsSt.Deleted)
	a := s.archiver.Status()
	last := ""
	if a.LastObject != nil {
		last = a.LastObject.Key
	}
	s.log.Info("stopped: archiver", "archive", s.archiveLocation, "objects_written", a.Objects, "records_archived", a.Records,
		"last_object", last, "records_not_written", a.PendingRecords, "lost", a.Lost)
	for _, sh := range a.Shards {
		s.log.Info("stopped: archiver", "shard", sh.ShardID, "archived_up_to", sh.ArchivedUpTo)
	}
	for _, q := range []queueBackend{s.queue, s.dlq} {
		if v, f, err := q.Depth(); err == nil {
			s.log.Info("stopped: queue", "queue", q.Name(), "visible", v, "in_flight", f)
		}
	}
}

// trimLoop applies the stream's retention and the tables' TTL now and then.
func (s *Stack) trimLoop(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if s.trim == nil {
				continue
			}
			if n, err := s.trim(); err != nil {
				s.log.Warn("retention", "error", err.Error())
			} else if n > 0 {
				s.log.Info("records past retention trimmed", "records", n)
			}
		}
	}
}

// Close releases the data directory.
func (s *Stack) Close() error {
	var errs []error
	for _, ln := range []net.Listener{s.apiLn, s.siteLn} {
		if ln != nil {
			ln.Close()
		}
	}
	for _, c := range s.closers {
		errs = append(errs, c())
	}
	if s.db != nil {
		errs = append(errs, s.db.Close())
	}
	return errors.Join(errs...)
}

// watchRun logs a run's progress until it is no longer running: what the
// scraper published, what the processor has done, what failed.
func (s *Stack) watchRun(runID string) {
	s.progress.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		deadline := time.Now().Add(5 * time.Minute)
		last := ""
		for time.Now().Before(deadline) {
			select {
			case <-s.stopped:
				return
			case <-t.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			r, err := s.tables.GetRun(ctx, runID)
			cancel()
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return
			}
			line := fmt.Sprintf("%d/%d/%d/%s", r.Published, r.Processed, r.Failed, r.Status())
			if line == last {
				continue
			}
			last = line
			s.log.Info("run progress", "run_id", runID, "status", string(r.Status()),
				"published", r.Published, "processed", r.Processed, "failed", r.Failed)
			if r.Status() != store.RunRunning {
				return
			}
		}
	})
}

var (
	_ streamBackend = (*kinesis.Stream)(nil)
	_ queueBackend  = (*sqs.Queue)(nil)
)

// logStarted logs, after "devstack ready", where the archive is and where
// the archiver resumes, and the schedule.
func (s *Stack) logStarted() {
	a := s.archiver.Status()
	for _, sh := range a.Shards {
		s.log.Info("archiver resumes", "archive", s.archiveLocation, "shard", sh.ShardID,
			"archived_up_to", sh.ArchivedUpTo, "lost", sh.Lost, "interval", s.cfg.ArchiveInterval.String())
	}
	if s.cfg.Schedule > 0 {
		s.log.Info("scraping on a schedule", "every", s.cfg.Schedule.String(), "url", s.scrapeURL)
	}
}
