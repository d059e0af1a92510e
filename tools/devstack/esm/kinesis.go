// Package esm emulates AWS Lambda event source mappings in one process: a
// Kinesis mapping (the processor's) and an SQS mapping (the error sink's),
// with the settings AWS names and the semantics AWS documents:
//
//   - BatchSize and MaximumBatchingWindowInSeconds: a function is invoked
//     when a batch is full or the window since its first record passed.
//   - ParallelizationFactor N: up to N batches of one shard run at once,
//     each holding the records of the partition keys that hash to its lane,
//     so a key's records stay in order and never run concurrently.
//   - Partial batch responses (ReportBatchItemFailures): the mapping retries
//     from the lowest reported sequence number; the records before it are
//     done. An empty or unknown item identifier fails the whole batch.
//   - BisectBatchOnFunctionError: a failed batch is split in two and each
//     half retried on its own, until the failing record is alone. Halving
//     does not use up retries: each half gets MaximumRetryAttempts anew.
//   - MaximumRetryAttempts N: a failing batch is invoked N+1 times in all
//     (-1: until its records expire), with exponential backoff.
//   - MaximumRecordAgeInSeconds: records older than that are not invoked
//     (again); their batch goes to the on-failure destination.
//   - On-failure destination: the mapping sends the batch's metadata — the
//     exact invocation record AWS sends, with KinesisBatchInfo — never the
//     records, and moves on.
//   - Checkpoints are persisted per shard after each batch is disposed of;
//     a batch in flight at a crash is delivered again (at least once).
//   - Throttling: while the function cannot be invoked (Options.Throttled;
//     devstack: no space left for what it writes), a mapping does not
//     invoke it, and an invocation that failed while it was throttled does
//     not spend a retry attempt nor bisect: Lambda retries a throttled
//     invocation until its records expire, without counting it against
//     MaximumRetryAttempts. MaximumRecordAgeInSeconds still applies. The
//     SQS mapping does not receive meanwhile, so no receive count is spent.
//
// What devstack runs is what Lambda runs. A mapping takes the function
// Lambda runs: the services' Lambda adapters (services/processor/lambdaadapter
// and services/errorsink/lambdaadapter), the very functions their
// cmd/lambda hand to lambda.Start. It invokes them as the Lambda runtime
// does: it builds the event JSON Lambda sends (the fields, their names and
// encodings), passes those bytes through aws-lambda-go's own handler
// (lambda.NewHandler, the code behind lambda.Start), which decodes them
// into aws-lambda-go's event type, calls the function and encodes its
// response, and reads the partial batch response back from that JSON. The
// adapters' mapping of Lambda's fields to the services' own types is
// therefore exercised on every invocation, on a laptop as in Lambda.
//
// The on-failure record is the error sink's type (errorsink.OnFailure): the
// mapping builds the very record the error sink decodes, with Lambda's
// encoding.
package esm

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/scrape-pipeline/scrape-pipeline/libs/backoff"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/services/errorsink"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/internal/uuid"
)

// KinesisSource is the stream a Kinesis mapping reads.
type KinesisSource interface {
	ARN() string
	Shards() []string
	// Records returns up to limit records of shardID after sequence number
	// after ("" = the trim horizon), in order.
	Records(shardID, after string, limit int) ([]stream.Stored, error)
	// Latest is the newest sequence number of the shard ("" when empty).
	Latest(shardID string) (string, error)
	// Notify returns a channel closed at the next append.
	Notify() <-chan struct{}
}

// Checkpoints stores where a mapping is in each shard.
type Checkpoints interface {
	// Checkpoint returns the last disposed-of sequence number of shard for
	// mapping, "" if none.
	Checkpoint(mapping, shard string) (string, error)
	// SetCheckpoint records it.
	SetCheckpoint(mapping, shard, seq string) error
}

// Destination receives on-failure invocation records.
type Destination interface {
	// Send enqueues body; safe for concurrent use.
	Send(ctx context.Context, body []byte) error
}

// KinesisHandler is a Lambda function for Kinesis events: in devstack, the
// processor's lambdaadapter.Handler, as in Lambda.
type KinesisHandler func(context.Context, lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error)

// Options are the parts of a mapping AWS takes from the function and the
// account.
type Options struct {
	// Name identifies the mapping's checkpoints (e.g. "processor").
	Name        string
	FunctionARN string
	// FunctionTimeout is each invocation's deadline (default 30s).
	FunctionTimeout time.Duration
	Region          string
	// Backoff bounds the first retry's delay; the bound doubles per
	// attempt up to MaxBackoff, and each delay is drawn below its bound
	// (full jitter). Defaults 100ms and 2s; AWS's are seconds to minutes.
	Backoff, MaxBackoff time.Duration
	Now                 func() time.Time
	Logger              *slog.Logger
	// Throttled, if set, returns why the function cannot be invoked now,
	// or nil when it can (see the package doc). The mapping asks before
	// each invocation and after each failed one, and every
	// throttleRecheck while it waits.
	Throttled func() error
}

// throttleRecheck is how often a throttled mapping asks again.
const throttleRecheck = 200 * time.Millisecond

// throttled returns why the function cannot be invoked now, or nil.
func (o *Options) throttled() error {
	if o.Throttled == nil {
		return nil
	}
	return o.Throttled()
}

// awaitInvocable waits until the function is not throttled, logging when
// a wait begins and ends. It reports false if waitCtx was done first.
func (o *Options) awaitInvocable(waitCtx context.Context, waiting *atomic.Bool, attrs ...any) bool {
	for {
		err := o.throttled()
		if err == nil {
			if waiting.CompareAndSwap(true, false) {
				o.Logger.Info("function no longer throttled: invoking again", append([]any{"mapping", o.Name}, attrs...)...)
			}
			return true
		}
		if waiting.CompareAndSwap(false, true) {
			o.Logger.Warn("function throttled: not invoked until it can be, retries not spent",
				append([]any{"mapping", o.Name, "reason", err.Error()}, attrs...)...)
		}
		if !backoff.Sleep(waitCtx, throttleRecheck) {
			return false
		}
	}
}

func (o *Options) defaults() {
	if o.FunctionTimeout == 0 {
		o.FunctionTimeout = 30 * time.Second
	}
	if o.Backoff <= 0 {
		o.Backoff = 100 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 2 * time.Second
	}
	o.MaxBackoff = max(o.MaxBackoff, o.Backoff) // backoff.Jittered wants a positive bound
	if o.Region == "" {
		o.Region = "local"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Kinesis is a Kinesis event source mapping.
type Kinesis struct {
	src       KinesisSource
	cps       Checkpoints
	set       contract.KinesisMapping
	reportBIF bool
	handler   KinesisHandler
	onFailure Destination
	opts      Options

	mu     sync.Mutex
	shards map[string]*shardState
}

// shardState is what Status shows of a shard.
type shardState struct {
	checkpoint     string
	oldestArrival  time.Time // of the batch in flight; zero when idle
	retries        atomic.Int64
	inFlight       atomic.Int64
	invocations    atomic.Int64
	batchesDone    atomic.Int64
	sentToFailures atomic.Int64
	// throttled: a wait for the function is logged, until it ends.
	throttled atomic.Bool
}

// NewKinesis returns a mapping of src to handler with AWS's settings set.
func NewKinesis(src KinesisSource, cps Checkpoints, set contract.KinesisMapping, handler KinesisHandler, onFailure Destination, opts Options) (*Kinesis, error) {
	opts.defaults()
	var errs []error
	if set.BatchSize < 1 || set.BatchSize > 10_000 {
		errs = append(errs, fmt.Errorf("BatchSize %d not in 1..10000", set.BatchSize))
	}
	if set.ParallelizationFactor == 0 {
		set.ParallelizationFactor = 1
	}
	if set.ParallelizationFactor < 1 || set.ParallelizationFactor > 10 {
		errs = append(errs, fmt.Errorf("ParallelizationFactor %d not in 1..10", set.ParallelizationFactor))
	}
	if set.MaximumRetryAttempts < -1 || set.MaximumRetryAttempts > 10_000 {
		errs = append(errs, fmt.Errorf("MaximumRetryAttempts %d not in -1..10000", set.MaximumRetryAttempts))
	}
	if a := set.MaximumRecordAgeInSeconds; a != -1 && (a < 60 || a > 604_800) {
		errs = append(errs, fmt.Errorf("MaximumRecordAgeInSeconds %d: -1 or 60..604800", a))
	}
	if w := set.MaximumBatchingWindowInSeconds; w < 0 || w > 300 {
		errs = append(errs, fmt.Errorf("MaximumBatchingWindowInSeconds %d not in 0..300", w))
	}
	if set.StartingPosition != "TRIM_HORIZON" && set.StartingPosition != "LATEST" {
		errs = append(errs, fmt.Errorf("StartingPosition %q: TRIM_HORIZON or LATEST", set.StartingPosition))
	}
	if opts.Name == "" {
		errs = append(errs, errors.New("mapping name required"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("esm: %w", err)
	}
	m := &Kinesis{src: src, cps: cps, set: set, handler: handler, onFailure: onFailure, opts: opts, shards: map[string]*shardState{}}
	for _, t := range set.FunctionResponseTypes {
		m.reportBIF = m.reportBIF || t == contract.ReportBatchItemFailures
	}
	for _, sh := range src.Shards() {
		cp, err := cps.Checkpoint(opts.Name, sh)
		if err != nil {
			return nil, err
		}
		m.shards[sh] = &shardState{checkpoint: cp}
	}
	return m, nil
}

// RunWindow polls every shard until ctx is done; then it finishes the
// batches in flight, checkpoints and returns nil. Call it once. window is
// the batching window, in place of the setting's
// MaximumBatchingWindowInSeconds: AWS counts whole seconds, devstack
// (default 200 ms) and the tests want less; 0 invokes at once, as AWS
// does.
func (m *Kinesis) RunWindow(ctx context.Context, window time.Duration) error {
	var wg sync.WaitGroup
	shards := m.src.Shards()
	errs := make(chan error, len(shards))
	for _, sh := range shards {
		wg.Go(func() {
			if err := m.poll(ctx, sh, window); err != nil {
				errs <- fmt.Errorf("shard %s: %w", sh, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	return errors.Join(func() []error {
		var all []error
		for e := range errs {
			all = append(all, e)
		}
		return all
	}()...)
}

func (m *Kinesis) state(shard string) *shardState {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.shards[shard]
	if st == nil { // a shard that appeared after NewKinesis (resharding)
		st = &shardState{}
		m.shards[shard] = st
	}
	return st
}

// poll is one shard's loop: read a round of up to BatchSize records per
// lane, dispose of every lane's batch, checkpoint, repeat.
func (m *Kinesis) poll(ctx context.Context, shard string, window time.Duration) error {
	st := m.state(shard)
	cp, err := m.cps.Checkpoint(m.opts.Name, shard)
	if err != nil {
		return err
	}
	m.mu.Lock()
	st.checkpoint = cp
	m.mu.Unlock()
	if cp == "" && m.set.StartingPosition == "LATEST" {
		latest, err := m.src.Latest(shard)
		if err != nil {
			return err
		}
		if latest != "" {
			cp = latest
			if err := m.setCheckpoint(shard, cp); err != nil {
				return err
			}
		}
	}
	perRound := m.set.BatchSize * m.set.ParallelizationFactor
	for {
		if ctx.Err() != nil {
			return nil // stopped between batches: nothing in flight
		}
		notify := m.src.Notify()
		recs, err := m.src.Records(shard, cp, perRound)
		if err != nil {
			// A read that fails (throttling past the adapter's retries, a
			// network error) is retried, as Lambda's poller does: the
			// mapping never gives up on a shard.
			m.opts.Logger.Warn("reading the shard failed; retrying", "mapping", m.opts.Name, "shard", shard, "error", err.Error())
			if !backoff.Sleep(ctx, m.opts.MaxBackoff) {
				return nil
			}
			continue
		}
		if len(recs) == 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-notify:
				continue
			}
		}
		if !m.full(recs, perRound) && window > 0 {
			// Gather for the batching window, counted from the first
			// record's arrival, unless a batch fills up first.
			deadline := recs[0].ArrivalTime.Add(window)
			for !m.full(recs, perRound) {
				wait := deadline.Sub(m.opts.Now())
				if wait <= 0 {
					break
				}
				t := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					t.Stop()
					return nil
				case <-notify:
					t.Stop()
				case <-t.C:
				}
				notify = m.src.Notify()
				if more, err := m.src.Records(shard, cp, perRound); err == nil {
					recs = more
				} else {
					break // invoke with what we have; the next read retries
				}
			}
		}
		// An invocation in flight is finished even when ctx is done
		// (graceful stop); a round cut short in a retry backoff or while
		// its on-failure message cannot be sent is not checkpointed, so
		// it is delivered again on the next start (at least once).
		if !m.round(context.WithoutCancel(ctx), ctx, shard, recs) {
			return nil
		}
		next := recs[len(recs)-1].SequenceNumber
		for err := m.setCheckpoint(shard, next); err != nil; err = m.setCheckpoint(shard, next) {
			m.opts.Logger.Error("checkpoint failed; retrying", "mapping", m.opts.Name, "shard", shard, "error", err.Error())
			if !backoff.Sleep(ctx, m.opts.MaxBackoff) {
				return nil // redelivered from the old checkpoint next time
			}
		}
		cp = next
	}
}

func (m *Kinesis) setCheckpoint(shard, seq string) error {
	if err := m.cps.SetCheckpoint(m.opts.Name, shard, seq); err != nil {
		return err
	}
	m.mu.Lock()
	m.shards[shard].checkpoint = seq
	m.mu.Unlock()
	return nil
}

// round splits recs into lanes by partition key and disposes of each
// lane's batch concurrently. It reports whether every record was either
// processed or sent to the on-failure destination; false means waitCtx
// was done first (see dispose). Invocations and on-failure sends run under
// invokeCtx, which a graceful stop does not cancel, so what is in flight
// finishes; waits (backoffs, throttles) end when waitCtx is done.
func (m *Kinesis) round(invokeCtx, waitCtx context.Context, shard string, recs []stream.Stored) bool {
	st := m.state(shard)
	m.mu.Lock()
	st.oldestArrival = recs[0].ArrivalTime
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		st.oldestArrival = time.Time{}
		m.mu.Unlock()
	}()
	// A lane's batches run one after another, so a key's records keep
	// their order; lanes run concurrently.
	disposeLane := func(lane []stream.Stored) bool {
		for len(lane) > 0 {
			n := m.fit(lane)
			if !m.dispose(invokeCtx, waitCtx, shard, lane[:n], 0) {
				return false
			}
			st.batchesDone.Add(1)
			lane = lane[n:]
		}
		return true
	}
	pf := m.set.ParallelizationFactor
	if pf == 1 {
		return disposeLane(recs)
	}
	lanes := make([][]stream.Stored, pf)
	for _, r := range recs {
		l := m.lane(r.PartitionKey)
		lanes[l] = append(lanes[l], r)
	}
	var wg sync.WaitGroup
	var incomplete atomic.Bool
	for _, lane := range lanes {
		if len(lane) == 0 {
			continue
		}
		wg.Go(func() {
			if !disposeLane(lane) {
				incomplete.Store(true)
			}
		})
	}
	wg.Wait()
	return !incomplete.Load()
}

// lane is the concurrent batch of a ParallelizationFactor above 1 that
// the records of key go to.
func (m *Kinesis) lane(key string) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(m.set.ParallelizationFactor))
}

// full reports whether recs (a read of at most perRound records) hold a batch
// ready to invoke without waiting out the batching window: a lane with
// BatchSize records, or with records whose event reaches maxPayload.
func (m *Kinesis) full(recs []stream.Stored, perRound int) bool {
	if len(recs) >= perRound {
		return true
	}
	counts := make([]int, m.set.ParallelizationFactor)
	sizes := make([]int, m.set.ParallelizationFactor)
	for _, r := range recs {
		l := m.lane(r.PartitionKey)
		counts[l]++
		sizes[l] += m.eventSize(r) + 1
		if counts[l] >= m.set.BatchSize || sizes[l]+len(eventFrame) >= maxPayload {
			return true
		}
	}
	return false
}

// maxPayload is Lambda's limit on the payload of a synchronous
// invocation: a mapping passes "the records in the batch in a single
// call, up to the payload limit for synchronous invocation (6 MB)"
// (BatchSize in the Lambda API reference).
const maxPayload = 6 << 20

// eventFrame is the JSON around a batch's records; eventOverhead bounds
// the JSON of one record besides its variable fields (a test checks it
// against the real encoding).
const (
	eventFrame    = `{"Records":[]}`
	eventOverhead = 400
)

// eventSize bounds the bytes r takes in an invocation's event: its data
// in base64, its fields (a partition key's characters escaped at worst)
// and the names around them.
func (m *Kinesis) eventSize(r stream.Stored) int {
	return eventOverhead + base64.StdEncoding.EncodedLen(len(r.Data)) + 2*len(r.SequenceNumber) +
		6*len(r.PartitionKey) + len(r.ShardID) + len(m.src.ARN()) + len(m.opts.Region)
}

// fit returns how many leading records of recs one invocation takes: at
// most BatchSize, within maxPayload, and at least one.
func (m *Kinesis) fit(recs []stream.Stored) int {
	size := len(eventFrame)
	for i, r := range recs {
		if i == m.set.BatchSize {
			return i
		}
		if size += m.eventSize(r) + 1; size > maxPayload && i > 0 {
			return i
		}
	}
	return len(recs)
}

// dispose invokes the function with batch until it succeeds, retrying,
// bisecting and finally sending the batch to the on-failure destination as
// the settings say. attempts counts failed invocations of this batch. It
// reports false if waitCtx was done before the batch was disposed of: during
// a retry backoff, or while the on-failure destination refused the batch.
func (m *Kinesis) dispose(invokeCtx, waitCtx context.Context, shard string, batch []stream.Stored, attempts int) bool {
	st := m.state(shard)
	for {
		if !m.opts.awaitInvocable(waitCtx, &st.throttled, "shard", shard) {
			return false
		}
		if expired := m.expired(batch); expired > 0 {
			if !m.sendFailure(invokeCtx, waitCtx, shard, batch[:expired], "RecordAgeExceeded", attempts, "") {
				return false
			}
			if batch = batch[expired:]; len(batch) == 0 {
				return true
			}
		}
		st.inFlight.Add(1)
		resp, ferr := m.invoke(invokeCtx, shard, batch)
		st.inFlight.Add(-1)
		st.invocations.Add(1)
		var functionError string
		switch {
		case ferr != nil:
			functionError = "Unhandled"
			m.opts.Logger.Warn("function error", "mapping", m.opts.Name, "shard", shard,
				"records", len(batch), "attempt", attempts+1, "error", ferr.Error())
		case !m.reportBIF || len(resp.BatchItemFailures) == 0:
			return true // success
		default:
			lowest, ok := lowestFailure(batch, resp.BatchItemFailures)
			if !ok {
				// An empty or unknown identifier fails the whole batch.
				functionError = "InvalidBatchItemFailures"
				m.opts.Logger.Warn("invalid batch item failures: the whole batch failed", "mapping", m.opts.Name, "shard", shard)
				break
			}
			// Done up to the lowest failure; retry from it.
			batch = batch[lowest:]
		}
		if err := m.opts.throttled(); err != nil {
			// It failed because it could not do its work now: a throttle,
			// not the batch's fault.
			m.opts.Logger.Warn("invocation failed while the function is throttled: retried without spending an attempt",
				"mapping", m.opts.Name, "shard", shard, "records", len(batch), "reason", err.Error())
			continue
		}
		if functionError != "" && m.set.BisectBatchOnFunctionError && len(batch) > 1 {
			half := len(batch) / 2
			m.opts.Logger.Info("bisecting failed batch", "mapping", m.opts.Name, "shard", shard, "records", len(batch))
			return m.dispose(invokeCtx, waitCtx, shard, batch[:half], 0) && m.dispose(invokeCtx, waitCtx, shard, batch[half:], 0)
		}
		attempts++
		if m.set.MaximumRetryAttempts >= 0 && attempts > m.set.MaximumRetryAttempts {
			return m.sendFailure(invokeCtx, waitCtx, shard, batch, "RetryAttemptsExhausted", attempts, functionError)
		}
		st.retries.Add(1)
		slept := backoff.Sleep(waitCtx, m.backoff(attempts))
		st.retries.Add(-1)
		if !slept {
			return false
		}
	}
}

// backoff is the delay before retry n (1-based): exponential, Backoff
// doubled per attempt up to MaxBackoff, with the project's full jitter
// (backoff.Jittered). Lambda documents an exponential backoff and not its
// exact delays; the jitter keeps the batches of several lanes and shards,
// failing together on one cause (a throttled table), from retrying in
// step.
func (m *Kinesis) backoff(n int) time.Duration {
	return backoff.Jittered(n, m.opts.Backoff, m.opts.MaxBackoff)
}

// expired counts the leading records of batch older than the maximum
// record age.
func (m *Kinesis) expired(batch []stream.Stored) int {
	if m.set.MaximumRecordAgeInSeconds < 0 {
		return 0
	}
	cutoff := m.opts.Now().Add(-time.Duration(m.set.MaximumRecordAgeInSeconds) * time.Second)
	n := 0
	for n < len(batch) && batch[n].ArrivalTime.Before(cutoff) {
		n++
	}
	return n
}

// lowestFailure returns the index in batch of the lowest reported sequence
// number; ok is false if an identifier is empty or not in the batch.
func lowestFailure(batch []stream.Stored, failures []lambdaevents.KinesisBatchItemFailure) (int, bool) {
	pos := make(map[string]int, len(batch))
	for i, r := range batch {
		pos[r.SequenceNumber] = i
	}
	lowest := len(batch)
	for _, f := range failures {
		i, ok := pos[f.ItemIdentifier]
		if !ok {
			return 0, false
		}
		lowest = min(lowest, i)
	}
	return lowest, true
}

// invoke calls the handler as Lambda would: the event's JSON in, the
// response's JSON out, a deadline, a request id, panics and timeouts as
// function errors.
func (m *Kinesis) invoke(ctx context.Context, shard string, batch []stream.Stored) (lambdaevents.KinesisEventResponse, error) {
	payload, err := payload(m.records(batch))
	if err != nil {
		return lambdaevents.KinesisEventResponse{}, err
	}
	return invoke[lambdaevents.KinesisEventResponse](ctx, m.opts, m.handler, payload)
}

// invoke runs fn, a typed Lambda function, with payload under Lambda's
// conditions through aws-lambda-go's JSON handler and decodes its response
// into R, or returns a function error for an error, a panic or a timeout.
//
// Each invocation gets its own lambda.Handler: the bytes Invoke returns
// belong to a buffer that goes back to the handler's pool as Invoke
// returns. The Lambda runtime invokes one event at a time; a mapping
// invokes concurrently (shards, lanes), and a shared handler would let one
// invocation overwrite another's response.
func invoke[R any](ctx context.Context, opts Options, fn any, payload []byte) (R, error) {
	return run(ctx, opts, func(ctx context.Context) (R, error) {
		var resp R
		out, err := lambda.NewHandler(fn).Invoke(ctx, payload)
		if err != nil {
			return resp, err
		}
		if err := json.Unmarshal(out, &resp); err != nil {
			return resp, fmt.Errorf("function response %.200q: %w", out, err)
		}
		return resp, nil
	})
}

// run runs fn under Lambda's conditions and returns its result, or a
// function error for a panic or a timeout.
func run[R any](ctx context.Context, opts Options, fn func(context.Context) (R, error)) (R, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.FunctionTimeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
		AwsRequestID:       uuid.New(),
		InvokedFunctionArn: opts.FunctionARN,
	})
	type result struct {
		r   R
		err error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				var zero R
				done <- result{zero, fmt.Errorf("function panicked: %v", p)}
			}
		}()
		r, err := fn(ctx)
		done <- result{r, err}
	}()
	select {
	case res := <-done:
		return res.r, res.err
	case <-ctx.Done():
	}
	// Lambda stops the sandbox at the timeout. A goroutine cannot be
	// stopped, so wait for the handler to notice its context (ours do at
	// once) before the batch is retried: two invocations with the same
	// keys must never overlap. A handler that ignores its context for
	// another full timeout (10 s at least) is abandoned.
	t := time.NewTimer(max(opts.FunctionTimeout, 10*time.Second))
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		opts.Logger.Error("function ignored its timeout; abandoned", "function_arn", opts.FunctionARN)
	}
	var zero R
	return zero, fmt.Errorf("function timed out after %s", opts.FunctionTimeout)
}

// kinesisRecordJSON is one record of the event Lambda sends.
type kinesisRecordJSON struct {
	Kinesis struct {
		KinesisSchemaVersion        string  `json:"kinesisSchemaVersion"`
		PartitionKey                string  `json:"partitionKey"`
		SequenceNumber              string  `json:"sequenceNumber"`
		Data                        []byte  `json:"data"` // base64
		ApproximateArrivalTimestamp float64 `json:"approximateArrivalTimestamp"`
	} `json:"kinesis"`
	EventSource       string `json:"eventSource"`
	EventVersion      string `json:"eventVersion"`
	EventID           string `json:"eventID"`
	EventName         string `json:"eventName"`
	InvokeIdentityARN string `json:"invokeIdentityArn"`
	AWSRegion         string `json:"awsRegion"`
	EventSourceARN    string `json:"eventSourceARN"`
}

// records are batch's records as Lambda writes them in an event.
func (m *Kinesis) records(batch []stream.Stored) []kinesisRecordJSON {
	recs := make([]kinesisRecordJSON, len(batch))
	for i, r := range batch {
		k := &recs[i]
		k.Kinesis.KinesisSchemaVersion = "1.0"
		k.Kinesis.PartitionKey = r.PartitionKey
		k.Kinesis.SequenceNumber = r.SequenceNumber
		k.Kinesis.Data = r.Data
		k.Kinesis.ApproximateArrivalTimestamp = float64(r.ArrivalTime.UnixMilli()) / 1000
		k.EventSource = "aws:kinesis"
		k.EventVersion = "1.0"
		k.EventID = r.ShardID + ":" + r.SequenceNumber
		k.EventName = "aws:kinesis:record"
		k.InvokeIdentityARN = invokeIdentity
		k.AWSRegion = m.opts.Region
		k.EventSourceARN = m.src.ARN()
	}
	return recs
}

// payload is the JSON event Lambda sends with records, as Lambda writes
// them: {"Records": [...]}.
func payload[R any](recs []R) ([]byte, error) {
	return json.Marshal(struct {
		Records []R `json:"Records"`
	}{recs})
}

// invokeIdentity is the execution role Lambda names as the invoke identity.
const invokeIdentity = "arn:aws:iam::000000000000:role/devstack-function-role"

// sendFailure sends batch's metadata to the on-failure destination,
// retrying until the destination takes it. It reports false if waitCtx was
// done first: the batch must then not be checkpointed (nothing is dropped).
func (m *Kinesis) sendFailure(invokeCtx, waitCtx context.Context, shard string, batch []stream.Stored, condition string, invokes int, functionError string) bool {
	rec := errorsink.OnFailure{
		RequestContext: errorsink.RequestContext{
			RequestID:              uuid.New(),
			FunctionARN:            m.opts.FunctionARN,
			Condition:              condition,
			ApproximateInvokeCount: invokes,
		},
		Version:   "1.0",
		Timestamp: lambdaTime(m.opts.Now()),
		KinesisBatchInfo: errorsink.KinesisBatchInfo{
			ShardID:                         shard,
			StartSequenceNumber:             batch[0].SequenceNumber,
			EndSequenceNumber:               batch[len(batch)-1].SequenceNumber,
			ApproximateArrivalOfFirstRecord: lambdaTime(batch[0].ArrivalTime),
			ApproximateArrivalOfLastRecord:  lambdaTime(batch[len(batch)-1].ArrivalTime),
			BatchSize:                       len(batch),
			StreamARN:                       m.src.ARN(),
		},
	}
	if invokes > 0 {
		// The function ran and answered (a function error is a 200 with
		// the error type too); records that expired before any
		// invocation have no response.
		rec.ResponseContext = errorsink.ResponseContext{StatusCode: 200, ExecutedVersion: "$LATEST", FunctionError: functionError}
	}
	body, err := json.Marshal(rec)
	if err != nil {
		// Only a time outside years 0-9999 fails, and the times are the
		// clock's and the stream's.
		m.opts.Logger.Error("encode the on-failure record", "mapping", m.opts.Name, "shard", shard, "error", err.Error())
		return false
	}
	for n := 1; ; n++ {
		err := m.onFailure.Send(invokeCtx, body)
		if err == nil {
			break
		}
		m.opts.Logger.Error("the on-failure destination refused a batch; retrying", "mapping", m.opts.Name,
			"shard", shard, "condition", condition, "error", err.Error())
		if !backoff.Sleep(waitCtx, m.backoff(n)) {
			return false
		}
	}
	m.state(shard).sentToFailures.Add(1)
	m.opts.Logger.Warn("batch sent to the on-failure destination", "mapping", m.opts.Name,
		"shard", shard, "condition", condition, "records", len(batch),
		"start", batch[0].SequenceNumber, "end", batch[len(batch)-1].SequenceNumber)
	return true
}

// lambdaTime is t as Lambda stamps invocation records: UTC, milliseconds.
func lambdaTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// ShardStatus is a shard's state as devstack's status page shows it.
type ShardStatus struct {
	ShardID    string `json:"shardId"`
	Latest     string `json:"latestSequenceNumber"`
	Checkpoint string `json:"checkpoint"`
	// IteratorAgeMs is how far behind the mapping is: the age of the oldest
	// record not yet disposed of (0 when caught up).
	IteratorAgeMs   int64 `json:"iteratorAgeMs"`
	RetriesInFlight int64 `json:"retriesInFlight"`
	BatchesInFlight int64 `json:"batchesInFlight"`
	Invocations     int64 `json:"invocations"`
	// BatchesDone counts the batches disposed of since the mapping
	// started: processed, or sent to the on-failure destination
	// (BatchesToOnFailure of them).
	BatchesDone        int64 `json:"batchesDone"`
	BatchesToOnFailure int64 `json:"batchesToOnFailure"`
}

// Status describes every shard.
func (m *Kinesis) Status() ([]ShardStatus, error) {
	var out []ShardStatus
	for _, sh := range m.src.Shards() {
		st := m.state(sh)
		latest, err := m.src.Latest(sh)
		if err != nil {
			return nil, err
		}
		m.mu.Lock()
		s := ShardStatus{ShardID: sh, Latest: latest, Checkpoint: st.checkpoint,
			RetriesInFlight: st.retries.Load(), BatchesInFlight: st.inFlight.Load(),
			Invocations: st.invocations.Load(), BatchesDone: st.batchesDone.Load(), BatchesToOnFailure: st.sentToFailures.Load()}
		oldest := st.oldestArrival
		cp := st.checkpoint
		m.mu.Unlock()
		if oldest.IsZero() && latest != "" && latest != cp {
			if next, err := m.src.Records(sh, cp, 1); err == nil && len(next) > 0 {
				oldest = next[0].ArrivalTime
			}
		}
		if !oldest.IsZero() {
			s.IteratorAgeMs = max(0, m.opts.Now().Sub(oldest).Milliseconds())
		}
		out = append(out, s)
	}
	return out, nil
}
