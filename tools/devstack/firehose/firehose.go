// Package firehose is devstack's archiver: it delivers every record of the
// stream, poison ones included, to the permanent archive (libs/archive) the
// way an Amazon Data Firehose delivery stream with the stream as its source
// and S3 as its destination does on AWS:
//
//   - It is a consumer of its own: it reads every shard from checkpoints of
//     its own, apart from the event source mappings' (Lambda's position
//     and Firehose's never wait for each other).
//   - It buffers by size and interval (an archive.Buffer: full at MaxBytes
//     of lines, due Interval after its first record) and writes each
//     buffer as one gzip-compressed object of the archive layout, under the
//     UTC hour of its oldest record.
//   - It checkpoints only what is durable: after an object's Put returned,
//     every shard's checkpoint moves to the last record read, all of which
//     are in that object or an earlier one. A killed process therefore
//     loses nothing: the next Run reads again from the checkpoints, and the
//     records of an object written but not yet checkpointed are archived a
//     second time (readers remove duplicates; replay is idempotent).
//   - A failed write is retried with backoff, every record kept (the next
//     attempt writes the same key, so a write that did land is replaced,
//     not duplicated); while writes fail, reading stops once MaxPending
//     bytes of lines wait, and the rest stays on the stream.
//   - On a graceful stop (ctx done) it writes what it holds and
//     checkpoints before Run returns.
//
// # Retention
//
// The stream trims records by age whether or not they were archived, as
// Kinesis does. The archiver keeps up easily (an object per interval, a
// write and a checkpoint), but while it is stopped, or cannot write, records
// age. Status reports, per shard, how far the archive is (archivedUpTo) and
// the age of the oldest record read but not yet durable (lagMs). The
// archiver logs an error once that age passes half the stream's retention
// (Options.Retention). A source that can tell what retention trimmed before
// the archiver read it (an [Expirer], devstack's embedded stream) has those
// records counted as lost, loudly logged and kept in the checkpoint store,
// so the count survives a restart; with a source that cannot tell (Kinesis
// itself), only the lag warns.
package firehose

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/backoff"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
)

// Source is the stream the archiver reads: devstack's embedded stream, or
// a reader of Kinesis (awsbackend.Stream.Reader).
type Source interface {
	// Shards lists the shard ids.
	Shards() []string
	// Records returns up to limit records of shardID after sequence
	// number after ("" = from the trim horizon), in order.
	Records(shardID, after string, limit int) ([]stream.Stored, error)
	// Notify returns a channel closed at the next append (or poll).
	Notify() <-chan struct{}
}

// Expirer is a Source that can tell what retention trimmed before a
// consumer read it.
type Expirer interface {
	// Expired returns how many records of shardID after sequence number
	// after ("" = from the first) retention trimmed, and the sequence
	// number of the last of them ("" when none).
	Expired(shardID, after string) (n int64, last string, err error)
}

// Checkpoints stores where the archiver is in each shard: esm.BoltCheckpoints
// does.
type Checkpoints interface {
	// Checkpoint returns the value stored for shard under name, "" if none.
	Checkpoint(name, shard string) (string, error)
	// SetCheckpoint stores it.
	SetCheckpoint(name, shard, value string) error
}

// Options configure an Archiver.
type Options struct {
	// Name identifies the archiver's checkpoints (e.g. "archiver
	// <stream ARN>"); its lost-record counts are kept under Name+" lost".
	// Required.
	Name string
	// Writer begins every object name (archive.BufferOptions.Name), like a
	// Firehose stream's name, e.g. "devstack-dev". Required.
	Writer string
	// MaxBytes and Interval are the buffering hints (defaults
	// archive.DefaultMaxBytes, 5 MiB, and archive.DefaultInterval, 5 s).
	MaxBytes int
	Interval time.Duration
	// MaxPending bounds the lines (bytes) held while writes fail; reading
	// stops there (default 4 × MaxBytes).
	MaxPending int
	// ReadBatch is the most records one read asks for (default 10,000,
	// GetRecords' most).
	ReadBatch int
	// Retention is the stream's retention: an error is logged when the
	// archive lags behind by half of it. 0: no warning.
	Retention time.Duration
	// Backoff is the first delay before a failed write or read is retried,
	// doubled per failure up to MaxBackoff (defaults 100 ms and 5 s).
	Backoff, MaxBackoff time.Duration
	// StopTimeout bounds the last write on a graceful stop, three attempts
	// at most (default 30 s).
	StopTimeout time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives the archiver's lines (default: discarded).
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.MaxBytes == 0 {
		o.MaxBytes = archive.DefaultMaxBytes
	}
	if o.Interval == 0 {
		o.Interval = archive.DefaultInterval
	}
	if o.MaxPending == 0 {
		o.MaxPending = 4 * o.MaxBytes
	}
	if o.ReadBatch == 0 {
		o.ReadBatch = 10_000
	}
	if o.Backoff == 0 {
		o.Backoff = 100 * time.Millisecond
	}
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 5 * time.Second
	}
	if o.StopTimeout == 0 {
		o.StopTimeout = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
}

// Archiver delivers a stream to an archive. Run it once; Status may be
// called at any time, concurrently.
type Archiver struct {
	src    Source
	cps    Checkpoints
	buf    *archive.Buffer
	o      Options
	shards []string

	// Run's own: the read position of each shard (the last record added
	// to the buffer or skipped), when the buffer is due, and the write
	// retries.
	pos      map[string]string
	dueAt    time.Time
	failures int
	retryAt  time.Time

	mu    sync.Mutex
	state map[string]*shardState
	stats stats
}

type shardState struct {
	checkpoint string
	lost       int64
	// oldest is the arrival time of the oldest record read but not yet
	// durable; zero when none.
	oldest time.Time
	// warned: the lag error was logged, until the lag falls back.
	warned bool
}

type stats struct {
	objects, records, bytes int64
	last                    *Object
	unarchivable            int64
	lastError               string
	lastErrorAt             time.Time
}

// New returns an archiver of src into w, positioned at its checkpoints.
func New(src Source, cps Checkpoints, w archive.Writer, o Options) (*Archiver, error) {
	o.defaults()
	var errs []error
	if o.Name == "" {
		errs = append(errs, errors.New("name required"))
	}
	if o.MaxPending < o.MaxBytes {
		errs = append(errs, fmt.Errorf("MaxPending %d is below MaxBytes %d", o.MaxPending, o.MaxBytes))
	}
	if o.ReadBatch < 1 {
		errs = append(errs, fmt.Errorf("ReadBatch %d: want at least 1", o.ReadBatch))
	}
	buf, err := archive.NewBuffer(w, archive.BufferOptions{Name: o.Writer, MaxBytes: o.MaxBytes, Interval: o.Interval, Now: o.Now})
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("firehose: %w", err)
	}
	a := &Archiver{src: src, cps: cps, buf: buf, o: o, shards: src.Shards(),
		pos: map[string]string{}, state: map[string]*shardState{}}
	for _, sh := range a.shards {
		cp, err := cps.Checkpoint(o.Name, sh)
		if err != nil {
			return nil, fmt.Errorf("firehose: checkpoint of %s: %w", sh, err)
		}
		lost, err := a.loadLost(sh)
		if err != nil {
			return nil, err
		}
		a.pos[sh] = cp
		a.state[sh] = &shardState{checkpoint: cp, lost: lost}
	}
	return a, nil
}

func (a *Archiver) lostName() string { return a.o.Name + " lost" }

func (a *Archiver) loadLost(shard string) (int64, error) {
	v, err := a.cps.Checkpoint(a.lostName(), shard)
	if err != nil || v == "" {
		return 0, err
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("firehose: lost count of %s %q: %w", shard, v, err)
	}
	return n, nil
}

// Run archives until ctx is done, then writes what it holds, checkpoints
// and returns nil. Reads and writes that fail are retried with backoff
// (logged), never given up: the records wait on the stream.
func (a *Archiver) Run(ctx context.Context) error {
	readFailures := 0
	var readRetryAt time.Time
	for {
		notify := a.src.Notify()
		now := a.o.Now()
		read, stalled := 0, false
		if ctx.Err() == nil && !now.Before(readRetryAt) {
			for _, sh := range a.shards {
				if _, pending := a.buf.Pending(); pending >= a.o.MaxPending {
					stalled = true // writes are failing: leave the rest on the stream
					break
				}
				n, err := a.readShard(ctx, sh)
				read += n
				if err != nil {
					readFailures++
					delay := backoff.Jittered(readFailures, a.o.Backoff, a.o.MaxBackoff)
					readRetryAt = a.o.Now().Add(delay)
					a.o.Logger.Warn("archiver: reading the stream failed; retrying", "shard", sh,
						"retry_in", delay.String(), "error", err.Error())
					break
				}
				readFailures = 0
			}
		}
		if ctx.Err() != nil {
			a.stop()
			return nil
		}
		flushed := false
		if a.buf.Due() && !a.o.Now().Before(a.retryAt) {
			flushed = a.flush(ctx)
		}
		a.checkLag()
		_, pending := a.buf.Pending()
		stalled = stalled || pending >= a.o.MaxPending
		if pending < a.o.MaxPending && (read > 0 || stalled && flushed) {
			continue // there may be more to read at once
		}
		a.wait(ctx, notify, readRetryAt)
	}
}

// wait blocks until something may be done: an append, the buffer due, a
// retry, or ctx done.
func (a *Archiver) wait(ctx context.Context, notify <-chan struct{}, readRetryAt time.Time) {
	var next time.Time
	if n, _ := a.buf.Pending(); n > 0 {
		next = a.dueAt
		if a.retryAt.After(next) {
			next = a.retryAt
		}
	}
	if !readRetryAt.IsZero() && (next.IsZero() || readRetryAt.Before(next)) {
		next = readRetryAt
	}
	var timer <-chan time.Time
	if !next.IsZero() {
		t := time.NewTimer(max(next.Sub(a.o.Now()), time.Millisecond))
		defer t.Stop()
		timer = t.C
	}
	select {
	case <-ctx.Done():
	case <-notify:
	case <-timer:
	}
}

// readShard adds the records of sh after its position to the buffer,
// flushing whenever it is full, and returns how many it read.
func (a *Archiver) readShard(ctx context.Context, sh string) (int, error) {
	if err := a.checkExpired(sh); err != nil {
		return 0, err
	}
	recs, err := a.src.Records(sh, a.pos[sh], a.o.ReadBatch)
	if err != nil {
		return 0, err
	}
	read := 0
	for _, r := range recs {
		if n, _ := a.buf.Pending(); n == 0 {
			a.dueAt = a.o.Now().Add(a.o.Interval)
		}
		full, err := a.buf.Add(archive.Record{
			ShardID: r.ShardID, SequenceNumber: r.SequenceNumber, PartitionKey: r.PartitionKey,
			ArrivalTime: r.ArrivalTime, Data: r.Data,
		})
		a.pos[sh] = r.SequenceNumber
		read++
		if err != nil {
			// Only metadata the stream could not have issued (an invalid
			// sequence number or partition key) cannot be a line: the
			// record stays on the stream for its retention, counted.
			a.mu.Lock()
			a.stats.unarchivable++
			a.mu.Unlock()
			a.o.Logger.Error("archiver: a record cannot be archived", "shard", sh,
				"sequence_number", r.SequenceNumber, "error", err.Error())
			continue
		}
		a.mu.Lock()
		if st := a.state[sh]; st.oldest.IsZero() || r.ArrivalTime.Before(st.oldest) {
			st.oldest = r.ArrivalTime
		}
		a.mu.Unlock()
		if full && !a.o.Now().Before(a.retryAt) {
			a.flush(ctx)
		}
		if _, pending := a.buf.Pending(); pending >= a.o.MaxPending {
			break // writes are failing: the rest stays on the stream
		}
	}
	if n, _ := a.buf.Pending(); n == 0 {
		a.checkpoint() // skipped records only: nothing to write first
	}
	return read, nil
}

// checkExpired counts the records of sh that retention trimmed before they
// were read, and moves the position past them.
func (a *Archiver) checkExpired(sh string) error {
	exp, ok := a.src.(Expirer)
	if !ok {
		return nil
	}
	n, last, err := exp.Expired(sh, a.pos[sh])
	if err != nil || n == 0 {
		return err
	}
	a.mu.Lock()
	st := a.state[sh]
	st.lost += n
	total := st.lost
	a.mu.Unlock()
	a.o.Logger.Error("archiver: records expired from the stream before they were archived: they are lost to the archive",
		"shard", sh, "records", n, "after", a.pos[sh], "up_to", last, "retention", a.o.Retention.String(),
		"lost_in_all", total)
	// The count first: a crash before the position moves counts them
	// twice rather than never.
	if err := a.cps.SetCheckpoint(a.lostName(), sh, strconv.FormatInt(total, 10)); err != nil {
		a.o.Logger.Error("archiver: storing the lost count failed", "shard", sh, "error", err.Error())
	}
	a.pos[sh] = last
	return nil
}

// flush writes the buffer as one object and checkpoints. It reports
// whether the buffer is empty now.
func (a *Archiver) flush(ctx context.Context) bool {
	f, err := a.buf.Flush(ctx)
	if err != nil && ctx.Err() != nil {
		return false // stopping: stop writes it, with a context of its own
	}
	if err != nil {
		a.failures++
		delay := backoff.Jittered(a.failures, a.o.Backoff, a.o.MaxBackoff)
		a.retryAt = a.o.Now().Add(delay)
		n, size := a.buf.Pending()
		a.mu.Lock()
		same := a.stats.lastError == err.Error()
		a.stats.lastError, a.stats.lastErrorAt = err.Error(), a.o.Now()
		a.mu.Unlock()
		// Once per cause: a full disk fails every retry alike.
		level := slog.LevelWarn
		if same {
			level = slog.LevelDebug
		}
		a.o.Logger.Log(ctx, level, "archiver: writing an object failed; its records are kept and retried",
			"records", n, "bytes", size, "failures", a.failures, "retry_in", delay.String(), "error", err.Error())
		return false
	}
	if a.failures > 0 {
		a.o.Logger.Info("archiver: writing objects again", "after_failures", a.failures, "records", f.Records)
	}
	a.failures, a.retryAt = 0, time.Time{}
	a.mu.Lock()
	a.stats.lastError = ""
	a.mu.Unlock()
	if f.Records > 0 {
		a.mu.Lock()
		a.stats.objects++
		a.stats.records += int64(f.Records)
		a.stats.bytes += int64(f.Bytes)
		a.stats.last = &Object{Key: f.Key, Records: f.Records, Bytes: f.Bytes, WrittenAt: a.o.Now().UTC(),
			Oldest: f.Oldest, Newest: f.Newest}
		for _, st := range a.state {
			st.oldest = time.Time{}
		}
		a.mu.Unlock()
		a.o.Logger.Debug("archiver: object written", "key", f.Key, "records", f.Records, "bytes", f.Bytes)
	}
	a.checkpoint()
	return true
}

// checkpoint stores each shard's position, which the buffer, empty,
// holds nothing before. A checkpoint that cannot be stored is tried again
// at the next one: until then a restart archives those records again.
func (a *Archiver) checkpoint() {
	for _, sh := range a.shards {
		a.mu.Lock()
		st := a.state[sh]
		done := st.checkpoint == a.pos[sh]
		a.mu.Unlock()
		if done {
			continue
		}
		if err := a.cps.SetCheckpoint(a.o.Name, sh, a.pos[sh]); err != nil {
			a.o.Logger.Warn("archiver: checkpoint failed; stored at the next object", "shard", sh, "error", err.Error())
			continue
		}
		a.mu.Lock()
		st.checkpoint = a.pos[sh]
		a.mu.Unlock()
	}
}

// stop writes what the buffer holds, within StopTimeout, and checkpoints.
func (a *Archiver) stop() {
	n, _ := a.buf.Pending()
	if n == 0 {
		a.checkpoint()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.o.StopTimeout)
	defer cancel()
	// A few attempts: a blip passes, a full disk does not, and the
	// records are safe on the stream either way.
	for attempt := 1; !a.flush(ctx); attempt++ {
		if attempt == 3 || !backoff.Sleep(ctx, a.retryAt.Sub(a.o.Now())) {
			a.o.Logger.Error("archiver: stopped with records not written; they are archived at the next start",
				"records", n)
			return
		}
	}
}

// checkLag logs an error when a shard's oldest record not yet archived is
// older than half the retention.
func (a *Archiver) checkLag() {
	if a.o.Retention <= 0 {
		return
	}
	now := a.o.Now()
	for _, sh := range a.shards {
		a.mu.Lock()
		st := a.state[sh]
		lag := time.Duration(0)
		if !st.oldest.IsZero() {
			lag = now.Sub(st.oldest)
		}
		warn := lag > a.o.Retention/2 && !st.warned
		switch {
		case warn:
			st.warned = true
		case lag < a.o.Retention/4:
			st.warned = false
		}
		a.mu.Unlock()
		if warn {
			a.o.Logger.Error("archiver: falling behind: records will expire from the stream before they are archived",
				"shard", sh, "lag", lag.Round(time.Second).String(), "retention", a.o.Retention.String(),
				"expire_in", (a.o.Retention - lag).Round(time.Second).String())
		}
	}
}

// Object is an object the archiver wrote.
type Object struct {
	Key     string `json:"key"`
	Records int    `json:"records"`
	// Bytes is its stored (compressed) size.
	Bytes     int       `json:"bytes"`
	WrittenAt time.Time `json:"writtenAt"`
	// Oldest and Newest are its records' earliest and latest arrival
	// times.
	Oldest time.Time `json:"oldest"`
	Newest time.Time `json:"newest"`
}

// Status is what the archiver has done.
type Status struct {
	// Objects, Records and Bytes count what was written since New.
	Objects int64 `json:"objects"`
	Records int64 `json:"records"`
	Bytes   int64 `json:"bytes"`
	// LastObject is the newest object written since New (nil: none yet);
	// its WrittenAt is the last flush.
	LastObject *Object `json:"lastObject"`
	// PendingRecords and PendingBytes are read and buffered, not yet
	// written.
	PendingRecords int `json:"pendingRecords"`
	PendingBytes   int `json:"pendingBytes"`
	// Lost counts the records retention trimmed before they were
	// archived, ever (see Expirer); Unarchivable those whose metadata
	// could not be a line.
	Lost         int64 `json:"lost"`
	Unarchivable int64 `json:"unarchivable"`
	// LastError is why the last write failed, while writes fail.
	LastError   string        `json:"lastError,omitempty"`
	LastErrorAt *time.Time    `json:"lastErrorAt,omitempty"`
	Shards      []ShardStatus `json:"shards"`
}

// ShardStatus is one shard's archiving.
type ShardStatus struct {
	ShardID string `json:"shardId"`
	// ArchivedUpTo is the checkpoint: the records up to this sequence
	// number are in the archive ("" = none yet).
	ArchivedUpTo string `json:"archivedUpTo"`
	// LagMs is the age of the oldest record read but not yet in the
	// archive (0 when there is none).
	LagMs int64 `json:"lagMs"`
	// Lost counts this shard's records that expired unarchived.
	Lost int64 `json:"lost"`
}

// Status describes the archiver now.
func (a *Archiver) Status() Status {
	n, size := a.buf.Pending()
	now := a.o.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	s := Status{Objects: a.stats.objects, Records: a.stats.records, Bytes: a.stats.bytes,
		PendingRecords: n, PendingBytes: size, Unarchivable: a.stats.unarchivable, LastError: a.stats.lastError}
	if a.stats.last != nil {
		last := *a.stats.last
		s.LastObject = &last
	}
	if s.LastError != "" {
		at := a.stats.lastErrorAt.UTC()
		s.LastErrorAt = &at
	}
	for _, sh := range a.shards {
		st := a.state[sh]
		ss := ShardStatus{ShardID: sh, ArchivedUpTo: st.checkpoint, Lost: st.lost}
		if !st.oldest.IsZero() {
			ss.LagMs = max(0, now.Sub(st.oldest).Milliseconds())
		}
		s.Lost += st.lost
		s.Shards = append(s.Shards, ss)
	}
	return s
}
