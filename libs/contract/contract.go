// Package contract holds the names and settings that the services, the
// Pulumi program (infra) and devstack must agree on: environment variables,
// table key schemas, the stream and queue names, the event source mapping
// settings, the HTTP routes of each service and the schedule's input.
//
// Everything here is plain data so that each party imports the same values
// instead of repeating string literals; tests in infra and devstack compare
// what they build against these declarations. It imports nothing but the
// standard library, so the Pulumi program reads the services' routes
// without linking the services.
package contract

import (
	"fmt"
	"regexp"
	"time"
)

// Environment variable names read by the functions. AWS endpoints are never
// configured here: the SDK's standard settings (AWS_ENDPOINT_URL,
// AWS_ENDPOINT_URL_KINESIS, …) do that.
const (
	EnvStreamName    = "STREAM_NAME"
	EnvMoviesTable   = "MOVIES_TABLE"
	EnvRunsTable     = "RUNS_TABLE"
	EnvErrorsTable   = "ERRORS_TABLE"
	EnvHistoryTable  = "HISTORY_TABLE"
	EnvScrapeURL     = "SCRAPE_URL"
	EnvScrapeProfile = "SCRAPE_PROFILE"
	// EnvScrapeAllowHosts is a comma-separated allow-list of hosts that a
	// POST /scrape body may name in {"url": …}.
	EnvScrapeAllowHosts = "SCRAPE_ALLOW_HOSTS"
	// EnvScrapeAllowPrivate, when "true", lets the scraper dial loopback,
	// private and link-local addresses (devstack only).
	EnvScrapeAllowPrivate = "SCRAPE_ALLOW_PRIVATE"
	// EnvScrapeUserAgent overrides the scraper's identifying User-Agent.
	EnvScrapeUserAgent = "SCRAPE_USER_AGENT"
	// EnvScrapeInterval is the minimum time between two scrapes of one host
	// (a Go duration, default 60s).
	EnvScrapeInterval = "SCRAPE_INTERVAL"
	// EnvScrapeDetailConcurrency is the most detail pages the scraper
	// fetches at once (1..32; default: the extraction profile's
	// detail.concurrency).
	EnvScrapeDetailConcurrency = "SCRAPE_DETAIL_CONCURRENCY"
	// EnvScrapeAllowHint ends the message of the 400 that refuses a host
	// outside EnvScrapeAllowHosts: how whoever deployed the scraper allows
	// one (e.g. the stack config command). Default: name
	// EnvScrapeAllowHosts.
	EnvScrapeAllowHint = "SCRAPE_ALLOW_HINT"
	// EnvCursorKey is the base64 key that signs the query API's cursors.
	EnvCursorKey = "CURSOR_KEY"
	// EnvCORSOrigins is a comma-separated list of origins the query API
	// allows (default: none).
	EnvCORSOrigins = "CORS_ORIGINS"
	// EnvMaxClockSkew is how far ahead of the processor's clock an event's
	// time may lie before the event is refused as coming from the future
	// (a Go duration, default 5m).
	EnvMaxClockSkew = "MAX_CLOCK_SKEW"
	// EnvScrapeCommand is the shell line that starts a scrape of the stack
	// (the stack output scrapeCommand), for the query service's dashboard:
	// set it where POST /scrape needs a SigV4 signature (scrapeAuth iam),
	// and the overview shows this line instead of a button that a browser
	// could not sign. Empty: the button.
	EnvScrapeCommand = "SCRAPE_COMMAND"
	// EnvSampleSiteDrift is how often the sample site's chart moves (a Go
	// duration such as 1h; empty or 0 freezes it).
	EnvSampleSiteDrift = "SAMPLE_SITE_DRIFT"
)

// DefaultProfile is the extraction profile the scraper uses when
// EnvScrapeProfile is empty: its built-in profile for the sample site's
// chart.
const DefaultProfile = "movies"

// DefaultDetailConcurrency is how many detail pages DefaultProfile fetches
// at once (its detail.concurrency; a scraper test ties them), and so how
// many the scraper fetches unless EnvScrapeDetailConcurrency says
// otherwise. Infra sizes the sample site's throttle by it.
const DefaultDetailConcurrency = 8

// MaxDetailConcurrency is the most detail pages the scraper fetches at
// once, whoever sets it: a profile, EnvScrapeDetailConcurrency, the
// stack's scrapeDetailConcurrency or devstack's --detail-concurrency.
const MaxDetailConcurrency = 16

// Base names of the stack's data resources. The deployed name is
// Name(base, suffix): several workshop attendees share one account.
const (
	StreamBase       = "events"
	MoviesTableBase  = "movies"
	RunsTableBase    = "runs"
	ErrorsTableBase  = "errors"
	HistoryTableBase = "history"
	OnFailureQueue   = "processor-onfailure"
	ErrorsinkDLQBase = "errorsink-dlq"
	// ArchiveBucketBase begins the archive bucket's name, which S3's
	// global namespace makes scrape-archive-<account>-<suffix in lower
	// case> rather than Name(base, suffix).
	ArchiveBucketBase = "scrape-archive"
)

// StackTagKey is the tag that carries the stack's suffix on resources
// that AWS names by random ids (the alarm topic's KMS key): the deployer
// policy can scope an attendee's permissions on them only by this tag.
const StackTagKey = "scrape-pipeline:suffix"

var suffixRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,31}$`)

// ValidSuffix reports whether s can end a resource name (1–32 characters
// of letters, digits and hyphens, not starting with a hyphen).
func ValidSuffix(s string) error {
	if !suffixRE.MatchString(s) {
		return fmt.Errorf("suffix %q: want 1-32 letters, digits or hyphens, not starting with a hyphen", s)
	}
	return nil
}

// Name is the deployed name of a base resource name for a suffix.
func Name(base, suffix string) string { return base + "-" + suffix }

// AttrType is a DynamoDB scalar attribute type used in a key schema.
type AttrType string

// Key attribute types.
const (
	String AttrType = "S"
	Number AttrType = "N"
)

// Attr is one key attribute.
type Attr struct {
	Name string
	Type AttrType
}

// Index is a global secondary index.
type Index struct {
	Name  string
	Hash  Attr
	Range *Attr // nil: hash key only
	// Projects is the projection type: "ALL", "KEYS_ONLY" or "INCLUDE".
	Projects string
	// NonKeyAttributes are the attributes an INCLUDE index projects
	// besides the table's and the index's keys.
	NonKeyAttributes []string
}

// Table is the key schema of one DynamoDB table: what infra creates, what
// the DynamoDB adapter queries and what devstack's embedded tables emulate.
type Table struct {
	Base    string
	Hash    Attr
	Range   *Attr
	Indexes []Index
	// TTLAttribute holds epoch seconds after which DynamoDB may delete the
	// item; empty when the table has no TTL.
	TTLAttribute string
}

// Attribute names shared by the key schemas.
const (
	AttrID        = "id"
	AttrYear      = "year"
	AttrPK        = "pk"
	AttrSK        = "sk"
	AttrListPK    = "listPk"
	AttrListSK    = "listSk"
	AttrExpiresAt = "expiresAt"
)

// Index names.
const (
	MoviesByYearIndex = "byYear"
	ErrorsByTimeIndex = "byTime"
	RunsByStartIndex  = "byStart"
)

// MoviesTable is the movie projection, keyed by movie id, with a GSI to list
// the movies of one year in id order.
var MoviesTable = Table{
	Base: MoviesTableBase,
	Hash: Attr{AttrID, String},
	Indexes: []Index{{
		Name:     MoviesByYearIndex,
		Hash:     Attr{AttrYear, Number},
		Range:    &Attr{AttrID, String},
		Projects: "ALL",
	}},
}

// RunsTable holds one item per run ("RUN#<id>"), the per-host scrape lease
// ("LEASE#<host>"), the conditional-GET state of a page ("PAGE#<url>") and
// the per-event progress markers ("MARK#<run>#<event>", with the counter
// they counted and the digest of the event's content) that make run
// counters exact under redelivery. Leases and markers expire by TTL. The
// sparse byStart GSI lists the runs newest first: only run items that have
// a start time carry its keys, listPk "RUN" and listSk "<start time, fixed
// width>#<id>". Run items are small, so it projects them whole.
var RunsTable = Table{
	Base: RunsTableBase,
	Hash: Attr{AttrPK, String},
	Indexes: []Index{{
		Name:     RunsByStartIndex,
		Hash:     Attr{AttrListPK, String},
		Range:    &Attr{AttrListSK, String},
		Projects: "ALL",
	}},
	TTLAttribute: AttrExpiresAt,
}

// ErrorsListingAttributes are the attributes of an error item that the
// byTime GSI projects: all but the raw payload, whose first bytes are in
// "preview". A listing reads what it shows; the payload (up to 300 KB an
// item) stays in the table for GetItem.
var ErrorsListingAttributes = []string{"stage", "reason", "eventId", "runId", "preview", "payloadSize", "shardId",
	"sequenceNumber", "partitionKey", "streamArn", "condition", "attempts", "firstFailure", "lastFailure",
	AttrExpiresAt, "resolved"}

// ErrorsTable holds one item per failed record. The byTime GSI lists them
// newest first: every item has listPk "ERR" and listSk "<first failure
// RFC 3339, fixed width>#<id>". One hash key is fine at error volumes (a
// few writes per second at most) and gives a global order.
var ErrorsTable = Table{
	Base: ErrorsTableBase,
	Hash: Attr{AttrID, String},
	Indexes: []Index{{
		Name:             ErrorsByTimeIndex,
		Hash:             Attr{AttrListPK, String},
		Range:            &Attr{AttrListSK, String},
		Projects:         "INCLUDE",
		NonKeyAttributes: ErrorsListingAttributes,
	}},
	TTLAttribute: AttrExpiresAt,
}

// HistoryTable holds each movie's observations (issue 12): partition key
// the movie id, sort key "O#<time, fixed width>#<event id>" for every
// observation and "C#…" (same position) for the change points, the
// observations whose rank, rating or votes differ from the one before;
// "V" holds the movie's history version. A page of change points is one
// strongly consistent Query of the "C#" range. History is kept: no TTL.
var HistoryTable = Table{
	Base:  HistoryTableBase,
	Hash:  Attr{AttrPK, String},
	Range: &Attr{AttrSK, String},
}

// Tables lists every table of the stack.
var Tables = []Table{MoviesTable, RunsTable, ErrorsTable, HistoryTable}

// ErrorTTL is how long an error item is kept.
const ErrorTTL = 14 * 24 * time.Hour

// KinesisMapping is a Lambda event source mapping on a Kinesis stream, with
// AWS's own setting names.
type KinesisMapping struct {
	BatchSize                      int
	MaximumBatchingWindowInSeconds int
	ParallelizationFactor          int
	BisectBatchOnFunctionError     bool
	MaximumRetryAttempts           int
	MaximumRecordAgeInSeconds      int
	// FunctionResponseTypes holds "ReportBatchItemFailures" when the
	// function reports partial batch failures.
	FunctionResponseTypes []string
	StartingPosition      string
}

// SQSMapping is a Lambda event source mapping on an SQS queue.
type SQSMapping struct {
	BatchSize                      int
	MaximumBatchingWindowInSeconds int
	FunctionResponseTypes          []string
}

// ReportBatchItemFailures is the function response type for partial batch
// failures.
const ReportBatchItemFailures = "ReportBatchItemFailures"

// ProcessorMapping is the processor's mapping on the stream. Infra deploys
// it (parallelisation and starting position may be overridden by stack
// config) and devstack emulates it.
var ProcessorMapping = KinesisMapping{
	BatchSize:                      100,
	MaximumBatchingWindowInSeconds: 1,
	ParallelizationFactor:          1,
	BisectBatchOnFunctionError:     true,
	MaximumRetryAttempts:           3,
	MaximumRecordAgeInSeconds:      3600,
	FunctionResponseTypes:          []string{ReportBatchItemFailures},
	StartingPosition:               "TRIM_HORIZON",
}

// ErrorsinkMapping is the errorsink's mapping on the on-failure queue.
var ErrorsinkMapping = SQSMapping{
	BatchSize:                      10,
	MaximumBatchingWindowInSeconds: 0,
	FunctionResponseTypes:          []string{ReportBatchItemFailures},
}

// OnFailureQueueRetention is how long the on-failure queue keeps a message.
const OnFailureQueueRetention = 14 * 24 * time.Hour

// ProgressMarkerTTL is how long the processor's per-event progress markers
// (RunsTable "MARK#…" items) live. A record replayed after its marker
// expired would be counted again, so the stream must not keep records that
// long: MaxStreamRetention stays below it.
const ProgressMarkerTTL = 8 * 24 * time.Hour

// MaxStreamRetention is the longest stream retention the pipeline supports:
// Kinesis's standard 7 days, below ProgressMarkerTTL.
const MaxStreamRetention = 7 * 24 * time.Hour
