package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/esm"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/sqs"
)

// codeInsufficientStorage is the error code of a 507: the data directory
// has no space left (or the user's quota is used up).
const codeInsufficientStorage = "insufficient_storage"

// storageHealth is whether devstack can write to its data directory.
//
// Every write to the data directory (tables, stream, checkpoints, queues,
// archive) goes through write. A write that fails for lack of space marks
// the storage failing and becomes a 507 *httpx.Error wrapping the file
// system's error: the services' handlers send an *httpx.Error anywhere in
// an error's chain as it is, so a client learns why and what to do rather
// than getting a bare 500, and the log keeps the cause. Reads are never
// refused. While the storage fails, the event source mappings are
// throttled (Throttled): nothing they could invoke would store its
// results, and they must not spend retries on it. Every second watch
// tries the smallest writes devstack has (probe); once they succeed the
// storage is writable again and everything resumes by itself.
type storageHealth struct {
	dir string
	log *slog.Logger
	now func() time.Time
	// fault, when set (tests), is called before every write with the
	// file written; an error it returns is that write's, as if the file
	// system had returned it.
	fault func(path string) error

	mu    sync.Mutex
	err   error // the last no-space failure; nil while writable
	since time.Time
}

// storageStatus is the storage in GET /_devstack/status.
type storageStatus struct {
	OK      bool   `json:"ok"`
	DataDir string `json:"dataDir"`
	// Error and Since tell why writes fail and since when; absent while
	// OK.
	Error string     `json:"error,omitempty"`
	Since *time.Time `json:"since,omitempty"`
}

// write runs fn, a write to path under the data directory, and returns its
// error as observe makes it.
func (h *storageHealth) write(path string, fn func() error) error {
	if h.fault != nil {
		if err := h.fault(path); err != nil {
			return h.observe(err)
		}
	}
	return h.observe(fn())
}

// observe returns err, or for a no-space error the 507 for it, and marks
// the storage failing.
func (h *storageHealth) observe(err error) error {
	cause, ok := noSpace(err)
	if !ok {
		return err
	}
	h.mu.Lock()
	first := h.err == nil
	if first {
		h.since = h.now()
	}
	h.err = err
	h.mu.Unlock()
	if first {
		h.log.Error("no space left for the data directory: writes are refused with 507 and the mappings wait; reads go on. Free some space: devstack resumes by itself",
			"data", h.dir, "error", err.Error())
	}
	return &httpx.Error{Status: http.StatusInsufficientStorage, Code: codeInsufficientStorage,
		Message: fmt.Sprintf("devstack's data directory %s has no space left (%s): free some space there; devstack resumes by itself", h.dir, cause),
		Err:     err}
}

// Throttled is esm.Options.Throttled: why no function can be invoked now.
func (h *storageHealth) Throttled() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.err == nil {
		return nil
	}
	return fmt.Errorf("no space left for the data directory %s: %w", h.dir, h.err)
}

func (h *storageHealth) status() storageStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := storageStatus{OK: h.err == nil, DataDir: h.dir}
	if h.err != nil {
		since := h.since.UTC()
		s.Error, s.Since = h.err.Error(), &since
	}
	return s
}

// watch calls probe every second while the storage fails, until ctx is
// done; when probe succeeds the storage is writable again.
func (h *storageHealth) watch(ctx context.Context, probe func(context.Context) error) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.mu.Lock()
		failing, since := h.err != nil, h.since
		h.mu.Unlock()
		if !failing {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := probe(pctx)
		cancel()
		if err != nil {
			continue
		}
		h.mu.Lock()
		h.err = nil
		h.mu.Unlock()
		h.log.Info("the data directory is writable again: writes accepted, the mappings resume",
			"data", h.dir, "failed_for", h.now().Sub(since).Round(time.Second).String())
	}
}

// probeHost is the host of the lease the storage probe writes: a name
// under .invalid, which no real host has (RFC 2606).
const probeHost = "devstack-storage-probe.invalid"

// The guarded backends below are the data directory's writers, with every
// write going through storageHealth.write.

// guardedStore is the tables. It lists every method of store.Store (no
// embedding): a write added to the port must be guarded here to compile.
type guardedStore struct {
	next store.Store
	h    *storageHealth
	path string
}

var _ store.Store = guardedStore{}

func (g guardedStore) ApplyMovie(ctx context.Context, m store.Movie) (o store.Outcome, err error) {
	err = g.h.write(g.path, func() (err error) { o, err = g.next.ApplyMovie(ctx, m); return err })
	return o, err
}

func (g guardedStore) GetMovie(ctx context.Context, id string) (store.Movie, error) {
	return g.next.GetMovie(ctx, id)
}

func (g guardedStore) ListMovies(ctx context.Context, f store.MovieFilter, limit int, token store.PageToken) (store.Page[store.Movie], error) {
	return g.next.ListMovies(ctx, f, limit, token)
}

func (g guardedStore) RecordObservation(ctx context.Context, o store.Observation) error {
	return g.h.write(g.path, func() error { return g.next.RecordObservation(ctx, o) })
}

func (g guardedStore) ListHistory(ctx context.Context, movieID string, f store.HistoryFilter, limit int, token store.PageToken) (store.Page[store.Observation], error) {
	return g.next.ListHistory(ctx, movieID, f, limit, token)
}

func (g guardedStore) StartRun(ctx context.Context, r store.Run) error {
	return g.h.write(g.path, func() error { return g.next.StartRun(ctx, r) })
}

func (g guardedStore) CompleteRun(ctx context.Context, r store.Run) error {
	return g.h.write(g.path, func() error { return g.next.CompleteRun(ctx, r) })
}

func (g guardedStore) CountEvent(ctx context.Context, runID, eventID string, c store.Counter, digest string) (ok bool, err error) {
	err = g.h.write(g.path, func() (err error) { ok, err = g.next.CountEvent(ctx, runID, eventID, c, digest); return err })
	return ok, err
}

func (g guardedStore) FailEvent(ctx context.Context, runID, eventID string, e store.ErrorItem) (ok bool, err error) {
	err = g.h.write(g.path, func() (err error) { ok, err = g.next.FailEvent(ctx, runID, eventID, e); return err })
	return ok, err
}

func (g guardedStore) GetRun(ctx context.Context, id string) (store.Run, error) {
	return g.next.GetRun(ctx, id)
}

func (g guardedStore) ListRuns(ctx context.Context, f store.RunFilter, limit int, token store.PageToken) (store.Page[store.Run], error) {
	return g.next.ListRuns(ctx, f, limit, token)
}

func (g guardedStore) AcquireLease(ctx context.Context, host, holder string, now time.Time, ttl time.Duration) (ok bool, retryAfter time.Duration, err error) {
	err = g.h.write(g.path, func() (err error) {
		ok, retryAfter, err = g.next.AcquireLease(ctx, host, holder, now, ttl)
		return err
	})
	return ok, retryAfter, err
}

func (g guardedStore) PageState(ctx context.Context, url string) (store.PageState, error) {
	return g.next.PageState(ctx, url)
}

func (g guardedStore) PutPageState(ctx context.Context, s store.PageState) error {
	return g.h.write(g.path, func() error { return g.next.PutPageState(ctx, s) })
}

func (g guardedStore) PutError(ctx context.Context, e store.ErrorItem) error {
	return g.h.write(g.path, func() error { return g.next.PutError(ctx, e) })
}

func (g guardedStore) GetError(ctx context.Context, id string) (store.ErrorItem, error) {
	return g.next.GetError(ctx, id)
}

func (g guardedStore) ListErrors(ctx context.Context, limit int, token store.PageToken) (store.Page[store.ErrorItem], error) {
	return g.next.ListErrors(ctx, limit, token)
}

func (g guardedStore) ResolveError(ctx context.Context, id string, at time.Time) (ok bool, err error) {
	err = g.h.write(g.path, func() (err error) { ok, err = g.next.ResolveError(ctx, id, at); return err })
	return ok, err
}

// guardedStream is the stream: its appends are writes.
type guardedStream struct {
	streamBackend
	h    *storageHealth
	path string
}

func (g guardedStream) Publish(ctx context.Context, recs []stream.Record) (res stream.Result, err error) {
	err = g.h.write(g.path, func() (err error) { res, err = g.streamBackend.Publish(ctx, recs); return err })
	return res, err
}

func (g guardedStream) PutRecord(ctx context.Context, r stream.Record) (shardID, seq string, err error) {
	err = g.h.write(g.path, func() (err error) { shardID, seq, err = g.streamBackend.PutRecord(ctx, r); return err })
	return shardID, seq, err
}

// guardedQueue is a queue: sending, receiving (which counts the receive)
// and deleting are writes.
type guardedQueue struct {
	queueBackend
	h    *storageHealth
	path string
}

func (g guardedQueue) Send(ctx context.Context, body []byte) error {
	return g.h.write(g.path, func() error { return g.queueBackend.Send(ctx, body) })
}

func (g guardedQueue) Receive(limit int, visibility time.Duration) (msgs []sqs.Message, err error) {
	err = g.h.write(g.path, func() (err error) { msgs, err = g.queueBackend.Receive(limit, visibility); return err })
	return msgs, err
}

func (g guardedQueue) Delete(receiptHandle string) error {
	return g.h.write(g.path, func() error { return g.queueBackend.Delete(receiptHandle) })
}

// guardedCheckpoints are the mappings' and the archiver's checkpoints.
type guardedCheckpoints struct {
	esm.Checkpoints
	h    *storageHealth
	path string
}

func (g guardedCheckpoints) SetCheckpoint(mapping, shard, seq string) error {
	return g.h.write(g.path, func() error { return g.Checkpoints.SetCheckpoint(mapping, shard, seq) })
}

// guardedArchive is the archive.
type guardedArchive struct {
	archive.Writer
	h    *storageHealth
	path string
}

func (g guardedArchive) Put(ctx context.Context, key string, body []byte) error {
	return g.h.write(g.path, func() error { return g.Writer.Put(ctx, key, body) })
}
