package awsbackend

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	kinesisadapter "github.com/scrape-pipeline/scrape-pipeline/libs/stream/kinesis"
)

// ErrMissing: a resource does not exist and Open was not asked to create
// it.
var ErrMissing = errors.New("AWS resources missing")

// Names are the resources devstack uses in AWS.
type Names struct {
	// Suffix ends every name; the tables are always the suffix's
	// (dynamo.TableNames), since dynamo.CreateTables makes those.
	Suffix string
	Stream string
	Tables dynamo.Tables
	// Queue is the processor mapping's on-failure queue, DLQ its
	// dead-letter queue.
	Queue, DLQ string
}

// NamesFor returns the names libs/contract gives a stack with suffix.
func NamesFor(suffix string) Names {
	return Names{
		Suffix: suffix,
		Stream: contract.Name(contract.StreamBase, suffix),
		Tables: dynamo.TableNames(suffix),
		Queue:  contract.Name(contract.OnFailureQueue, suffix),
		DLQ:    contract.Name(contract.ErrorsinkDLQBase, suffix),
	}
}

// Validate reports every problem of n at once.
func (n Names) Validate() error {
	var errs []error
	if err := contract.ValidSuffix(n.Suffix); err != nil {
		errs = append(errs, err)
	} else if n.Tables != dynamo.TableNames(n.Suffix) {
		errs = append(errs, fmt.Errorf("tables %+v: want the suffix's, %+v", n.Tables, dynamo.TableNames(n.Suffix)))
	}
	for _, f := range []struct{ what, name string }{{"stream", n.Stream}, {"queue", n.Queue}, {"dead-letter queue", n.DLQ}} {
		if f.name == "" {
			errs = append(errs, fmt.Errorf("%s name is empty", f.what))
		}
	}
	if n.Queue != "" && n.Queue == n.DLQ {
		errs = append(errs, fmt.Errorf("queue and dead-letter queue are both %q", n.Queue))
	}
	return errors.Join(errs...)
}

// Option changes a default of Open, OpenStream or OpenQueue.
type Option func(*options)

type options struct {
	shards          int
	retention       time.Duration
	pollInterval    time.Duration
	callTimeout     time.Duration
	maxReceiveCount int
	serialTables    bool
	// readBackoff is the first wait after a throttled read; it doubles up
	// to maxReadBackoff.
	readBackoff, maxReadBackoff time.Duration
}

func newOptions(opts []Option) options {
	o := options{
		shards:          2,
		retention:       minRetention,
		pollInterval:    200 * time.Millisecond,
		callTimeout:     30 * time.Second,
		maxReceiveCount: 5,
		readBackoff:     50 * time.Millisecond,
		maxReadBackoff:  2 * time.Second,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

func (o options) validate() error {
	var errs []error
	if o.shards < 1 {
		errs = append(errs, fmt.Errorf("shards %d: want at least 1", o.shards))
	}
	if o.retention < minRetention || o.retention > contract.MaxStreamRetention || o.retention%time.Hour != 0 {
		errs = append(errs, fmt.Errorf("retention %s: Kinesis keeps records %s..%s, in whole hours", o.retention, minRetention, contract.MaxStreamRetention))
	}
	if o.pollInterval <= 0 {
		errs = append(errs, fmt.Errorf("poll interval %s: want more than 0", o.pollInterval))
	}
	if o.callTimeout <= 0 {
		errs = append(errs, fmt.Errorf("call timeout %s: want more than 0", o.callTimeout))
	}
	if o.maxReceiveCount < 1 || o.maxReceiveCount > 1000 {
		errs = append(errs, fmt.Errorf("max receive count %d: want 1..1000", o.maxReceiveCount))
	}
	if o.readBackoff <= 0 || o.maxReadBackoff < o.readBackoff {
		errs = append(errs, fmt.Errorf("read backoff %s..%s: want 0 < first <= max", o.readBackoff, o.maxReadBackoff))
	}
	return errors.Join(errs...)
}

// WithShards sets the shard count of a stream Open creates (default 2). An
// existing stream keeps its shards.
func WithShards(n int) Option { return func(o *options) { o.shards = n } }

// WithRetention sets how long a stream Open creates keeps its records:
// whole hours from Kinesis's 24h to contract.MaxStreamRetention (the
// processor's progress markers outlive the records only then). Default
// 24h. An existing stream keeps its retention.
func WithRetention(d time.Duration) Option { return func(o *options) { o.retention = d } }

// WithPollInterval sets how often Notify's channel is closed when nothing
// is appended through this process (default 200ms).
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.pollInterval = d } }

// WithCallTimeout bounds each call of the methods that take no context
// (default 30s).
func WithCallTimeout(d time.Duration) Option { return func(o *options) { o.callTimeout = d } }

// WithMaxReceiveCount sets the redrive policy of a queue Open creates: a
// message received that many times moves to the dead-letter queue (default
// 5, as devstack's embedded queue).
func WithMaxReceiveCount(n int) Option { return func(o *options) { o.maxReceiveCount = n } }

// WithSerialTables makes the tables' client send one request at a time
// (dynamo.Serial). It is for moto_server, which does not apply conditional
// writes atomically under concurrent requests; never for DynamoDB.
func WithSerialTables() Option { return func(o *options) { o.serialTables = true } }

// withReadBackoff shortens the throttled-read backoff in tests.
func withReadBackoff(first, maxDelay time.Duration) Option {
	return func(o *options) { o.readBackoff, o.maxReadBackoff = first, maxDelay }
}

// Backends are devstack's resources in AWS.
type Backends struct {
	// Stream is the event stream.
	Stream *Stream
	// Tables is the store over the three tables.
	Tables *dynamo.Store
	// Queue is the processor mapping's on-failure queue, DLQ where its
	// messages go after the redrive policy's receive count.
	Queue, DLQ *Queue
}

// LoadConfig loads the SDK's standard configuration (environment, shared
// config files, AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE>) with an
// HTTP client that honours AWS_CA_BUNDLE. A non-empty region or profile
// overrides the environment's.
func LoadConfig(ctx context.Context, region, profile string) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{config.WithHTTPClient(awshttp.NewBuildableClient())}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	if profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS config: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, errors.New("load AWS config: no region: set AWS_REGION or a profile's region")
	}
	return cfg, nil
}

// Open connects to the resources names gives, through clients built from
// cfg. With create it first makes those that are missing and waits until
// they are usable (existing ones are kept as they are); without it, missing
// resources are an error wrapping ErrMissing that lists them all and says
// to pass --create.
func Open(ctx context.Context, cfg aws.Config, names Names, create bool, opts ...Option) (*Backends, error) {
	o := newOptions(opts)
	if err := errors.Join(names.Validate(), o.validate()); err != nil {
		return nil, fmt.Errorf("awsbackend: %w", err)
	}
	kc := kinesis.NewFromConfig(cfg)
	dc := dynamodb.NewFromConfig(cfg)
	qc := awssqs.NewFromConfig(cfg)
	if create {
		var wg sync.WaitGroup
		var errStream, errTables, errQueues error
		wg.Go(func() { errStream = CreateStream(ctx, kc, names.Stream, o.shards, o.retention) })
		wg.Go(func() {
			if _, err := dynamo.CreateTables(ctx, dc, names.Suffix); err != nil {
				errTables = fmt.Errorf("create tables: %w", err)
			}
		})
		wg.Go(func() { errQueues = CreateQueues(ctx, qc, names.Queue, names.DLQ, o.maxReceiveCount) })
		wg.Wait()
		if err := errors.Join(errStream, errTables, errQueues); err != nil {
			return nil, fmt.Errorf("awsbackend: %w", err)
		}
	}

	b := &Backends{}
	var missing []string
	var errs []error
	check := func(err error) {
		var m *missingError
		switch {
		case errors.As(err, &m):
			missing = append(missing, m.what)
		case err != nil:
			errs = append(errs, err)
		}
	}
	var err error
	b.Stream, err = OpenStream(ctx, kc, names.Stream, opts...)
	check(err)
	tablesMissing, err := checkTables(ctx, dc, names.Tables)
	missing = append(missing, tablesMissing...)
	check(err)
	b.Queue, err = OpenQueue(ctx, qc, names.Queue, opts...)
	check(err)
	b.DLQ, err = OpenQueue(ctx, qc, names.DLQ, opts...)
	check(err)
	if len(missing) > 0 {
		errs = append(errs, fmt.Errorf("%w: %s; pass --create to create them", ErrMissing, strings.Join(missing, ", ")))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("awsbackend: %w", err)
	}
	var client dynamo.Client = dc
	if o.serialTables {
		client = dynamo.Serial(dc)
	}
	b.Tables = dynamo.New(client, names.Tables)
	return b, nil
}

// missingError is one resource that does not exist; it wraps ErrMissing.
type missingError struct {
	what string // e.g. "stream events-dev"
	err  error
}

func (e *missingError) Error() string {
	return fmt.Sprintf("%s does not exist (pass --create to create it): %v", e.what, e.err)
}

func (e *missingError) Unwrap() []error { return []error{ErrMissing, e.err} }

// checkTables returns the tables of t that do not exist ("table <name>").
func checkTables(ctx context.Context, client dynamo.AdminClient, t dynamo.Tables) (missing []string, err error) {
	var errs []error
	for _, name := range []string{t.Movies, t.Runs, t.Errors} {
		_, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		var nf *ddbtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
			missing = append(missing, "table "+name)
		case err != nil:
			errs = append(errs, fmt.Errorf("describe table %s: %w", name, err))
		}
	}
	return missing, errors.Join(errs...)
}

// transient reports whether a failed call may succeed when repeated: the
// Kinesis adapter's classification, and also a call the SDK's own retryer
// gave up on.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var maxAttempts *retry.MaxAttemptsError
	return kinesisadapter.Transient(err) || errors.As(err, &maxAttempts)
}
