package kinesis

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"

	"github.com/scrape-pipeline/scrape-pipeline/libs/backoff"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
)

// keyQueue holds the records of one partition key that still wait to be
// accepted, in input order; only the head is ever in flight.
type keyQueue struct {
	key     string
	pending []int
	// attempts of the head record, and its last refusal.
	attempts int
	code     string
	message  string
}

// publishRun is the state of one Publish call.
type publishRun struct {
	s      *Stream
	recs   []stream.Record
	res    stream.Result
	failed []stream.Failure
	// queues of the keys with records still pending.
	queues []*keyQueue
}

// Publish implements stream.Publisher; see the package documentation for
// how batches, resends and per-key order work. Failures come back in input
// order. The error is non-nil only if a call failed in a way that no resend
// can fix (stream missing, access denied, bad configuration) before any
// record was accepted; the records are then all reported as failed too.
func (s *Stream) Publish(ctx context.Context, recs []stream.Record) (stream.Result, error) {
	if s.opts.StreamARN == "" && s.opts.StreamName == "" {
		return stream.Result{}, errors.New("kinesis publish: no stream name or ARN configured")
	}
	run := &publishRun{s: s, recs: recs}
	run.queues = run.enqueue()
	err := run.send(ctx)
	slices.SortFunc(run.failed, func(a, b stream.Failure) int { return a.Index - b.Index })
	run.res.Failed = run.failed
	return run.res, err
}

// enqueue checks each record against the Kinesis limits and queues the
// valid ones per key. An invalid record fails at once and blocks its key.
func (r *publishRun) enqueue() []*keyQueue {
	byKey := map[string]*keyQueue{}
	blocked := map[string]int{} // key → index of the record that failed
	var queues []*keyQueue
	for i, rec := range r.recs {
		if first, ok := blocked[rec.PartitionKey]; ok {
			r.fail(i, CodeBlocked, fmt.Sprintf("record %d of the same partition key was not published", first))
			continue
		}
		if msg := invalid(rec); msg != "" {
			r.fail(i, CodeInvalid, msg)
			blocked[rec.PartitionKey] = i
			continue
		}
		q := byKey[rec.PartitionKey]
		if q == nil {
			q = &keyQueue{key: rec.PartitionKey}
			byKey[rec.PartitionKey] = q
			queues = append(queues, q)
		}
		q.pending = append(q.pending, i)
	}
	return queues
}

// invalid says why rec breaks a Kinesis limit, or "".
func invalid(rec stream.Record) string {
	switch n := utf8.RuneCountInString(rec.PartitionKey); {
	case n == 0:
		return "empty partition key"
	case n > MaxPartitionKeyLen:
		return fmt.Sprintf("partition key of %d characters exceeds %d", n, MaxPartitionKeyLen)
	case !utf8.ValidString(rec.PartitionKey):
		return "partition key is not valid UTF-8"
	}
	if size := entrySize(rec); size > MaxRecordBytes {
		return fmt.Sprintf("record of %d bytes (data and partition key) exceeds %d", size, MaxRecordBytes)
	}
	return ""
}

func entrySize(rec stream.Record) int { return len(rec.Data) + len(rec.PartitionKey) }

func (r *publishRun) fail(i int, code, msg string) {
	r.failed = append(r.failed, stream.Failure{Index: i, Code: code, Message: msg})
}

// failKey fails every pending record of q: the head with code and msg, the
// rest as blocked behind it.
func (r *publishRun) failKey(q *keyQueue, code, msg string) {
	if len(q.pending) == 0 {
		return
	}
	head := q.pending[0]
	r.fail(head, code, msg)
	for _, i := range q.pending[1:] {
		r.fail(i, CodeBlocked, fmt.Sprintf("record %d of the same partition key was not published", head))
	}
	q.pending = nil
}

// send runs rounds of PutRecords until every queue is empty.
func (r *publishRun) send(ctx context.Context) error {
	s := r.s
	refusedRounds := 0
	for {
		r.queues = slices.DeleteFunc(r.queues, func(q *keyQueue) bool { return len(q.pending) == 0 })
		queues := r.queues
		if len(queues) == 0 {
			return nil
		}
		if ctx.Err() != nil {
			r.abandonCtx(ctx)
			return nil
		}
		// Oldest records first, so that a key with many records does not
		// starve the others.
		slices.SortFunc(queues, func(a, b *keyQueue) int { return a.pending[0] - b.pending[0] })
		batch := r.batch(queues)
		refused, err := r.put(ctx, batch)
		if err != nil {
			return err
		}
		if !refused {
			refusedRounds = 0
			continue
		}
		refusedRounds++
		if !backoff.Sleep(ctx, s.backoff(refusedRounds)) {
			r.abandonCtx(ctx)
			return nil
		}
	}
}

// abandonCtx fails every pending record because ctx ended or its deadline
// is too close for another round.
func (r *publishRun) abandonCtx(ctx context.Context) {
	for _, q := range r.queues {
		if len(q.pending) == 0 {
			continue
		}
		msg := "context ended before the record was accepted"
		if ctx.Err() == nil {
			msg = "context deadline too close for another attempt"
		}
		if q.code != "" {
			msg += " (last refusal: " + q.code + ": " + q.message + ")"
		}
		r.failKey(q, ctxCode(ctx), msg)
	}
}

// batch takes the head record of as many queues as fit in one call.
func (r *publishRun) batch(queues []*keyQueue) []*keyQueue {
	s := r.s
	var batch []*keyQueue
	size := 0
	for _, q := range queues {
		es := entrySize(r.recs[q.pending[0]])
		if len(batch) == s.opts.MaxBatchRecords {
			break
		}
		if size+es > s.opts.MaxBatchBytes {
			continue // a smaller record of another key may still fit
		}
		batch = append(batch, q)
		size += es
	}
	if len(batch) == 0 {
		// Only when MaxBatchBytes was set below a record's size: send it
		// alone rather than never.
		batch = queues[:1]
	}
	return batch
}

// put sends the head records of batch in one PutRecords call and settles
// each: accepted heads leave their queue, refused ones stay for a resend
// unless their attempts are spent. It reports whether any head was refused
// and will be resent. The error is non-nil only when the call failed for
// good before anything was published.
func (r *publishRun) put(ctx context.Context, batch []*keyQueue) (refused bool, err error) {
	s := r.s
	in := &kinesis.PutRecordsInput{Records: make([]types.PutRecordsRequestEntry, len(batch))}
	if s.opts.StreamARN != "" {
		in.StreamARN = aws.String(s.opts.StreamARN)
	} else {
		in.StreamName = aws.String(s.opts.StreamName)
	}
	for j, q := range batch {
		rec := r.recs[q.pending[0]]
		in.Records[j] = types.PutRecordsRequestEntry{PartitionKey: aws.String(rec.PartitionKey), Data: rec.Data}
		q.attempts++
	}
	out, err := s.client.PutRecords(ctx, in)
	if err == nil && len(out.Records) != len(batch) {
		err = fmt.Errorf("kinesis PutRecords: %d result entries for %d records", len(out.Records), len(batch))
		// A malformed answer is not worth resending into.
		for _, q := range batch {
			r.failKey(q, "MalformedResponse", err.Error())
		}
		return false, nil
	}
	if err != nil {
		code := errorCode(err)
		if code == "" {
			code = "RequestFailed"
		}
		if ctx.Err() != nil {
			// The caller's time ran out during the call: the records fail
			// as they do when it runs out between calls, and it is no
			// fault of the stream's (Publish's error is for that).
			r.abandonCtx(ctx)
			return false, nil
		}
		if Transient(err) {
			for _, q := range batch {
				q.code, q.message = code, err.Error()
				if q.attempts >= s.opts.MaxAttempts {
					r.failKey(q, code, fmt.Sprintf("%s (after %d attempts)", err, q.attempts))
				} else {
					refused = true
				}
			}
			return refused, nil
		}
		// Permanent: the same call can only fail again, for every key.
		return false, r.abandon(code, err)
	}
	for j, q := range batch {
		e := out.Records[j]
		if e.ErrorCode == nil {
			r.res.Published++
			q.pending = q.pending[1:]
			q.attempts, q.code, q.message = 0, "", ""
			continue
		}
		q.code, q.message = *e.ErrorCode, aws.ToString(e.ErrorMessage)
		if !retryableCodes[q.code] || q.attempts >= s.opts.MaxAttempts {
			r.failKey(q, q.code, fmt.Sprintf("%s (after %d attempts)", q.message, q.attempts))
			continue
		}
		refused = true
	}
	return refused, nil
}

// abandon fails every record still pending after a permanent call error.
// It returns the error if nothing was published at all (the stream is
// missing, access is denied, …): the caller's configuration is wrong.
func (r *publishRun) abandon(code string, err error) error {
	for _, q := range r.queues {
		r.failKey(q, code, err.Error())
	}
	if r.res.Published == 0 {
		return fmt.Errorf("kinesis PutRecords: %w", err)
	}
	return nil
}
