package replay

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/s3"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// DefaultSuffix is the suffix of a devstack's resources when none is given
// (devstack's --suffix default): it names the embedded queues in a data
// directory.
const DefaultSuffix = "devstack"

// Defaults of Options.
const (
	// DefaultBatchSize is how many records one processor.Handler.Handle
	// call takes, DefaultLanes how many batches are handled at once (each
	// partition key belongs to one lane, so its records stay in order).
	// With the target's writes gathered into large commits (see
	// embedded.WithBulkLoad), batches need not be large: these keep the
	// records in flight, and the heap, small.
	DefaultBatchSize = 2000
	DefaultLanes     = 4
	// DefaultConcurrency is the processor's Options.Concurrency in a
	// replay into a data directory: partition keys worked on at once per
	// batch (the store serialises their writes; more keys only keep it
	// busy while others decode). DefaultAWSConcurrency is the same for
	// DynamoDB tables, where every write is a request.
	DefaultConcurrency    = 64
	DefaultAWSConcurrency = 32
	// DefaultMaxDiffs is how many differences Verify prints in full.
	DefaultMaxDiffs = 10
	// DefaultProgressEvery is how often progress is printed.
	DefaultProgressEvery = time.Second
	// DefaultCheckpointEvery is how often a replay records how far it got.
	DefaultCheckpointEvery = 5 * time.Second
)

// Options say what a Tool does and where. Exactly one of three jobs is
// chosen by the fields set:
//
//   - replay: Archive is set. The archive's records are projected into the
//     target with the processor's own code; with Verify also set, the
//     rebuilt tables are then compared with the live ones.
//   - verify: Verify is set without Archive. The target (existing
//     tables) is compared with Verify's.
//   - redrive: Redrive is set (with neither Archive nor Verify). The
//     open error items of the target are fed through today's processor,
//     and its error sink's dead-letter queue is moved back to the
//     on-failure queue.
//
// The target is a devstack data directory (Data) or, with AWS, the
// DynamoDB tables (and SQS queues) of Suffix.
type Options struct {
	// Archive is where the archive is: a directory (devstack's
	// <data>/archive) or s3://BUCKET[/PREFIX].
	Archive string
	// Verify is the live tables to compare with: a data directory or,
	// with AWS, a suffix.
	Verify string
	// Redrive redrives the target's errors and dead-letter queue.
	Redrive bool

	// Data is the target's devstack data directory: a new (or empty)
	// directory for a replay, whose tables.db devstack then serves; an
	// existing one to verify or redrive.
	Data string
	// AWS makes the target (and Verify) DynamoDB tables, and the queues
	// SQS queues, named after Suffix, reached through the SDK's standard
	// settings.
	AWS bool
	// Suffix ends the names of the target's resources (contract.Name).
	// With AWS it is required; without, it names the embedded queues of
	// a data directory (default DefaultSuffix, devstack's).
	Suffix string
	// Create (with AWS, for a replay) creates the target's tables when
	// they do not exist.
	Create bool
	// SerialTables (with AWS) sends one DynamoDB call at a time: for
	// moto_server, which does not apply conditional writes atomically
	// under concurrent requests (see dynamo.Serial); never for DynamoDB.
	SerialTables bool

	// Since and Until bound a replay to the records that arrived in
	// [Since, Until); zero is no bound.
	Since, Until time.Time
	// FromStart makes a replay read the whole archive (within the bounds)
	// again, ignoring how far an earlier replay into the same target got:
	// for objects delivered late under an hour already replayed. It
	// changes nothing that was already applied.
	FromStart bool

	// BatchSize, Lanes and Concurrency tune a replay (defaults
	// DefaultBatchSize, DefaultLanes, and DefaultConcurrency or with AWS
	// DefaultAWSConcurrency). Any values give the same tables.
	BatchSize, Lanes, Concurrency int
	// MaxDiffs is how many differences Verify prints in full (default
	// DefaultMaxDiffs); the others are counted.
	MaxDiffs int

	// AWSConfig is the SDK configuration for S3, DynamoDB and SQS; nil
	// loads the standard one (environment, shared files) with Region and
	// Profile.
	AWSConfig       *aws.Config
	Region, Profile string
	// S3PathStyle addresses S3 buckets in the path
	// (http://host/BUCKET/KEY), as emulators on loopback need.
	S3PathStyle bool

	// Out receives the report: the summary, the differences (default
	// io.Discard). Progress receives a progress line every ProgressEvery
	// (default DefaultProgressEvery); nil prints none. Logger logs (default
	// slog.Default()).
	Out           io.Writer
	Progress      io.Writer
	ProgressEvery time.Duration
	Logger        *slog.Logger
	// Now is the clock of redrive's resolution and failure times
	// (default time.Now).
	Now func() time.Time

	// checkpointEvery is how often a replay records its checkpoint
	// (default DefaultCheckpointEvery); tests shorten it.
	checkpointEvery time.Duration
	// afterBatch, if set, is called after each batch is applied (tests
	// interrupt a replay from it).
	afterBatch func()
}

// job is what a Tool does.
type job int

const (
	jobReplay job = iota + 1
	jobVerify
	jobRedrive
)

func (o Options) job() job {
	switch {
	case o.Redrive:
		return jobRedrive
	case o.Archive != "":
		return jobReplay
	case o.Verify != "":
		return jobVerify
	}
	return 0
}

// withDefaults returns o with its defaults applied.
func (o Options) withDefaults() Options {
	if o.Suffix == "" && !o.AWS {
		o.Suffix = DefaultSuffix
	}
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Lanes <= 0 {
		o.Lanes = DefaultLanes
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
		if o.AWS {
			o.Concurrency = DefaultAWSConcurrency
		}
	}
	if o.MaxDiffs <= 0 {
		o.MaxDiffs = DefaultMaxDiffs
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = DefaultProgressEvery
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.checkpointEvery <= 0 {
		o.checkpointEvery = DefaultCheckpointEvery
	}
	return o
}

// Validate reports every problem of o at once, as flag names: the
// command-line tool's flags are the fields' names.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	switch {
	case o.Redrive && (o.Archive != "" || o.Verify != ""):
		bad("--redrive: not with --archive or --verify")
	case o.job() == 0:
		bad("nothing to do: give --archive (replay), --verify or --redrive")
	}
	if o.AWS {
		if o.Suffix == "" {
			bad("--suffix: required with --aws (the suffix of the tables)")
		}
		if o.Data != "" {
			bad("--data: not with --aws (the target is the tables of --suffix)")
		}
	} else {
		if o.Data == "" {
			bad("--data: required (a devstack data directory), or --aws with --suffix")
		}
		if o.Create || o.SerialTables {
			bad("--create, --serial-tables: only with --aws")
		}
	}
	if o.Suffix != "" {
		if err := contract.ValidSuffix(o.Suffix); err != nil {
			bad("--suffix: %w", err)
		}
	}
	if o.Create && o.job() != jobReplay {
		bad("--create: only for a replay (--archive)")
	}
	if o.AWS && o.Verify != "" {
		if err := contract.ValidSuffix(o.Verify); err != nil {
			bad("--verify: with --aws, the suffix of the live tables: %w", err)
		} else if o.Verify == o.Suffix {
			bad("--verify %s: the live tables must be others than the target's", o.Verify)
		}
	}
	if !o.AWS && o.Verify != "" && o.Data != "" && cleanPath(o.Verify) == cleanPath(o.Data) {
		bad("--verify %s: the live directory must be another than --data", o.Verify)
	}
	if strings.HasPrefix(o.Archive, "s3://") {
		if _, err := s3.ParseLocation(o.Archive); err != nil {
			bad("--archive: %w", err)
		}
	}
	if !o.Since.IsZero() && !o.Until.IsZero() && !o.Since.Before(o.Until) {
		bad("--since %s is not before --until %s", o.Since.Format(time.RFC3339), o.Until.Format(time.RFC3339))
	}
	if (!o.Since.IsZero() || !o.Until.IsZero() || o.FromStart) && o.job() != jobReplay {
		bad("--since, --until, --from-start: only for a replay (--archive)")
	}
	if o.BatchSize < 0 || o.Lanes < 0 || o.Concurrency < 0 || o.MaxDiffs < 0 {
		bad("--batch %d, --lanes %d, --concurrency %d, --diffs %d: must not be negative", o.BatchSize, o.Lanes, o.Concurrency, o.MaxDiffs)
	}
	return errors.Join(errs...)
}
