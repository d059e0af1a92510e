package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/kinesis"
	"github.com/scrape-pipeline/scrape-pipeline/tools/replay/replay"
)

// TestRedriveFromTheDeadLetterQueue: the tables fail long enough for the
// processor mapping's retries to run out (its batches go to the
// on-failure queue) and for the error sink to fail every receive of them
// (they go to the dead-letter queue). Then devstack stops, tools/replay
// redrives (the dead-letter queue back to the on-failure queue), and the
// restarted devstack's error sink stores those records: every record on
// the stream is projected or listed in errors, none lost. A second
// redrive, the fix being in, projects them all but the poison.
//
// The tables fail with EIO, a write error that is not a full disk: a full
// disk throttles the mappings instead, spending no retries (TestFullDisk).
func TestRedriveFromTheDeadLetterQueue(t *testing.T) {
	t.Parallel() // mostly waiting: beside the other parallel end-to-end test
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Suffix = "redrive"
	// Records wait for their batch a while: those the scrape publishes
	// last are still waiting when the tables start failing.
	cfg.BatchingWindow = time.Second
	// The error sink's failed receives come back at once: five of them,
	// the queue's maxReceiveCount, take half a second, not half a minute.
	cfg.errorsinkVisibility = 100 * time.Millisecond
	var failing atomic.Bool
	tables := filepath.Join(dir, "tables.db")
	cfg.diskFault = func(path string) error {
		if failing.Load() && path == tables {
			return &fs.PathError{Op: "write", Path: path, Err: syscall.EIO}
		}
		return nil
	}
	st := startStack(t, cfg)
	c := client{t, st.APIURL()}

	var sc scrapeView
	c.json("POST", "/scrape", nil, http.StatusAccepted, &sc)
	failing.Store(true)
	// Records that certainly reach the processor while the tables fail:
	// films of a run of their own, and a poison record.
	const extraRun = "run-redrive-extra"
	var extraIDs []string
	for i := range 3 {
		id := fmt.Sprintf("redrive-film-%d-2026", i)
		raw, err := events.Encode(events.NewMovieObserved(extraRun, "https://films.example.org/site/chart", time.Now().UTC(), id,
			events.MovieObserved{Title: fmt.Sprintf("Redrive Film %d", i), Year: 2026, Rating: events.Rating{Value: 7, Votes: 10}}))
		if err != nil {
			t.Fatal(err)
		}
		c.json("POST", "/_devstack/records", map[string]string{"partitionKey": id, "data": string(raw)}, http.StatusCreated, nil)
		extraIDs = append(extraIDs, id)
	}
	c.json("POST", "/_devstack/records", map[string]string{"partitionKey": "poison", "data": "not an event"}, http.StatusCreated, nil)

	var dead int
	waitFor(t, "every failed batch in the dead-letter queue", func() bool {
		q := c.queues()
		var toOnFailure int64
		for _, sh := range q.Stream.Shards {
			toOnFailure += sh.BatchesToOnFailure
		}
		dead = q.DeadLetterQueue.Visible
		return q.caughtUp() && toOnFailure > 0 && q.OnFailureQueue.Visible+q.OnFailureQueue.InFlight == 0 &&
			int64(dead) == toOnFailure
	})
	failing.Store(false)
	st.stop()

	// The redrive moves the dead letters back; nothing is in errors yet.
	rep := redrive(t, dir, cfg.Suffix)
	if rep.Moved != int64(dead) || rep.Open != 0 {
		t.Errorf("redrive: %+v, want %d messages moved and no open error", rep, dead)
	}

	st = startStack(t, cfg)
	c = client{t, st.APIURL()}
	waitFor(t, "the error sink to store the redriven batches", func() bool {
		q := c.queues()
		return q.ErrorsinkMapping.Deleted >= int64(dead) && q.OnFailureQueue.Visible+q.OnFailureQueue.InFlight == 0 &&
			q.DeadLetterQueue.Visible+q.DeadLetterQueue.InFlight == 0
	})

	// Every record on the stream is projected or listed in errors.
	recs, err := st.stream.(guardedStream).streamBackend.(*kinesis.Stream).ReadAll(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]apiError{} // by shard and sequence number
	for _, e := range listAll[apiError](c, "/errors?limit=100") {
		listed[e.ShardID+"/"+e.SequenceNumber] = e
	}
	type counts struct{ projected, failed int }
	perRun := map[string]*counts{sc.RunID: {}, extraRun: {}}
	errored := 0
	for _, r := range recs {
		e, inErrors := listed[r.ShardID+"/"+r.SequenceNumber]
		if inErrors {
			errored++
			delete(listed, r.ShardID+"/"+r.SequenceNumber)
		}
		ev, err := events.Decode(r.Data)
		switch {
		case err != nil:
			if !inErrors || e.Stage != string(store.StageDecode) {
				t.Errorf("poison record %s/%s: listed %v (%+v), want in errors with stage decode", r.ShardID, r.SequenceNumber, inErrors, e)
			}
		case inErrors:
			if e.Stage != string(store.StageRetriesExhausted) || e.EventID != ev.ID || e.RunID != ev.RunID {
				t.Errorf("record %s/%s (%s %s) listed as %+v, want stage retries_exhausted with its ids", r.ShardID, r.SequenceNumber, ev.Type(), ev.ID, e)
			}
			if ev.Type() == events.TypeMovieObserved {
				perRun[ev.RunID].failed++
			}
		case ev.Type() == events.TypeMovieObserved:
			perRun[ev.RunID].projected++
			if status, _, _ := c.do("GET", "/movies/"+ev.Subject, nil); status != http.StatusOK {
				t.Errorf("movie %s: GET = %d, neither projected nor in errors", ev.Subject, status)
			}
		default: // a run event, projected
			var run apiRun
			c.json("GET", "/runs/"+ev.RunID, nil, http.StatusOK, &run)
			if run.StartedAt.IsZero() || (ev.Type() == events.TypeScrapeCompleted && !run.Completed) {
				t.Errorf("%s of run %s neither projected nor in errors: the run is %+v", ev.Type(), ev.RunID, run)
			}
		}
	}
	if len(listed) != 0 {
		t.Errorf("error items of no record on the stream: %+v", listed)
	}
	for id, n := range perRun {
		var run apiRun
		c.json("GET", "/runs/"+id, nil, http.StatusOK, &run)
		if run.Processed != n.projected || run.Failed != n.failed {
			t.Errorf("run %s counts %d processed and %d failed; the stream has %d of its films projected and %d in errors",
				id, run.Processed, run.Failed, n.projected, n.failed)
		}
	}
	if got := perRun[sc.RunID].projected + perRun[sc.RunID].failed; got != 250 {
		t.Errorf("the scrape's films on the stream: %d projected + %d in errors, want 250", perRun[sc.RunID].projected, perRun[sc.RunID].failed)
	}
	if perRun[extraRun].failed != len(extraIDs) {
		t.Errorf("%d of the films put while the tables failed are in errors, want %d", perRun[extraRun].failed, len(extraIDs))
	}
	t.Logf("%d records on the stream, %d of them in errors (%d batches went through the dead-letter queue); the scrape's films: %+v",
		len(recs), errored, dead, *perRun[sc.RunID])
	c.waitArchived()
	st.stop()

	// With the tables fixed, a redrive projects every record but the
	// poison, and moves the runs' counts from failed to processed.
	rep = redrive(t, dir, cfg.Suffix)
	if rep.Open != errored || rep.Resolved != errored-1 || rep.StillFailing != 1 || rep.Moved != 0 {
		t.Errorf("second redrive: %+v, want %d open, all resolved but the poison, nothing moved", rep, errored)
	}
	got := readTables(t, dir)
	if r := got.Runs[sc.RunID]; r.Processed != 250 || r.Failed != 0 || r.Status != store.RunCompleted {
		t.Errorf("after the second redrive the scrape's run is %+v, want completed with 250 processed", r)
	}
	if r := getRun(t, dir, extraRun); r.Processed != len(extraIDs) || r.Failed != 0 {
		t.Errorf("after the second redrive run %s is %+v, want %d processed", extraRun, r, len(extraIDs))
	}
	if n := len(got.Movies); n != 250+len(extraIDs) {
		t.Errorf("%d movies after the second redrive, want %d", n, 250+len(extraIDs))
	}
	for id, e := range got.Errors {
		if e.Resolved == (e.Stage == store.StageDecode) {
			t.Errorf("error item %s (%s) resolved %v after the second redrive: want only the poison open", id, e.Stage, e.Resolved)
		}
	}

	// The redriven tables are those the archive gives: as the README
	// says, redrive, then verify.
	var out bytes.Buffer
	tool, err := replay.New(t.Context(), replay.Options{Archive: filepath.Join(dir, "archive"), Data: filepath.Join(t.TempDir(), "rebuilt"),
		Verify: dir, Out: &out, Logger: replayLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer tool.Close()
	if _, err := tool.Run(t.Context()); err != nil {
		t.Errorf("replay --verify after the redrive: %v\n%s", err, out.String())
	}
}

// redrive runs tools/replay's redrive on a stopped devstack's data
// directory, as `replay --redrive --data DIR --suffix S` does.
func redrive(t *testing.T, dir, suffix string) replay.RedriveReport {
	t.Helper()
	var out bytes.Buffer
	tool, err := replay.New(t.Context(), replay.Options{Redrive: true, Data: dir, Suffix: suffix, Out: &out,
		Logger: replayLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer tool.Close()
	rep, err := tool.Run(t.Context())
	t.Logf("redrive:\n%s", out.String())
	if err != nil || rep.Redrive == nil {
		t.Fatalf("redrive: %v", err)
	}
	return *rep.Redrive
}

// replayLogger is tools/replay's logger in a test: errors only (the
// processor it runs logs every poison record), into the test's log.
func replayLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelError}))
}
