package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
	"github.com/scrape-pipeline/scrape-pipeline/tools/replay/replay"
)

// TestPermanentLogAndTime is the end-to-end test of the permanent event
// log (the archive, replay, verify) and of time (the drifting chart,
// scheduled scrapes, the history projection), over one set of devstack
// processes run as a user runs them:
//
//  1. devstack takes poison records (text, and bytes that are not UTF-8)
//     and a scrape, and is SIGKILLed while the processor is on it;
//  2. restarted on the same --data with --schedule, it finishes the
//     scrape, takes another poison record and scrapes the drifting sample
//     site by itself, three times or more; SIGTERM stops it (exit 0);
//  3. restarted once more, it finishes what the stop left, and stops
//     cleanly again;
//  4. tools/replay rebuilds the tables from the archive into a new
//     directory and verifies them against the live ones; the test compares
//     them itself too, item by item;
//  5. devstack started on the rebuilt directory serves, through its HTTP
//     API, the movies, runs, history and errors the live one served.
//
// Time: GET /runs lists the runs newest first, the scheduled ones with
// trigger schedule, and every film's GET /movies/{id}/history has a point
// for each run that found the film changed, as the sample site's drift
// model predicts for the periods the runs read the chart in.
func TestPermanentLogAndTime(t *testing.T) {
	t.Parallel() // mostly waiting: beside the other parallel end-to-end test
	live, rebuilt := t.TempDir(), filepath.Join(t.TempDir(), "rebuilt")
	var logs lockedBuffer // the children's logs, shown if the test fails
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("devstack's logs:\n%s", logs.String())
		}
	})
	const suffix = "permlog"
	// The chart moves every 2 s; scheduled scrapes every second find it
	// moved or (in the same period) unchanged.
	drift := samplesite.Drift{Every: 2 * time.Second}
	flags := func(dir string, more ...string) []string {
		return append([]string{"--addr", "127.0.0.1:0", "--site-addr", "127.0.0.1:0", "--data", dir, "--suffix", suffix,
			"--site-drift", drift.Every.String(), "--scrape-interval", "100ms", "--archive-interval", "200ms",
			"--batching-window", "50ms", "--log-format", "json"}, more...)
	}
	began := time.Now()
	step := func(what string) { t.Logf("%6.2fs %s", time.Since(began).Seconds(), what) }

	// The poison records, by shard and sequence number: their exact bytes.
	poisons := map[string][]byte{}
	putPoison := func(c client, key string, data []byte, text bool) {
		body := map[string]string{"partitionKey": key, "dataBase64": base64.StdEncoding.EncodeToString(data)}
		if text {
			body = map[string]string{"partitionKey": key, "data": string(data)}
		}
		var put recordResponse
		c.json("POST", "/_devstack/records", body, http.StatusCreated, &put)
		poisons[put.ShardID+"/"+put.SequenceNumber] = data
	}

	// 1. Poison, a scrape, and a SIGKILL while the processor works.
	first := startChild(t, &logs, flags(live)...)
	c := first.client()
	putPoison(c, "poison-text", []byte("not an event"), true)
	putPoison(c, "poison-binary", []byte{0xff, 0xfe, 0xed, 0x00, 0x01}, false)
	var sc scrapeView
	c.json("POST", "/scrape", nil, http.StatusAccepted, &sc)
	processed := 0
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		var r runView
		if status, _, b := c.do("GET", "/runs/"+sc.RunID, nil); status == http.StatusOK && jsonUnmarshal(b, &r) == nil &&
			r.Processed > 0 && c.status().Archive.Objects > 0 {
			processed = r.Processed
			break
		}
	}
	first.kill()
	step(fmt.Sprintf("killed with %d of 250 films processed", processed))

	// 2. Restart on the same data, with a schedule.
	second := startChild(t, &logs, flags(live, "--schedule", "1s")...)
	c = second.client()
	// Every film the scrape published is processed. Mostly 250, but the
	// chart drifts every 2 s and the site does not pin a scrape to one
	// period: a scrape across a boundary may see a film on two pages.
	if r := c.waitRun(sc.RunID); r.Status != "completed" || r.Published != sc.Published || r.Processed != sc.Published || r.Failed != 0 {
		t.Errorf("the killed scrape after the restart: %+v, want completed with its %d films processed", r, sc.Published)
	}
	putPoison(c, "poison-json", []byte(`{"specversion":`), true)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		reading := 0 // scheduled runs that found the chart moved
		for _, r := range listAll[apiRun](c, "/runs?limit=100") {
			if r.Trigger == "schedule" && r.Published > 0 {
				reading++
			}
		}
		if st := c.status().Schedule; st.Started >= 3 && reading >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60s: schedule %+v, %d scheduled runs read the chart; want 3 started, 2 reading", c.status().Schedule, reading)
		}
	}
	second.stop()
	step("scheduled scrapes done, stopped")

	// 3. Restart without the schedule: it finishes what the stop left.
	third := startChild(t, &logs, flags(live)...)
	c = third.client()
	c.waitQuiet()
	liveAPI := c.snapshot()
	completed := listAll[apiRun](c, "/runs?limit=100&status=completed")
	third.stop()
	step("live snapshot taken, stopped")
	checkArchive(t, live, suffix, 2) // every record, poison too, byte for byte

	t.Run("poison records are in errors, byte for byte", func(t *testing.T) {
		got := map[string][]byte{}
		for _, e := range liveAPI.Errors {
			if e.Stage != string(store.StageDecode) || e.Reason == "" {
				t.Errorf("error item %s: stage %q reason %q, want decode with a reason", e.ID, e.Stage, e.Reason)
			}
			got[e.ShardID+"/"+e.SequenceNumber] = payloadBytes(t, e)
		}
		if diff := cmp.Diff(poisons, got); diff != "" {
			t.Errorf("error items' payloads by shard and sequence number (-posted +listed):\n%s", diff)
		}
	})

	t.Run("runs are listed newest first, the schedule's with trigger schedule", func(t *testing.T) {
		runs := liveAPI.Runs
		scheduled := 0
		var wantCompleted []apiRun
		for i, r := range runs {
			if i > 0 && !r.StartedAt.Before(runs[i-1].StartedAt) {
				t.Errorf("run %s (started %s) listed after %s (started %s): want newest first", r.ID, r.StartedAt, runs[i-1].ID, runs[i-1].StartedAt)
			}
			wantTrigger := "schedule"
			if r.ID == sc.RunID {
				wantTrigger = "api"
			} else {
				scheduled++
			}
			if r.Trigger != wantTrigger {
				t.Errorf("run %s: trigger %q, want %q", r.ID, r.Trigger, wantTrigger)
			}
			switch {
			case r.Status == "completed" && r.Published > 0 && r.Processed == r.Published && r.Failed == 0:
				wantCompleted = append(wantCompleted, r)
			case r.Status == "unchanged" && r.Published == 0:
			default:
				t.Errorf("run %+v: want completed with every film processed, or unchanged", r)
			}
		}
		if scheduled < 3 {
			t.Errorf("%d scheduled runs listed, want 3 or more", scheduled)
		}
		if diff := cmp.Diff(wantCompleted, completed); diff != "" {
			t.Errorf("GET /runs?status=completed (-the completed of GET /runs +listed):\n%s", diff)
		}
	})

	t.Run("a film's history has a point per period in which it changed", func(t *testing.T) {
		reads := chartReads(drift, liveAPI.Runs)
		if len(reads) < 3 {
			t.Fatalf("%d runs read the chart, want 3 or more", len(reads))
		}
		charts := newChartCache(drift)
		var problems []string
		changed, straddled := 0, 0
		for _, r := range reads {
			if r.First != r.Last {
				straddled++
			}
		}
		for _, m := range liveAPI.Movies {
			points := liveAPI.History[m.ID]
			problems = append(problems, historyProblems(charts, reads, m.ID, points)...)
			if len(points) > 1 {
				changed++
			}
			if len(points) > 0 {
				newest := points[0]
				if got, want := (filmValues{m.Rank, m.Rating, m.Votes}), (filmValues{newest.Rank, newest.Rating, newest.Votes}); got != want {
					t.Errorf("movie %s shows %+v, its newest history point %+v", m.ID, got, want)
				}
			}
		}
		if len(liveAPI.Movies) != samplesite.ChartSize {
			t.Errorf("%d movies, want the chart's %d", len(liveAPI.Movies), samplesite.ChartSize)
		}
		for i, p := range problems {
			if i == 20 {
				t.Errorf("… and %d more", len(problems)-20)
				break
			}
			t.Error(p)
		}
		if changed == 0 {
			t.Error("no film has more than one history point: the chart did not move between the runs")
		}
		t.Logf("%d runs read the chart (%d across a period boundary); %d of %d films changed at least once",
			len(reads), straddled, changed, len(liveAPI.Movies))
	})

	// 4. Replay the archive into a new directory and verify it.
	var report bytes.Buffer
	tool, err := replay.New(t.Context(), replay.Options{Archive: filepath.Join(live, "archive"), Data: rebuilt, Verify: live,
		Out: &report, Logger: replayLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := tool.Run(t.Context())
	if cerr := tool.Close(); cerr != nil {
		t.Error(cerr)
	}
	step("replayed and verified")
	if err != nil && !errors.Is(err, replay.ErrDiffer) {
		t.Fatalf("replay: %v\n%s", err, report.String())
	}
	if err != nil || rep.Replay == nil || !rep.Replay.Complete || rep.Replay.Errors != int64(len(poisons)) ||
		rep.Verify == nil || rep.Verify.Movies.Live != samplesite.ChartSize || rep.Verify.Errors.Live != len(poisons) {
		t.Errorf("replay --verify: %v, want the same tables with %d movies and %d errors; its report:\n%s",
			err, samplesite.ChartSize, len(poisons), report.String())
	}

	t.Run("the rebuilt tables equal the live ones", func(t *testing.T) {
		want, got := readTables(t, live), readTables(t, rebuilt)
		for _, kind := range []struct {
			name      string
			want, got any
		}{
			{"movies", want.Movies, got.Movies},
			{"history", want.History, got.History},
			{"runs", want.Runs, got.Runs},
			{"errors", want.Errors, got.Errors},
		} {
			if diff := cmp.Diff(kind.want, kind.got); diff != "" {
				t.Errorf("%s (-live +rebuilt):\n%s", kind.name, diff)
			}
		}
		if len(want.Movies) != samplesite.ChartSize || len(want.Errors) != len(poisons) || len(want.Runs) < 4 {
			t.Errorf("live tables: %d movies, %d runs, %d errors; want %d, 4 or more, %d",
				len(want.Movies), len(want.Runs), len(want.Errors), samplesite.ChartSize, len(poisons))
		}
	})

	// 5. devstack serves the rebuilt directory.
	fourth := startChild(t, &logs, flags(rebuilt)...)
	rebuiltAPI := fourth.client().snapshot()
	fourth.stop()
	step("rebuilt directory served")
	t.Run("devstack on the rebuilt directory serves what the live one did", func(t *testing.T) {
		opts := cmp.Options{
			// A live run's start is the scraper's own clock, stamped before
			// it publishes scrape.started; a replay knows only the event.
			cmpopts.IgnoreFields(apiRun{}, "StartedAt"),
			// When an item failed and how often is processing, not the log.
			cmpopts.IgnoreFields(apiError{}, "Attempts", "FirstFailure", "LastFailure"),
			cmpopts.SortSlices(func(a, b apiRun) bool { return a.ID < b.ID }),
			cmpopts.SortSlices(func(a, b apiError) bool { return a.ID < b.ID }),
		}
		if diff := cmp.Diff(liveAPI, rebuiltAPI, opts); diff != "" {
			t.Errorf("the API's answers (-live +rebuilt):\n%s", diff)
		}
	})
}

// payloadBytes decodes the payload of GET /errors/{id}.
func payloadBytes(t *testing.T, e apiError) []byte {
	t.Helper()
	switch e.PayloadEncoding {
	case "utf-8":
		return []byte(e.Payload)
	case "base64":
		b, err := base64.StdEncoding.DecodeString(e.Payload)
		if err != nil {
			t.Fatalf("error %s: payload %q: %v", e.ID, e.Payload, err)
		}
		return b
	}
	t.Fatalf("error %s: payload encoding %q", e.ID, e.PayloadEncoding)
	return nil
}
