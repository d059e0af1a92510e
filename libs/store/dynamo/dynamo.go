package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/internal/layout"
)

// Client is the part of *dynamodb.Client the store uses.
type Client interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error)
	Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error)
	TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error)
}

var _ Client = (*dynamodb.Client)(nil)

// Tables names the tables (contract.Name(base, suffix) of each). A store
// may be given only the tables its user calls: a method on a table without
// a name fails before any call, with an error that is neither ErrInvalid
// nor ErrTransient (a deployment problem, not bad data).
type Tables struct {
	Movies, Runs, Errors, History string
}

// Validate reports every missing name.
func (t Tables) Validate() error {
	var errs []error
	for _, f := range []struct{ what, name string }{{"movies", t.Movies}, {"runs", t.Runs}, {"errors", t.Errors},
		{"history", t.History}} {
		if f.name == "" {
			errs = append(errs, fmt.Errorf("%s table name is empty", f.what))
		}
	}
	return errors.Join(errs...)
}

// Store is the DynamoDB store.Store. It is safe for concurrent use.
type Store struct {
	client  Client
	tables  Tables
	now     func() time.Time
	retryer aws.Retryer
}

var _ store.Store = (*Store)(nil)

// Option configures a Store.
type Option func(*Store)

// WithClock makes the store read the time from now instead of time.Now;
// the clock decides TTL expiry and marker lifetimes.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// Default retry settings: up to DefaultMaxAttempts attempts per call, with
// exponential backoff and jitter capped at DefaultMaxBackoff. The context's
// deadline ends the retries earlier.
const (
	DefaultMaxAttempts = 10
	DefaultMaxBackoff  = 2 * time.Second
)

// WithRetry sets the attempts per call and the backoff cap of the store's
// retryer, which replaces the client's own on every call. The retryer has
// no client-side retry quota: under sustained throttling each call keeps
// retrying until its attempts or its context's deadline run out.
func WithRetry(maxAttempts int, maxBackoff time.Duration) Option {
	return func(s *Store) { s.retryer = newRetryer(maxAttempts, maxBackoff) }
}

func newRetryer(maxAttempts int, maxBackoff time.Duration) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = max(maxAttempts, 1)
		o.MaxBackoff = maxBackoff
		o.RateLimiter = ratelimit.None
		o.Retryables = append(o.Retryables, retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
			if conflict(err) {
				return aws.TrueTernary
			}
			return aws.UnknownTernary
		}))
	})
}

// New returns a store on the tables of t reached through client.
func New(client Client, t Tables, opts ...Option) *Store {
	s := &Store{client: client, tables: t, now: time.Now, retryer: newRetryer(DefaultMaxAttempts, DefaultMaxBackoff)}
	for _, o := range opts {
		o(s)
	}
	return s
}

// opt is the per-call option that installs the store's retryer.
func (s *Store) opt(o *dynamodb.Options) { o.Retryer = s.retryer }

// conflict reports whether err is a transaction cancelled by a conflict or
// throttling rather than by a condition: worth retrying as it is.
func conflict(err error) bool {
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) || len(tce.CancellationReasons) == 0 {
		var tc *types.TransactionConflictException
		return errors.As(err, &tc)
	}
	retryable := false
	for _, r := range tce.CancellationReasons {
		switch aws.ToString(r.Code) {
		case "", "None":
		case "TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded":
			retryable = true
		default:
			return false
		}
	}
	return retryable
}

// transientCodes are API error codes that mean "try again later" even when
// the SDK's retryables do not list them.
var transientCodes = map[string]bool{
	"InternalServerError":              true,
	"ServiceUnavailable":               true,
	"TransactionInProgressException":   true,
	"TransactionConflictException":     true,
	"ReplicatedWriteConflictException": true,
}

// wrap classifies err from a DynamoDB call: throttling, 5xx, conflicts,
// connection failures and timeouts (including the context's deadline) are
// store.ErrTransient; a top-level ValidationException (DynamoDB refusing the
// request as it is, e.g. an item over 400 KB) is store.ErrInvalid, with its
// message unchanged; the rest (AccessDeniedException, a missing table, bad
// credentials, unknown codes) is returned as it is, neither transient nor
// invalid, so that callers do not take a broken deployment for bad data.
// Either way err stays in the chain for errors.Is and errors.As.
func wrap(err error) error {
	if err == nil {
		return nil
	}
	if isTransient(err) {
		return fmt.Errorf("%w: %w", store.ErrTransient, err)
	}
	if isValidation(err) {
		return layout.Invalid(err)
	}
	return err
}

// isValidation reports whether err is DynamoDB's ValidationException for
// the call itself. Cancellation reasons inside a TransactionCanceledException
// are not looked at.
func isValidation(err error) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == "ValidationException"
}

func isTransient(err error) bool {
	if errors.Is(err, context.Canceled) {
		return false
	}
	var maxAttempts *retry.MaxAttemptsError
	if errors.As(err, &maxAttempts) || errors.Is(err, context.DeadlineExceeded) || conflict(err) {
		return true
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) && transientCodes[apiErr.ErrorCode()] {
		return true
	}
	for _, r := range retry.DefaultRetryables {
		if r.IsErrorRetryable(err) == aws.TrueTernary {
			return true
		}
	}
	return false
}
