package main

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
)

// TestFullDisk: with no space left under --data, writes are answered 507
// insufficient_storage naming the directory and the cause, reads go on,
// the status says so, the mappings wait without spending retries; once
// space is back devstack resumes by itself, and records that were on the
// stream are projected and archived: nothing is lost.
//
// The disk is not filled for real: every write to the data directory goes
// through the stack's storage health, and the test makes it fail there as
// the file system does (an *fs.PathError wrapping ENOSPC, what bbolt and
// the archive's directory adapter return on a full disk).
func TestFullDisk(t *testing.T) {
	t.Parallel() // mostly waiting on the batching window
	var full atomic.Bool
	dir := t.TempDir()
	cfg := testConfig(dir)
	// The records put below wait this long for their batch: the disk
	// fills before the processor is invoked with them.
	cfg.BatchingWindow = 500 * time.Millisecond
	cfg.diskFault = func(path string) error {
		if full.Load() {
			return &fs.PathError{Op: "write", Path: path, Err: syscall.ENOSPC}
		}
		return nil
	}
	st := startStack(t, cfg)
	c := client{t, st.APIURL()}

	var ids []string
	for i := range 3 {
		id := fmt.Sprintf("full-disk-film-%d-2024", i)
		e := events.NewMovieObserved("run-full-disk", "https://films.example.org/site/chart", time.Now().UTC(), id,
			events.MovieObserved{Title: fmt.Sprintf("Full Disk %d", i), Year: 2024, Rating: events.Rating{Value: 6, Votes: 10}})
		raw, err := events.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		c.json("POST", "/_devstack/records", map[string]string{"partitionKey": id, "data": string(raw)}, http.StatusCreated, nil)
		ids = append(ids, id)
	}
	full.Store(true)

	for _, req := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/scrape", nil},
		{"POST", "/_devstack/records", map[string]string{"partitionKey": "k", "data": "x"}},
	} {
		status, h, b := c.do(req.method, req.path, req.body)
		var e struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(b, &e); err != nil || status != http.StatusInsufficientStorage || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
			t.Fatalf("%s %s on a full disk = %d %s, want a JSON 507", req.method, req.path, status, b)
		}
		if e.Error.Code != "insufficient_storage" || !strings.Contains(e.Error.Message, dir) || !strings.Contains(e.Error.Message, "ENOSPC") {
			t.Errorf("%s %s: error %+v, want insufficient_storage naming %s and ENOSPC", req.method, req.path, e.Error, dir)
		}
	}
	if status, _, b := c.do("GET", "/movies", nil); status != http.StatusOK {
		t.Errorf("GET /movies on a full disk = %d %s, want 200: reads go on", status, b)
	}
	if s := c.status(); s.Storage.OK || !strings.Contains(s.Storage.Error, "no space left on device") || s.Storage.Since == nil {
		t.Errorf("status storage on a full disk = %+v, want not ok, with the error and since when", s.Storage)
	}
	// The batching window ends: the processor is throttled (not invoked,
	// or invoked once and failing to write), nothing is projected.
	time.Sleep(cfg.BatchingWindow + 500*time.Millisecond)
	for _, id := range ids {
		if status, _, _ := c.do("GET", "/movies/"+id, nil); status != http.StatusNotFound {
			t.Fatalf("GET /movies/%s = %d while the disk is full, want 404", id, status)
		}
	}

	full.Store(false)
	waitFor(t, "the storage back", func() bool { return c.status().Storage.OK })
	for _, id := range ids {
		waitFor(t, "movie "+id+" projected", func() bool {
			status, _, _ := c.do("GET", "/movies/"+id, nil)
			return status == http.StatusOK
		})
	}
	s := c.waitArchived()
	for _, sh := range s.Stream.Shards {
		if sh.BatchesToOnFailure != 0 {
			t.Errorf("shard %s sent %d batches to the on-failure queue: the full disk spent retries", sh.ShardID, sh.BatchesToOnFailure)
		}
	}
	if s.OnFailureQueue.Visible != 0 || s.Storage.Error != "" || s.Archive.LastError != "" {
		t.Errorf("after recovery: on-failure queue %d, storage %+v, archive error %q", s.OnFailureQueue.Visible, s.Storage, s.Archive.LastError)
	}
	var sc scrapeView
	c.json("POST", "/scrape", nil, http.StatusAccepted, &sc)
	c.waitArchived()
	st.stop()
	checkArchive(t, dir, cfg.Suffix, cfg.Shards)
}

// waitFor polls cond for up to 30 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// TestNoSpaceIsTold: the errors a full disk gives are recognised, wrapped
// or not, and nothing else is.
func TestNoSpaceIsTold(t *testing.T) {
	// A enospc one: writing to /dev/full fails with ENOSPC.
	var enospc error
	if f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0); err == nil {
		_, enospc = f.Write([]byte("x"))
		f.Close()
	}
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"ENOSPC as bbolt returns it", fmt.Errorf("apply movie %q: %w", "m", &fs.PathError{Op: "write", Path: "/d/tables.db", Err: syscall.ENOSPC}), true},
		{"EDQUOT", &fs.PathError{Op: "write", Path: "/d/stream.db", Err: syscall.EDQUOT}, true},
		{"another write error", &fs.PathError{Op: "write", Path: "/d/stream.db", Err: syscall.EIO}, false},
		{"nil", nil, false},
	} {
		if _, got := noSpace(tc.err); got != tc.want {
			t.Errorf("%s: noSpace(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
	if enospc != nil {
		if cause, ok := noSpace(enospc); !ok || !strings.HasPrefix(cause, "ENOSPC") {
			t.Errorf("writing to /dev/full: %v not told as ENOSPC (%q)", enospc, cause)
		}
	}
}
