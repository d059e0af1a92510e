package pipeline

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

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
)

// Services lists the functions the stack may deploy (SampleSite only with
// Config.SampleSite).
var Services = []string{Scraper, Processor, Query, Errorsink, SampleSite}

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

// SampleSiteThrottle is the sample site's own route throttle, looser than
// the default: with sampleSite on, one scrape fetches the chart and its
// 250 detail pages (8 at a time) through this same API, and under the
// default limit (20/s, burst 40) the demo would throttle itself. It is a
// constant, not config: the site is ours and serves only the scraper.
var SampleSiteThrottle = Throttle{Rate: 200, Burst: 400}

// ScrapeRoute is the route that starts a scrape: IAM-authorised unless
// scrapeAuth is none, and throttled strictly.
var ScrapeRoute = contract.Route{Method: "POST", Path: "/scrape"}

// Routes are the HTTP routes each HTTP-facing service exports.
type Routes struct {
	// Scraper, Query and SampleSite are each service's exported Routes.
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
}

// Pipeline is the whole stack: stream, tables, queues, functions,
// mappings, API and alarms.
type Pipeline struct {
	pulumi.ResourceState

	// The components, each created by its NewX.
	Stream *Stream
	Tables *Tables
	Queues *Queues
	API    *API
	Alarms *Alarms
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

	specs := []struct {
		service string
		env     pulumi.StringMap
		grants  []Grant
	}{
		{Scraper, scraperEnv(cfg, stream, runs, scrapeURL, allowHosts), scraperGrants(stream, runs)},
		{Processor, pulumi.StringMap{
			contract.EnvMoviesTable: movies.Name,
			contract.EnvRunsTable:   runs.Name,
			contract.EnvErrorsTable: errs.Name,
		}, processorGrants(stream, onFailure, movies, runs, errs)},
		{Query, queryEnv(cfg, movies, runs, errs, history, cursorKey), queryGrants(movies, runs, errs, history)},
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
		if s.service == Scraper {
			timeout = min(timeout, ScraperMaxTimeout)
		}
		f, err := NewFunction(ctx, s.service, &FunctionArgs{
			Name:             contract.Name(s.service, sfx),
			Zip:              zip,
			SHA256:           sha,
			Memory:           cfg.Memory,
			Timeout:          timeout,
			Env:              s.env,
			Grants:           s.grants,
			Tracing:          cfg.Tracing,
			LogRetentionDays: cfg.LogRetentionDays,
			LogLevel:         cfg.LogLevel,
		}, parent)
		if err != nil {
			return nil, err
		}
		p.Functions[s.service] = f
	}

	if err := p.mappings(ctx, cfg); err != nil {
		return nil, err
	}

	// The HTTP API.
	scrapeAuth := AuthIAM
	if cfg.ScrapeAuth == ScrapeAuthNone {
		scrapeAuth = AuthNone
	}
	if !slices.Contains(args.Routes.Scraper, ScrapeRoute) {
		return nil, fmt.Errorf("the scraper's routes %v lack %s", args.Routes.Scraper, ScrapeRoute.Key())
	}
	mounts := []Mount{
		{Service: Scraper, Function: p.Functions[Scraper], Routes: args.Routes.Scraper,
			Auth: map[string]string{ScrapeRoute.Key(): scrapeAuth}},
		// The query service answers every request no route matches: its
		// JSON 404, its 405 with Allow for a known path (POST /movies), and
		// CORS preflights (OPTIONS), which API Gateway answers itself only
		// when CORS is configured on the API and otherwise would 404.
		{Service: Query, Function: p.Functions[Query], Routes: args.Routes.Query, CatchAll: true},
	}
	limits := map[string]Throttle{
		ScrapeRoute.Key(): {Rate: cfg.ScrapeThrottleRate, Burst: cfg.ScrapeThrottleBurst},
	}
	if cfg.SampleSite {
		mounts = append(mounts, Mount{Service: SampleSite, Function: p.Functions[SampleSite], Routes: args.Routes.SampleSite})
		for _, r := range args.Routes.SampleSite {
			limits[r.Key()] = SampleSiteThrottle
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
	}, parent); err != nil {
		return nil, err
	}

	region := aws.GetRegionOutput(ctx, aws.GetRegionOutputArgs{}, pulumi.Parent(p)).Name()
	endpoint := p.API.Endpoint()
	p.Outputs = map[string]pulumi.StringOutput{
		OutAPIURL: endpoint,
		OutScrapeCommand: pulumi.All(endpoint, region).ApplyT(func(v []any) string {
			return ScrapeCommand(v[0].(string), v[1].(string), cfg.ScrapeAuth)
		}).(pulumi.StringOutput),
		OutMoviesURL:    pulumi.Sprintf("%s%s", endpoint, args.MoviesPath),
		OutStreamName:   stream.Name,
		OutMoviesTable:  movies.Name,
		OutRunsTable:    runs.Name,
		OutErrorsTable:  errs.Name,
		OutOnFailureURL: onFailure.Url,
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
	u := endpoint + ScrapeRoute.Path
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
