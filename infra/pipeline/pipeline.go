package pipeline

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi-random/sdk/v4/go/random"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// Service names: the base of each function's name, the name of its
// artifact and of its services/<name> module.
const (
	Scraper    = "scraper"
	Processor  = "processor"
	Query      = "query"
	Errorsink  = "errorsink"
	SampleSite = "samplesite"
	Archiver   = "archiver"
)

// Services lists the functions the stack may deploy (SampleSite only with
// Config.SampleSite).
var Services = []string{Scraper, Processor, Query, Errorsink, SampleSite, Archiver}

// Deployed returns the functions a stack with cfg deploys, in Services
// order.
func Deployed(cfg Config) []string {
	var out []string
	for _, s := range Services {
		if s != SampleSite || cfg.SampleSite {
			out = append(out, s)
		}
	}
	return out
}

// APIBase is the base name of the HTTP API.
const APIBase = "scrape-api"

// CursorKeyBytes is the length of the query API's cursor signing key.
const CursorKeyBytes = 32

// MaxReceiveCount is how often the errorsink may fail an on-failure
// message before SQS moves it to the dead-letter queue.
const MaxReceiveCount = 5

// ScraperMaxTimeout caps the scraper's timeout, in seconds. The HTTP API
// gives up on an integration after 30 s and answers 503 while the
// function runs on; a scraper that ends by 29 s answers POST /scrape
// itself. The other functions are not called through it and keep
// Config.Timeout.
const ScraperMaxTimeout = 29

// visibilityTimeoutFactor times the function timeout is the on-failure
// queue's visibility timeout, as Lambda recommends for SQS sources.
const visibilityTimeoutFactor = 6

// SampleSiteLatency is the least time one request through the HTTP API to
// the sample site takes, as the scraper (a Lambda function in the same
// region) sees it: API Gateway's own latency, a warm invocation and the
// site's few milliseconds of rendering. A scrape's detail pages go out
// detail-concurrency at a time, each waiting for its answer, so a scrape
// never asks for more than concurrency / SampleSiteLatency requests a
// second. Were requests faster still, the scraper would be answered 429 now
// and then and would retry after a jittered backoff: slower, not lost.
const SampleSiteLatency = 50 * time.Millisecond

// SampleSiteThrottle is the sample site's route throttle for a scraper
// fetching detailConcurrency detail pages at once: the most requests a
// second that scrape can make (see SampleSiteLatency), and a burst of two
// rounds of concurrent requests, for the chart page and a reader's browser
// besides. A full scrape of the sample chart is about 255 requests (robots.txt,
// 5 chart pages, 250 detail pages): 8 at a time it takes a couple of
// seconds at most and is never throttled by its own API, while the site,
// public and without authorisation, cannot be made to serve more than that
// to anyone else (each route was once allowed 200/s, burst 400).
func SampleSiteThrottle(detailConcurrency int) Throttle {
	perSecond := float64(detailConcurrency) * float64(time.Second) / float64(SampleSiteLatency)
	return Throttle{Rate: int(math.Ceil(perSecond)), Burst: 2 * detailConcurrency}
}

// Routes are the HTTP routes of each HTTP-facing service.
type Routes struct {
	// Scraper, Query and SampleSite are each service's routes
	// (contract.ScraperRoutes, QueryRoutes, SampleSiteRoutes).
	Scraper    []contract.Route
	Query      []contract.Route
	SampleSite []contract.Route
}

// PipelineArgs configures a Pipeline.
type PipelineArgs struct {
	// Config is the stack configuration (see LoadConfig).
	Config Config
	// Routes are the services' HTTP routes.
	Routes Routes
	// Artifacts give each function's deployment zip.
	Artifacts Artifacts
	// SampleSitePage is the sample site's path that the scraper fetches by
	// default when Config.SampleSite is on and Config.URL is empty.
	SampleSitePage string
	// MoviesPath is the query API's path that lists movies (moviesUrl).
	MoviesPath string
	// ProfileDetailConcurrency is how many detail pages the scraper's
	// profile fetches at once when Config.ScrapeDetailConcurrency is 0;
	// the sample site's throttle follows the concurrency in force. 0 means
	// unknown: MaxDetailConcurrency, the most the scraper would take.
	ProfileDetailConcurrency int
	// ScheduleInput is the event a schedule invokes the scraper with
	// (Config.Schedule).
	ScheduleInput string
}

// Pipeline is the whole stack: stream, tables, queues, functions,
// mappings, API and alarms.
type Pipeline struct {
	pulumi.ResourceState

	// The components, each created by its NewX. Schedule is nil unless
	// Config.Schedule is set.
	Stream   *Stream
	Tables   *Tables
	Queues   *Queues
	API      *API
	Alarms   *Alarms
	Archive  *Archive
	Schedule *Schedule
	// Functions and Mappings are keyed by service name (Scraper, …).
	Functions map[string]*Function
	Mappings  map[string]*lambda.EventSourceMapping

	// Outputs are the stack outputs, by output name.
	Outputs map[string]pulumi.StringOutput
}

// Stack output names.
const (
	OutAPIURL        = "apiUrl"
	OutScrapeCommand = "scrapeCommand"
	OutMoviesURL     = "moviesUrl"
	OutSampleSiteURL = "sampleSiteUrl"
	OutStreamName    = "streamName"
	OutMoviesTable   = "moviesTable"
	OutRunsTable     = "runsTable"
	OutErrorsTable   = "errorsTable"
	OutOnFailureURL  = "onFailureQueueUrl"
	OutArchiveBucket = "archiveBucket"
)

// NewPipeline builds the stack. args.Config must be valid (LoadConfig
// validates); Validate runs again here so that a caller that built a
// Config by hand gets the same message.
func NewPipeline(ctx *pulumi.Context, name string, args *PipelineArgs, opts ...pulumi.ResourceOption) (*Pipeline, error) {
	cfg := args.Config
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid stack configuration:\n%w", err)
	}
	if cfg.SampleSite && len(args.Routes.SampleSite) == 0 {
		return nil, fmt.Errorf("sampleSite is on but the sample site exports no routes")
	}
	p := &Pipeline{Functions: map[string]*Function{}, Mappings: map[string]*lambda.EventSourceMapping{}}
	if err := ctx.RegisterComponentResource("scrape-pipeline:infra:Pipeline", name, p, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(p)
	sfx := cfg.Suffix
	account := aws.GetCallerIdentityOutput(ctx, aws.GetCallerIdentityOutputArgs{}, pulumi.Parent(p)).AccountId()

	// Data: the event log, the projections and the failure queues.
	var err error
	if p.Stream, err = NewStream(ctx, contract.StreamBase, &StreamArgs{
		Name:           contract.Name(contract.StreamBase, sfx),
		Shards:         cfg.Shards,
		RetentionHours: cfg.RetentionHours,
	}, parent); err != nil {
		return nil, err
	}
	if p.Tables, err = NewTables(ctx, "tables", &TablesArgs{Suffix: sfx, Schemas: contract.Tables}, parent); err != nil {
		return nil, err
	}
	if p.Queues, err = NewQueues(ctx, "queues", &QueuesArgs{
		Suffix:            sfx,
		VisibilityTimeout: visibilityTimeoutFactor * cfg.Timeout,
		MaxReceiveCount:   MaxReceiveCount,
	}, parent); err != nil {
		return nil, err
	}
	if p.API, err = NewAPI(ctx, "api", &APIArgs{
		Name:             contract.Name(APIBase, sfx),
		LogRetentionDays: cfg.LogRetentionDays,
	}, parent); err != nil {
		return nil, err
	}
	cursorKey, err := random.NewRandomBytes(ctx, "cursor-key", &random.RandomBytesArgs{
		Length: pulumi.Int(CursorKeyBytes),
	}, parent)
	if err != nil {
		return nil, fmt.Errorf("cursor key: %w", err)
	}

	stream := p.Stream.Stream
	movies := p.Tables.ByBase[contract.MoviesTableBase]
	runs := p.Tables.ByBase[contract.RunsTableBase]
	errs := p.Tables.ByBase[contract.ErrorsTableBase]
	history := p.Tables.ByBase[contract.HistoryTableBase]
	onFailure := p.Queues.OnFailure

	// What the scraper fetches, and which hosts a request may name.
	scrapeURL := pulumi.String(cfg.URL).ToStringOutput()
	allowHosts := pulumi.String(joinHosts(hostOf(cfg.URL), cfg.AllowHosts)).ToStringOutput()
	if cfg.URL == "" { // the sample site (Validate ensures it is on)
		scrapeURL = pulumi.Sprintf("%s%s", p.API.Endpoint(), args.SampleSitePage)
		allowHosts = p.API.Host().ApplyT(func(h string) string { return joinHosts(h, cfg.AllowHosts) }).(pulumi.StringOutput)
	}

	// The line that starts a scrape: a stack output, and what the
	// dashboard shows when POST /scrape needs a signature.
	region := aws.GetRegionOutput(ctx, aws.GetRegionOutputArgs{}, pulumi.Parent(p)).Name()
	endpoint := p.API.Endpoint()
	scrapeCommand := pulumi.All(endpoint, region).ApplyT(func(v []any) string {
		return ScrapeCommand(v[0].(string), v[1].(string), cfg.ScrapeAuth)
	}).(pulumi.StringOutput)

	specs := []struct {
		service string
		env     pulumi.StringMap
		grants  []Grant
	}{
		{Scraper, scraperEnv(cfg, stream, runs, scrapeURL, allowHosts), scraperGrants(stream, runs)},
		// The archiver needs nothing but its logs: Firehose hands it the
		// records and takes its answer.
		{Archiver, nil, nil},
		{Processor, pulumi.StringMap{
			contract.EnvMoviesTable:  movies.Name,
			contract.EnvRunsTable:    runs.Name,
			contract.EnvErrorsTable:  errs.Name,
			contract.EnvHistoryTable: history.Name,
		}, processorGrants(stream, onFailure, movies, runs, errs, history)},
		{Query, queryEnv(cfg, movies, runs, errs, history, cursorKey, scrapeCommand), queryGrants(movies, runs, errs, history)},
		// The errorsink reads the stream each on-failure message names.
		{Errorsink, pulumi.StringMap{
			contract.EnvRunsTable:   runs.Name,
			contract.EnvErrorsTable: errs.Name,
		}, errorsinkGrants(stream, onFailure, runs, errs)},
	}
	if cfg.SampleSite {
		specs = append(specs, struct {
			service string
			env     pulumi.StringMap
			grants  []Grant
		}{SampleSite, pulumi.StringMap{
			contract.EnvSampleSiteDrift: pulumi.String(cfg.SampleSiteDrift.String()),
		}, nil})
	}
	for _, s := range specs {
		zip, sha, err := args.Artifacts.Zip(s.service)
		if err != nil {
			return nil, fmt.Errorf("artifact of %s: %w", s.service, err)
		}
		timeout := cfg.Timeout
		switch s.service {
		case Scraper:
			timeout = min(timeout, ScraperMaxTimeout)
		case Archiver:
			timeout = min(timeout, ArchiverMaxTimeout)
		}
		f, err := NewFunction(ctx, s.service, &FunctionArgs{
			Name:                contract.Name(s.service, sfx),
			Zip:                 zip,
			SHA256:              sha,
			Memory:              cfg.Memory,
			Timeout:             timeout,
			Env:                 s.env,
			Grants:              s.grants,
			Tracing:             cfg.Tracing,
			LogRetentionDays:    cfg.LogRetentionDays,
			LogLevel:            cfg.LogLevel,
			ReservedConcurrency: cfg.ReservedConcurrency[s.service],
		}, parent)
		if err != nil {
			return nil, err
		}
		p.Functions[s.service] = f
	}

	if err := p.mappings(ctx, cfg); err != nil {
		return nil, err
	}

	// The permanent log, and the scrapes on a schedule.
	if p.Archive, err = NewArchive(ctx, "archive", &ArchiveArgs{
		Suffix:           sfx,
		Account:          account,
		Stream:           stream,
		Archiver:         p.Functions[Archiver],
		ExpireDays:       cfg.ArchiveDays,
		ForceDestroy:     cfg.ArchiveForceDestroy,
		LogRetentionDays: cfg.LogRetentionDays,
	}, parent); err != nil {
		return nil, err
	}
	if cfg.Schedule != "" {
		if p.Schedule, err = NewSchedule(ctx, ScheduleBase, &ScheduleArgs{
			Suffix:     sfx,
			Expression: cfg.Schedule,
			Target:     p.Functions[Scraper],
			Input:      args.ScheduleInput,
			Account:    account,
		}, parent); err != nil {
			return nil, err
		}
	}

	// The HTTP API.
	scrapeAuth := AuthIAM
	if cfg.ScrapeAuth == ScrapeAuthNone {
		scrapeAuth = AuthNone
	}
	if !slices.Contains(args.Routes.Scraper, contract.ScrapeRoute) {
		return nil, fmt.Errorf("the scraper's routes %v lack %s", args.Routes.Scraper, contract.ScrapeRoute.Key())
	}
	mounts := []Mount{
		{Service: Scraper, Function: p.Functions[Scraper], Routes: args.Routes.Scraper,
			Auth: map[string]string{contract.ScrapeRoute.Key(): scrapeAuth}},
		// The query service answers every request no route matches: its
		// JSON 404, its 405 with Allow for a known path (POST /movies), and
		// CORS preflights (OPTIONS), which API Gateway answers itself only
		// when CORS is configured on the API and otherwise would 404.
		{Service: Query, Function: p.Functions[Query], Routes: args.Routes.Query, CatchAll: true},
	}
	limits := map[string]Throttle{
		contract.ScrapeRoute.Key(): {Rate: cfg.ScrapeThrottleRate, Burst: cfg.ScrapeThrottleBurst},
	}
	if cfg.SampleSite {
		mounts = append(mounts, Mount{Service: SampleSite, Function: p.Functions[SampleSite], Routes: args.Routes.SampleSite})
		site := SampleSiteThrottle(detailConcurrency(cfg, args.ProfileDetailConcurrency))
		for _, r := range args.Routes.SampleSite {
			limits[r.Key()] = site
		}
	}
	if err := p.API.Serve(ctx, &ServeArgs{
		Mounts:  mounts,
		Default: Throttle{Rate: cfg.ThrottleRate, Burst: cfg.ThrottleBurst},
		Limits:  limits,
	}); err != nil {
		return nil, err
	}

	if p.Alarms, err = NewAlarms(ctx, "alarms", &AlarmsArgs{
		Suffix:    sfx,
		Processor: p.Functions[Processor],
		Functions: p.Functions,
		OnFailure: p.Queues.OnFailure,
		DLQ:       p.Queues.DLQ,
		Archive:   p.Archive.Delivery,
		Email:     cfg.AlarmEmail,
		Account:   account,
	}, parent); err != nil {
		return nil, err
	}

	p.Outputs = map[string]pulumi.StringOutput{
		OutAPIURL:        endpoint,
		OutScrapeCommand: scrapeCommand,
		OutMoviesURL:     pulumi.Sprintf("%s%s", endpoint, args.MoviesPath),
		OutStreamName:    stream.Name,
		OutMoviesTable:   movies.Name,
		OutRunsTable:     runs.Name,
		OutErrorsTable:   errs.Name,
		OutOnFailureURL:  onFailure.Url,
		OutArchiveBucket: p.Archive.Bucket.Bucket,
	}
	if cfg.SampleSite {
		p.Outputs[OutSampleSiteURL] = pulumi.Sprintf("%s%s", endpoint, args.SampleSitePage)
	}
	outs := pulumi.Map{}
	for k, v := range p.Outputs {
		outs[k] = v
	}
	if err := ctx.RegisterResourceOutputs(p, outs); err != nil {
		return nil, err
	}
	return p, nil
}

// mappings creates the event source mappings: the processor on the
// stream, the errorsink on the on-failure queue.
func (p *Pipeline) mappings(ctx *pulumi.Context, cfg Config) error {
	pm := contract.ProcessorMapping
	proc, err := lambda.NewEventSourceMapping(ctx, Processor+"-stream", &lambda.EventSourceMappingArgs{
		EventSourceArn:                 p.Stream.Stream.Arn,
		FunctionName:                   p.Functions[Processor].Lambda.Arn,
		BatchSize:                      pulumi.Int(pm.BatchSize),
		MaximumBatchingWindowInSeconds: pulumi.Int(cfg.BatchingWindow),
		ParallelizationFactor:          pulumi.Int(cfg.ParallelizationFactor),
		BisectBatchOnFunctionError:     pulumi.Bool(pm.BisectBatchOnFunctionError),
		MaximumRetryAttempts:           pulumi.Int(pm.MaximumRetryAttempts),
		MaximumRecordAgeInSeconds:      pulumi.Int(pm.MaximumRecordAgeInSeconds),
		FunctionResponseTypes:          pulumi.ToStringArray(pm.FunctionResponseTypes),
		StartingPosition:               pulumi.String(cfg.StartingPosition),
		DestinationConfig: &lambda.EventSourceMappingDestinationConfigArgs{
			OnFailure: &lambda.EventSourceMappingDestinationConfigOnFailureArgs{
				DestinationArn: p.Queues.OnFailure.Arn,
			},
		},
	}, pulumi.Parent(p))
	if err != nil {
		return fmt.Errorf("processor mapping: %w", err)
	}
	em := contract.ErrorsinkMapping
	sink, err := lambda.NewEventSourceMapping(ctx, Errorsink+"-queue", &lambda.EventSourceMappingArgs{
		EventSourceArn:                 p.Queues.OnFailure.Arn,
		FunctionName:                   p.Functions[Errorsink].Lambda.Arn,
		BatchSize:                      pulumi.Int(em.BatchSize),
		MaximumBatchingWindowInSeconds: pulumi.Int(em.MaximumBatchingWindowInSeconds),
		FunctionResponseTypes:          pulumi.ToStringArray(em.FunctionResponseTypes),
		// The error sink's share of the account's concurrency: on-failure
		// messages are rare, and a burst of them should not take the
		// concurrency the processor and the API need.
		ScalingConfig: &lambda.EventSourceMappingScalingConfigArgs{
			MaximumConcurrency: pulumi.Int(cfg.ErrorsinkMaxConcurrency),
		},
	}, pulumi.Parent(p))
	if err != nil {
		return fmt.Errorf("errorsink mapping: %w", err)
	}
	p.Mappings[Processor], p.Mappings[Errorsink] = proc, sink
	return nil
}

// ScrapeCommand is the curl line that starts a scrape of the stack whose
// API is endpoint. With IAM authorisation curl signs the request itself
// (--aws-sigv4) with the credentials in the standard AWS environment
// variables, which must be exported (aws configure export-credentials
// --format env does).
//
// The session token header is added only when AWS_SESSION_TOKEN is set
// and not empty: curl signs a header given with a blank value but does
// not send it, and API Gateway then rejects the request (403
// IncompleteSignatureException, curl/curl#11007). The line runs under
// sh -c so that ${AWS_SESSION_TOKEN:+…} expands the same way whether it
// is eval'ed in bash, zsh (which would not split the words) or sh.
func ScrapeCommand(endpoint, region, auth string) string {
	u := endpoint + contract.ScrapeRoute.Path
	if auth == ScrapeAuthNone {
		return fmt.Sprintf("curl -sS -X POST %s", shQuote(u))
	}
	script := fmt.Sprintf(`curl -sS -X POST --aws-sigv4 "aws:amz:%s:execute-api" `+
		`--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" `+
		`${AWS_SESSION_TOKEN:+-H "x-amz-security-token: $AWS_SESSION_TOKEN"} %s`, region, shQuote(u))
	return "sh -c " + shQuote(script)
}

// shQuote quotes s as one word for any POSIX shell or zsh: in single
// quotes, each single quote inside closed, escaped and reopened. Words of
// plain URL characters stay as they are, so the line reads as usual.
func shQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.:/") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// joinHosts is the SCRAPE_ALLOW_HOSTS value: the hosts, deduplicated and
// sorted, comma-separated.
func joinHosts(first string, more []string) string {
	set := map[string]bool{}
	if first != "" {
		set[first] = true
	}
	for _, h := range more {
		set[h] = true
	}
	return strings.Join(slices.Sorted(maps.Keys(set)), ",")
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	return slices.SortedFunc(maps.Keys(m), cmp.Compare[string])
}

// detailConcurrency is how many detail pages the scraper fetches at once:
// the stack's setting, else its profile's, else the most it ever would.
func detailConcurrency(cfg Config, profile int) int {
	switch {
	case cfg.ScrapeDetailConcurrency > 0:
		return cfg.ScrapeDetailConcurrency
	case profile > 0:
		return profile
	}
	return MaxDetailConcurrency
}
