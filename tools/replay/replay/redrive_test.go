package replay

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awssqs "github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"
	bolt "go.etcd.io/bbolt"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
	"github.com/scrape-pipeline/scrape-pipeline/services/processor"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/sqs"
)

// openQueuesDB opens (creating) the stream file of data directory dir
// with devstack's two queues of suffix DefaultSuffix.
func openQueuesDB(t *testing.T, dir string) (db *bolt.DB, queue, dlq *sqs.Queue) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, StreamFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if dlq, err = sqs.Open(db, sqs.Options{Name: contract.Name(contract.ErrorsinkDLQBase, DefaultSuffix)}); err != nil {
		t.Fatal(err)
	}
	if queue, err = sqs.Open(db, sqs.Options{Name: contract.Name(contract.OnFailureQueue, DefaultSuffix),
		MaxReceiveCount: 5, DeadLetter: dlq}); err != nil {
		t.Fatal(err)
	}
	return db, queue, dlq
}

func redriveDir(t *testing.T, dir string, now time.Time) (RedriveReport, error) {
	t.Helper()
	tool, err := New(context.Background(), Options{Redrive: true, Data: dir, Logger: quiet, Now: func() time.Time { return now }})
	if err != nil {
		return RedriveReport{}, err
	}
	defer tool.Close()
	rep, err := tool.Run(context.Background())
	if rep.Redrive == nil {
		t.Fatalf("redrive: no report, %v", err)
	}
	return *rep.Redrive, err
}

func TestRedriveResolvesWhatNowSucceedsAndEmptiesTheDeadLetterQueue(t *testing.T) {
	f := getFixture(t)
	// The live pipeline could not project some records (the store was
	// failing): the error sink stored them.
	live := mkdir(t, filepath.Join(t.TempDir(), "live"))
	sunk := f.stream.movieRecords(40)
	f.stream.runLive(t, live, sunk)
	// One more item, whose payload was cut when it was stored.
	st, err := embedded.Open(filepath.Join(live, TablesFile))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	stored := time.Now().UTC().Add(-time.Hour)
	cut := store.ErrorItem{ID: "cut", Stage: store.StageDecode, Reason: "not an event", Payload: []byte("{…"), PayloadSize: 400_000,
		ShardID: "shardId-000000000000", SequenceNumber: "7", PartitionKey: "big", Attempts: 1, FirstFailure: stored, LastFailure: stored}
	if err := st.PutError(ctx, cut); err != nil {
		t.Fatal(err)
	}
	before, err := openErrors(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	// And the error sink could not store 3 batches either: their
	// on-failure messages went to its dead-letter queue.
	db, queue, dlq := openQueuesDB(t, live)
	for i := range 3 {
		if err := queue.Send(ctx, fmt.Appendf(nil, `{"batch":%d}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	for range 6 { // received 5 times, then moved to the dead-letter queue
		if _, err := queue.Receive(10, 0); err != nil {
			t.Fatal(err)
		}
	}
	if v, _, _ := dlq.Depth(); v != 3 {
		t.Fatalf("dead-letter queue holds %d messages, want 3", v)
	}
	db.Close()

	poison := len(before) - len(sunk) - 1
	now := time.Now().UTC().Truncate(time.Millisecond)
	rep, err := redriveDir(t, live, now)
	if err != nil {
		t.Fatal(err)
	}
	want := RedriveReport{Open: len(before), Resolved: len(sunk), StillFailing: poison, Cut: 1, Moved: 3,
		Queue: "processor-onfailure-devstack", DLQ: "errorsink-dlq-devstack"}
	if diff := cmp.Diff(want, rep, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Duration" }, cmp.Ignore())); diff != "" {
		t.Errorf("redrive report (-want +got):\n%s", diff)
	}

	// The live tables are now what a replay of the stream makes: the
	// resolved items are left out, the runs' counts moved.
	// (The cut item was never on the stream.)
	v, _ := verifyDirs(t, live, f.reference)
	if len(v.Differences) != 1 || v.Differences[0].ID != "cut" || v.Differences[0].Only != "live" {
		t.Errorf("after the redrive the live tables differ from the replay by more than the cut item:\n%v", v.Differences)
	}
	st, err = embedded.Open(filepath.Join(live, TablesFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range before {
		got, err := st.GetError(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case e.ID == "cut":
			if got.Attempts != 1 || !strings.HasPrefix(got.Reason, cutNote) || !strings.Contains(got.Reason, "4 of 400000 bytes") {
				t.Errorf("cut item after the redrive: attempts %d, reason %q; want 1 and the cut explained", got.Attempts, got.Reason)
			}
		case e.Stage == store.StageRetriesExhausted:
			if !got.Resolved.Equal(now) || got.Attempts != 1 {
				t.Errorf("item %s of a record that now succeeds: resolved %v, attempts %d; want resolved at %v", e.ID, got.Resolved, got.Attempts, now)
			}
		default:
			if !got.Resolved.IsZero() || got.Attempts != 2 || !got.LastFailure.Equal(now) || !got.FirstFailure.Equal(e.FirstFailure) || got.Reason == "" {
				t.Errorf("poison item %s after the redrive: %+v; want open, attempt 2 at %v, first failure kept", e.ID, got, now)
			}
		}
	}
	st.Close()
	db, queue, dlq = openQueuesDB(t, live)
	if v, _, _ := queue.Depth(); v != 3 {
		t.Errorf("on-failure queue holds %d messages, want the 3 moved back", v)
	}
	if v, f, _ := dlq.Depth(); v+f != 0 {
		t.Errorf("dead-letter queue holds %d messages, want none", v+f)
	}
	db.Close()

	// A second redrive changes nothing but the attempts of what still
	// fails: it is another attempt.
	later := now.Add(time.Minute)
	rep, err = redriveDir(t, live, later)
	if err != nil {
		t.Fatal(err)
	}
	want = RedriveReport{Open: poison + 1, StillFailing: poison, Cut: 1, Queue: want.Queue, DLQ: want.DLQ, DLQNote: "empty"}
	if diff := cmp.Diff(want, rep, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Duration" }, cmp.Ignore())); diff != "" {
		t.Errorf("second redrive report (-want +got):\n%s", diff)
	}
	st, err = embedded.Open(filepath.Join(live, TablesFile))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, e := range before {
		got, err := st.GetError(ctx, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		if e.Stage != store.StageRetriesExhausted && e.ID != "cut" && (got.Attempts != 3 || !got.LastFailure.Equal(later)) {
			t.Errorf("poison item %s after two redrives: attempts %d, last failure %v; want 3 at %v", e.ID, got.Attempts, got.LastFailure, later)
		}
	}
}

// scriptedProjector fails the records of some sequence numbers and notes
// the order of the calls.
type scriptedProjector struct {
	mu    sync.Mutex
	calls []string
	fail  map[string]error
}

func (p *scriptedProjector) Project(_ context.Context, rec processor.Record) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, rec.PartitionKey+"/"+rec.SequenceNumber)
	return p.fail[rec.SequenceNumber]
}

func TestRedriveKeepsEachKeyInStreamOrder(t *testing.T) {
	ctx := context.Background()
	st := embedded.NewMemory()
	at := time.Date(2026, 11, 27, 4, 0, 0, 0, time.UTC)
	items := []struct{ key, seq string }{
		{"a", "10"}, {"a", "9"}, {"a", "11"}, {"a", "12"}, // 10 fails for now: 11 and 12 wait behind it
		{"b", "3"}, {"b", "2"}, // 2 fails for good: b goes on
		{"c", "5"},
	}
	for i, it := range items {
		// Listed newest first: give the items stream order backwards.
		e := store.ErrorItem{ID: "e-" + it.key + it.seq, Stage: store.StageRetriesExhausted, Reason: "was failing",
			Payload: []byte("x"), ShardID: "shardId-000000000000", SequenceNumber: it.seq, PartitionKey: it.key,
			Attempts: 1, FirstFailure: at.Add(-time.Duration(i) * time.Minute), LastFailure: at}
		if err := st.PutError(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	p := &scriptedProjector{fail: map[string]error{
		"10": fmt.Errorf("apply movie: %w", store.ErrTransient),
		"2":  &processor.PermanentError{Stage: store.StageValidate, Err: errors.New("year 3000 is in the future")},
	}}
	now := at.Add(time.Hour)
	rep, err := redriveErrors(ctx, st, p, func() time.Time { return now }, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if want := (RedriveReport{Open: 7, Resolved: 3, StillFailing: 2, Transient: 1}); rep != want {
		t.Errorf("report %+v, want %+v", rep, want)
	}
	// Per key, in sequence-number order (numerically: 9 before 10).
	got := map[string][]string{}
	for _, c := range p.calls {
		key, seq, _ := strings.Cut(c, "/")
		got[key] = append(got[key], seq)
	}
	want := map[string][]string{"a": {"9", "10"}, "b": {"2", "3"}, "c": {"5"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("projected (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		id       string
		resolved bool
		attempts int
		reason   string
	}{
		{"e-a9", true, 1, "was failing"},
		{"e-a10", false, 2, "redrive failed, may succeed later: apply movie: transient store failure"},
		{"e-a11", false, 1, "was failing"},
		{"e-a12", false, 1, "was failing"},
		{"e-b2", false, 2, "validate: year 3000 is in the future"},
		{"e-b3", true, 1, "was failing"},
		{"e-c5", true, 1, "was failing"},
	} {
		e, err := st.GetError(ctx, tc.id)
		if err != nil {
			t.Fatal(err)
		}
		if !e.Resolved.IsZero() != tc.resolved || e.Attempts != tc.attempts || e.Reason != tc.reason {
			t.Errorf("%s: resolved %v, attempts %d, reason %q; want %v, %d, %q", tc.id, e.Resolved, e.Attempts, e.Reason, tc.resolved, tc.attempts, tc.reason)
		}
	}
}

func TestRedriveOfADirectoryInUse(t *testing.T) {
	f := getFixture(t)
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := replayInto(t, f.archive, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	db, _, _ := openQueuesDB(t, dir) // devstack running: its stream file is open
	defer db.Close()
	defer func(d time.Duration) { lockTimeout = d }(lockTimeout)
	lockTimeout = 50 * time.Millisecond
	if _, err := New(context.Background(), Options{Redrive: true, Data: dir, Logger: quiet}); !errors.Is(err, ErrInUse) {
		t.Errorf("redrive of a directory in use = %v, want ErrInUse", err)
	}
}

// fakeSQS is the SQS API of one dead-letter queue and its source, whose
// move tasks go through the statuses given.
type fakeSQS struct {
	visible  int
	statuses []sqstypes.ListMessageMoveTasksResultEntry // one per ListMessageMoveTasks call; the last repeats
	startErr error
	started  []awssqs.StartMessageMoveTaskInput
	lists    int
}

const (
	fakeQueueARN = "arn:aws:sqs:eu-west-2:123456789012:processor-onfailure-x"
	fakeDLQARN   = "arn:aws:sqs:eu-west-2:123456789012:errorsink-dlq-x"
)

func (f *fakeSQS) GetQueueUrl(_ context.Context, in *awssqs.GetQueueUrlInput, _ ...func(*awssqs.Options)) (*awssqs.GetQueueUrlOutput, error) {
	return &awssqs.GetQueueUrlOutput{QueueUrl: aws.String("https://sqs.example/" + aws.ToString(in.QueueName))}, nil
}

func (f *fakeSQS) GetQueueAttributes(_ context.Context, in *awssqs.GetQueueAttributesInput, _ ...func(*awssqs.Options)) (*awssqs.GetQueueAttributesOutput, error) {
	arn, n := fakeQueueARN, 0
	if strings.Contains(aws.ToString(in.QueueUrl), "dlq") {
		arn, n = fakeDLQARN, f.visible
	}
	return &awssqs.GetQueueAttributesOutput{Attributes: map[string]string{
		string(sqstypes.QueueAttributeNameQueueArn):                    arn,
		string(sqstypes.QueueAttributeNameApproximateNumberOfMessages): fmt.Sprint(n),
	}}, nil
}

func (f *fakeSQS) StartMessageMoveTask(_ context.Context, in *awssqs.StartMessageMoveTaskInput, _ ...func(*awssqs.Options)) (*awssqs.StartMessageMoveTaskOutput, error) {
	f.started = append(f.started, *in)
	if f.startErr != nil {
		return nil, f.startErr
	}
	return &awssqs.StartMessageMoveTaskOutput{TaskHandle: aws.String("task-1")}, nil
}

func (f *fakeSQS) ListMessageMoveTasks(_ context.Context, in *awssqs.ListMessageMoveTasksInput, _ ...func(*awssqs.Options)) (*awssqs.ListMessageMoveTasksOutput, error) {
	if aws.ToString(in.SourceArn) != fakeDLQARN {
		return nil, fmt.Errorf("ListMessageMoveTasks of %s, want the dead-letter queue's", aws.ToString(in.SourceArn))
	}
	if len(f.statuses) == 0 {
		return &awssqs.ListMessageMoveTasksOutput{}, nil
	}
	e := f.statuses[min(f.lists, len(f.statuses)-1)]
	f.lists++
	return &awssqs.ListMessageMoveTasksOutput{Results: []sqstypes.ListMessageMoveTasksResultEntry{e}}, nil
}

func task(status string, moved int64) sqstypes.ListMessageMoveTasksResultEntry {
	return sqstypes.ListMessageMoveTasksResultEntry{Status: aws.String(status), ApproximateNumberOfMessagesMoved: moved,
		SourceArn: aws.String(fakeDLQARN), DestinationArn: aws.String(fakeQueueARN), FailureReason: map[bool]*string{true: aws.String("AccessDenied")}[status == taskFailed]}
}

func TestSQSDeadLettersMoveWithAMessageMoveTask(t *testing.T) {
	for _, tc := range []struct {
		name      string
		sqs       *fakeSQS
		wantMoved int64
		wantNote  string
		wantErr   string
		wantStart bool
	}{
		{"empty", &fakeSQS{}, 0, "empty (no visible message)", "", false},
		{"completed", &fakeSQS{visible: 40, statuses: []sqstypes.ListMessageMoveTasksResultEntry{
			task(taskRunning, 0), task(taskRunning, 25), task(taskCompleted, 40)}}, 40, "", "", true},
		{"failed", &fakeSQS{visible: 40, statuses: []sqstypes.ListMessageMoveTasksResultEntry{
			task(taskRunning, 5), task(taskFailed, 10)}}, 10, "", "failed after moving 10 messages: AccessDenied", true},
		{"cancelled", &fakeSQS{visible: 2, statuses: []sqstypes.ListMessageMoveTasksResultEntry{
			task(taskCancelling, 1), task(taskCancelled, 1)}}, 1, "", "was cancelled", true},
		{"a task already running is followed", &fakeSQS{visible: 3, startErr: errors.New("UnsupportedOperation: a task is running"),
			statuses: []sqstypes.ListMessageMoveTasksResultEntry{task(taskRunning, 1), task(taskCompleted, 3)}}, 3, "", "", true},
		{"start refused", &fakeSQS{visible: 3, startErr: errors.New("AccessDenied")}, 0, "", "AccessDenied", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &sqsDeadLetters{client: tc.sqs, queue: "processor-onfailure-x", dlq: "errorsink-dlq-x", poll: time.Millisecond}
			moved, note, err := d.move(context.Background())
			if moved != tc.wantMoved || note != tc.wantNote {
				t.Errorf("move = %d, %q; want %d, %q", moved, note, tc.wantMoved, tc.wantNote)
			}
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("move error = %v, want %q", err, tc.wantErr)
			}
			if !tc.wantStart {
				if len(tc.sqs.started) > 0 {
					t.Errorf("a move task was started: %+v", tc.sqs.started)
				}
				return
			}
			want := []awssqs.StartMessageMoveTaskInput{{SourceArn: aws.String(fakeDLQARN), DestinationArn: aws.String(fakeQueueARN)}}
			if diff := cmp.Diff(want, tc.sqs.started, cmp.AllowUnexported(awssqs.StartMessageMoveTaskInput{})); diff != "" {
				t.Errorf("StartMessageMoveTask (-want +got):\n%s", diff)
			}
		})
	}
}
