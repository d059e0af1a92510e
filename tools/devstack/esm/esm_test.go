package esm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	lambdaevents "github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/services/errorsink"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/kinesis"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/sqs"
)

type fixture struct {
	db     *bolt.DB
	stream *kinesis.Stream
	queue  *sqs.Queue
}

func newFixture(t *testing.T, shards int) *fixture {
	t.Helper()
	db, err := bolt.Open(filepath.Join(t.TempDir(), "devstack.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s, err := kinesis.Open(db, kinesis.Options{Name: "events", Shards: shards})
	if err != nil {
		t.Fatal(err)
	}
	q, err := sqs.Open(db, sqs.Options{Name: "onfailure"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{db, s, q}
}

func (f *fixture) publish(t *testing.T, recs ...stream.Record) {
	t.Helper()
	res, err := f.stream.Publish(t.Context(), recs)
	if err != nil || len(res.Failed) > 0 {
		t.Fatalf("Publish: %+v, %v", res, err)
	}
}

// settings are the processor's, made quick for tests.
func settings(mod func(*contract.KinesisMapping)) contract.KinesisMapping {
	s := contract.ProcessorMapping
	s.MaximumBatchingWindowInSeconds = 0
	if mod != nil {
		mod(&s)
	}
	return s
}

// recorder is a test function: it records every invocation and answers
// with what answer says.
type recorder struct {
	mu     sync.Mutex
	calls  [][]string // data of each invocation's records
	answer func(call int, ev lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error)
}

func (r *recorder) handle(ctx context.Context, ev lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
	r.mu.Lock()
	var data []string
	for _, rec := range ev.Records {
		data = append(data, string(rec.Kinesis.Data))
	}
	r.calls = append(r.calls, data)
	n := len(r.calls)
	r.mu.Unlock()
	if r.answer == nil {
		return lambdaevents.KinesisEventResponse{}, nil
	}
	return r.answer(n, ev)
}

func (r *recorder) snapshot() [][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func start(t *testing.T, f *fixture, set contract.KinesisMapping, h KinesisHandler, opts Options) *Kinesis {
	t.Helper()
	if opts.Name == "" {
		opts.Name = "processor"
	}
	opts.FunctionARN = "arn:aws:lambda:local:000000000000:function:processor"
	if opts.Backoff == 0 {
		opts.Backoff, opts.MaxBackoff = time.Millisecond, 5*time.Millisecond
	}
	m, err := NewKinesis(f.stream, BoltCheckpoints{f.db}, set, h, f.queue, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.RunWindow(ctx, 0) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return m
}

// caughtUp waits until every shard's checkpoint is its latest record.
func caughtUp(t *testing.T, m *Kinesis) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		st, err := m.Status()
		if err != nil {
			t.Fatal(err)
		}
		done := true
		for _, s := range st {
			done = done && s.Checkpoint == s.Latest && s.BatchesInFlight == 0
		}
		if done {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	st, _ := m.Status()
	t.Fatalf("mapping did not catch up: %+v", st)
}

// failures are the on-failure records on q, decoded and checked by the
// error sink, their consumer.
func failures(t *testing.T, q *sqs.Queue) []errorsink.OnFailure {
	t.Helper()
	msgs, err := q.Receive(100, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	var out []errorsink.OnFailure
	for _, m := range msgs {
		rec, err := errorsink.DecodeOnFailure([]byte(m.Body))
		if err != nil {
			t.Fatalf("the error sink refuses the on-failure record: %v", err)
		}
		out = append(out, rec)
	}
	return out
}

func recs(key string, data ...string) []stream.Record {
	out := make([]stream.Record, len(data))
	for i, d := range data {
		out[i] = stream.Record{PartitionKey: key, Data: []byte(d)}
	}
	return out
}

var errBoom = errors.New("boom")

func TestRetriesMeanAttemptsPlusOne(t *testing.T) {
	for _, retries := range []int{0, 1, 3} {
		t.Run(fmt.Sprint(retries), func(t *testing.T) {
			f := newFixture(t, 1)
			f.publish(t, recs("k", "bad")...)
			r := &recorder{answer: func(int, lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
				return lambdaevents.KinesisEventResponse{}, errBoom
			}}
			m := start(t, f, settings(func(s *contract.KinesisMapping) { s.MaximumRetryAttempts = retries }), r.handle, Options{})
			caughtUp(t, m)
			if got := len(r.snapshot()); got != retries+1 {
				t.Errorf("invocations = %d, want %d", got, retries+1)
			}
			fs := failures(t, f.queue)
			if len(fs) != 1 {
				t.Fatalf("on-failure records = %d, want 1", len(fs))
			}
			rc := fs[0].RequestContext
			if rc.Condition != "RetryAttemptsExhausted" || rc.ApproximateInvokeCount != retries+1 || fs[0].ResponseContext.FunctionError != "Unhandled" {
				t.Errorf("on-failure record = %+v", fs[0])
			}
		})
	}
}

func TestBisectIsolatesTheBadRecordWithoutUsingRetries(t *testing.T) {
	f := newFixture(t, 1)
	f.publish(t, recs("k", "1", "2", "3", "4", "5", "6", "7", "8")...)
	r := &recorder{answer: func(_ int, ev lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
		for _, rec := range ev.Records {
			if string(rec.Kinesis.Data) == "6" {
				return lambdaevents.KinesisEventResponse{}, errBoom
			}
		}
		return lambdaevents.KinesisEventResponse{}, nil
	}}
	set := settings(func(s *contract.KinesisMapping) {
		s.MaximumRetryAttempts = 2
		s.BisectBatchOnFunctionError = true
		s.FunctionResponseTypes = nil
	})
	m := start(t, f, set, r.handle, Options{})
	caughtUp(t, m)
	want := [][]string{
		{"1", "2", "3", "4", "5", "6", "7", "8"},
		{"1", "2", "3", "4"}, {"5", "6", "7", "8"},
		{"5", "6"}, {"5"}, {"6"},
		{"6"}, {"6"}, // the lone bad record still gets its 2 retries
		{"7", "8"},
	}
	if diff := cmp.Diff(want, r.snapshot()); diff != "" {
		t.Errorf("invocations (-want +got):\n%s", diff)
	}
	fs := failures(t, f.queue)
	if len(fs) != 1 || fs[0].KinesisBatchInfo.BatchSize != 1 || fs[0].RequestContext.ApproximateInvokeCount != 3 {
		t.Fatalf("on-failure records = %+v, want one for the lone record after 3 invocations", fs)
	}
	all, _ := f.stream.ReadAll(t.Context())
	if bi := fs[0].KinesisBatchInfo; bi.StartSequenceNumber != all[5].SequenceNumber || bi.EndSequenceNumber != all[5].SequenceNumber {
		t.Errorf("batch info %+v does not point at record 6 (%s)", bi, all[5].SequenceNumber)
	}
}

func TestPartialFailureResumesAtLowestReported(t *testing.T) {
	f := newFixture(t, 1)
	f.publish(t, recs("k", "1", "2", "3", "4", "5", "6")...)
	r := &recorder{answer: func(call int, ev lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
		if call > 1 {
			return lambdaevents.KinesisEventResponse{}, nil
		}
		// Report 5 and 3 (out of order): Lambda resumes at the lowest.
		return lambdaevents.KinesisEventResponse{BatchItemFailures: []lambdaevents.KinesisBatchItemFailure{
			{ItemIdentifier: ev.Records[4].Kinesis.SequenceNumber},
			{ItemIdentifier: ev.Records[2].Kinesis.SequenceNumber},
		}}, nil
	}}
	m := start(t, f, settings(nil), r.handle, Options{})
	caughtUp(t, m)
	want := [][]string{{"1", "2", "3", "4", "5", "6"}, {"3", "4", "5", "6"}}
	if diff := cmp.Diff(want, r.snapshot()); diff != "" {
		t.Errorf("invocations (-want +got):\n%s", diff)
	}
	if fs := failures(t, f.queue); len(fs) != 0 {
		t.Errorf("on-failure records: %+v", fs)
	}
}

func TestInvalidItemIdentifierFailsWholeBatch(t *testing.T) {
	for name, id := range map[string]string{"empty": "", "unknown": "49999"} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, 1)
			f.publish(t, recs("k", "1", "2", "3")...)
			r := &recorder{answer: func(call int, ev lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
				if call > 1 {
					return lambdaevents.KinesisEventResponse{}, nil
				}
				return lambdaevents.KinesisEventResponse{BatchItemFailures: []lambdaevents.KinesisBatchItemFailure{
					{ItemIdentifier: ev.Records[2].Kinesis.SequenceNumber}, {ItemIdentifier: id},
				}}, nil
			}}
			m := start(t, f, settings(func(s *contract.KinesisMapping) { s.BisectBatchOnFunctionError = false }), r.handle, Options{})
			caughtUp(t, m)
			want := [][]string{{"1", "2", "3"}, {"1", "2", "3"}}
			if diff := cmp.Diff(want, r.snapshot()); diff != "" {
				t.Errorf("invocations (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecordsOlderThanMaxAgeGoToOnFailure(t *testing.T) {
	f := newFixture(t, 1)
	f.publish(t, recs("k", "old1", "old2")...)
	r := &recorder{}
	later := func() time.Time { return time.Now().Add(2 * time.Hour) }
	m := start(t, f, settings(func(s *contract.KinesisMapping) { s.MaximumRecordAgeInSeconds = 3600 }), r.handle, Options{Now: later})
	caughtUp(t, m)
	if calls := r.snapshot(); len(calls) != 0 {
		t.Errorf("expired records were invoked: %v", calls)
	}
	fs := failures(t, f.queue)
	if len(fs) != 1 || fs[0].RequestContext.Condition != "RecordAgeExceeded" || fs[0].KinesisBatchInfo.BatchSize != 2 {
		t.Fatalf("on-failure records = %+v", fs)
	}
}

func TestParallelizationKeepsKeyOrder(t *testing.T) {
	f := newFixture(t, 2)
	var all []stream.Record
	for i := range 400 {
		all = append(all, stream.Record{PartitionKey: fmt.Sprintf("key-%d", i%23), Data: fmt.Appendf(nil, "%d", i)})
	}
	f.publish(t, all...)
	var mu sync.Mutex
	running := map[string]bool{}
	seen := map[string][]string{}
	var violations []string
	h := func(ctx context.Context, ev lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
		for _, rec := range ev.Records {
			k := rec.Kinesis.PartitionKey
			mu.Lock()
			if running[k] {
				violations = append(violations, k)
			}
			running[k] = true
			mu.Unlock()
			time.Sleep(50 * time.Microsecond)
			mu.Lock()
			running[k] = false
			seen[k] = append(seen[k], string(rec.Kinesis.Data))
			mu.Unlock()
		}
		return lambdaevents.KinesisEventResponse{}, nil
	}
	m := start(t, f, settings(func(s *contract.KinesisMapping) { s.ParallelizationFactor = 4; s.BatchSize = 10 }), h, Options{})
	caughtUp(t, m)
	if len(violations) > 0 {
		t.Errorf("keys run concurrently: %v", violations)
	}
	want := map[string][]string{}
	for _, r := range all {
		want[r.PartitionKey] = append(want[r.PartitionKey], string(r.Data))
	}
	if diff := cmp.Diff(want, seen); diff != "" {
		t.Errorf("records per key, in order (-want +got):\n%s", diff)
	}
}

func TestCheckpointSurvivesRestart(t *testing.T) {
	f := newFixture(t, 2)
	f.publish(t, recs("a", "1", "2")...)
	f.publish(t, recs("b", "3")...)
	first := &recorder{}
	t.Run("first run", func(t *testing.T) {
		m := start(t, f, settings(nil), first.handle, Options{})
		caughtUp(t, m)
	})
	f.publish(t, recs("a", "4")...)
	second := &recorder{}
	m := start(t, f, settings(nil), second.handle, Options{})
	caughtUp(t, m)
	if diff := cmp.Diff([][]string{{"4"}}, second.snapshot()); diff != "" {
		t.Errorf("after restart (-want +got):\n%s", diff)
	}
}

func TestEventIsShapedAsLambdaShapesIt(t *testing.T) {
	f := newFixture(t, 1)
	f.publish(t, stream.Record{PartitionKey: "the-godfather-1972", Data: []byte(`{"x":"\u00e9"}` + "\x00\xff")})
	var got lambdaevents.KinesisEvent
	var lc *lambdacontext.LambdaContext
	var deadline bool
	h := func(ctx context.Context, ev lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
		got = ev
		lc, _ = lambdacontext.FromContext(ctx)
		_, deadline = ctx.Deadline()
		return lambdaevents.KinesisEventResponse{}, nil
	}
	m := start(t, f, settings(nil), h, Options{Region: "eu-west-2"})
	caughtUp(t, m)
	all, _ := f.stream.ReadAll(t.Context())
	if len(got.Records) != 1 {
		t.Fatalf("event = %+v", got)
	}
	r := got.Records[0]
	if r.EventID != "shardId-000000000000:"+all[0].SequenceNumber || r.EventSource != "aws:kinesis" ||
		r.EventName != "aws:kinesis:record" || r.EventVersion != "1.0" || r.AwsRegion != "eu-west-2" ||
		r.EventSourceArn != f.stream.ARN() || r.Kinesis.KinesisSchemaVersion != "1.0" ||
		r.Kinesis.PartitionKey != "the-godfather-1972" || string(r.Kinesis.Data) != string(all[0].Data) ||
		r.Kinesis.ApproximateArrivalTimestamp.IsZero() {
		t.Errorf("record = %+v", r)
	}
	if lc == nil || lc.AwsRequestID == "" || !strings.HasPrefix(lc.InvokedFunctionArn, "arn:aws:lambda:") || !deadline {
		t.Errorf("lambda context = %+v, deadline %v", lc, deadline)
	}
}

func TestPanicAndTimeoutAreFunctionErrors(t *testing.T) {
	f := newFixture(t, 1)
	f.publish(t, recs("k", "panic", "slow")...)
	var calls sync.Map
	h := func(ctx context.Context, ev lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
		d := string(ev.Records[0].Kinesis.Data)
		n, _ := calls.LoadOrStore(d, new(int))
		*n.(*int)++
		if d == "panic" {
			panic("handler bug")
		}
		<-ctx.Done()
		return lambdaevents.KinesisEventResponse{}, nil
	}
	set := settings(func(s *contract.KinesisMapping) { s.MaximumRetryAttempts = 1; s.BatchSize = 1 })
	m := start(t, f, set, h, Options{FunctionTimeout: 20 * time.Millisecond})
	caughtUp(t, m)
	fs := failures(t, f.queue)
	if len(fs) != 2 {
		t.Fatalf("on-failure records = %d, want 2 (panic and timeout)", len(fs))
	}
}

func TestOnFailureRecordHasAWSShape(t *testing.T) {
	f := newFixture(t, 1)
	f.publish(t, recs("k", "x")...)
	h := func(context.Context, lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
		return lambdaevents.KinesisEventResponse{}, errBoom
	}
	m := start(t, f, settings(func(s *contract.KinesisMapping) { s.MaximumRetryAttempts = 0 }), h, Options{})
	caughtUp(t, m)
	msgs, err := f.queue.Receive(1, time.Hour)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("Receive = %v, %v", msgs, err)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(msgs[0].Body), &doc); err != nil {
		t.Fatal(err)
	}
	// The keys of AWS's example invocation record, exactly.
	keys := func(m map[string]any) []string {
		var k []string
		for key := range m {
			k = append(k, key)
		}
		slices.Sort(k)
		return k
	}
	if diff := cmp.Diff([]string{"KinesisBatchInfo", "requestContext", "responseContext", "timestamp", "version"}, keys(doc)); diff != "" {
		t.Errorf("top-level keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"approximateArrivalOfFirstRecord", "approximateArrivalOfLastRecord", "batchSize", "endSequenceNumber", "shardId", "startSequenceNumber", "streamArn"}, keys(doc["KinesisBatchInfo"].(map[string]any))); diff != "" {
		t.Errorf("KinesisBatchInfo keys (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"approximateInvokeCount", "condition", "functionArn", "requestId"}, keys(doc["requestContext"].(map[string]any))); diff != "" {
		t.Errorf("requestContext keys (-want +got):\n%s", diff)
	}
	// Times as Lambda writes them: UTC, three fraction digits.
	batch := doc["KinesisBatchInfo"].(map[string]any)
	for _, v := range []any{doc["timestamp"], batch["approximateArrivalOfFirstRecord"], batch["approximateArrivalOfLastRecord"]} {
		if s, _ := v.(string); !lambdaTimeRE.MatchString(s) {
			t.Errorf("time %v is not written as Lambda writes it (2019-11-14T00:38:06.021Z)", v)
		}
	}
}

var lambdaTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// flakyDestination refuses the first n sends.
type flakyDestination struct {
	mu     sync.Mutex
	refuse int
	sent   [][]byte
}

func (d *flakyDestination) Send(_ context.Context, body []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.refuse != 0 {
		d.refuse--
		return errors.New("queue unavailable")
	}
	d.sent = append(d.sent, body)
	return nil
}

func (d *flakyDestination) count() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.sent)
}

func TestOnFailureRefusalIsRetriedNotDropped(t *testing.T) {
	f := newFixture(t, 1)
	f.publish(t, recs("k", "bad")...)
	dst := &flakyDestination{refuse: 3}
	h := func(context.Context, lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
		return lambdaevents.KinesisEventResponse{}, errBoom
	}
	m, err := NewKinesis(f.stream, BoltCheckpoints{f.db}, settings(func(s *contract.KinesisMapping) { s.MaximumRetryAttempts = 0 }), h, dst,
		Options{Name: "processor", Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.RunWindow(ctx, 0) }()
	caughtUp(t, m)
	cancel()
	<-done
	if dst.count() != 1 {
		t.Errorf("on-failure records delivered = %d, want 1 after 3 refusals", dst.count())
	}
}

func TestStopWhileUndeliverableKeepsTheBatch(t *testing.T) {
	f := newFixture(t, 1)
	f.publish(t, recs("k", "bad")...)
	dst := &flakyDestination{refuse: -1} // refuses for ever
	h := func(context.Context, lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
		return lambdaevents.KinesisEventResponse{}, errBoom
	}
	m, err := NewKinesis(f.stream, BoltCheckpoints{f.db}, settings(func(s *contract.KinesisMapping) { s.MaximumRetryAttempts = 0 }), h, dst,
		Options{Name: "processor", Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- m.RunWindow(ctx, 0) }()
	time.Sleep(50 * time.Millisecond) // let it invoke and start retrying the send
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	cp, _ := BoltCheckpoints{f.db}.Checkpoint("processor", kinesis.ShardID(0))
	if cp != "" {
		t.Errorf("checkpoint moved to %s although the batch reached neither the function nor the destination", cp)
	}
}

func TestTimedOutInvocationNeverOverlapsItsRetry(t *testing.T) {
	f := newFixture(t, 1)
	f.publish(t, recs("k", "slow")...)
	var mu sync.Mutex
	running, overlaps, calls := 0, 0, 0
	h := func(ctx context.Context, ev lambdaevents.KinesisEvent) (lambdaevents.KinesisEventResponse, error) {
		mu.Lock()
		running++
		calls++
		if running > 1 {
			overlaps++
		}
		mu.Unlock()
		<-ctx.Done()
		time.Sleep(20 * time.Millisecond) // cleaning up after the deadline
		mu.Lock()
		running--
		mu.Unlock()
		return lambdaevents.KinesisEventResponse{}, ctx.Err()
	}
	m := start(t, f, settings(func(s *contract.KinesisMapping) { s.MaximumRetryAttempts = 2 }), h, Options{FunctionTimeout: 10 * time.Millisecond})
	caughtUp(t, m)
	mu.Lock()
	defer mu.Unlock()
	if calls != 3 || overlaps != 0 {
		t.Errorf("calls = %d, overlapping invocations = %d; want 3 and 0", calls, overlaps)
	}
}
