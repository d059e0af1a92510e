package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/dir"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
)

// writeArchive writes a run of n movie events (and one poison record) to
// an archive directory under root and returns it.
func writeArchive(t *testing.T, root string, n int, title string) string {
	t.Helper()
	path := filepath.Join(root, "archive")
	st, err := dir.New(path)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Now().UTC().Add(-time.Hour)
	buf, err := archive.NewBuffer(st, archive.BufferOptions{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	const source = "https://films.example.org/chart"
	runID := events.NewRunID(at)
	seq := 1000
	add := func(key string, data []byte) {
		seq++
		if _, err := buf.Add(archive.Record{ShardID: "shardId-000000000000", SequenceNumber: fmt.Sprint(seq),
			PartitionKey: key, ArrivalTime: at, Data: data}); err != nil {
			t.Fatal(err)
		}
		at = at.Add(time.Millisecond)
	}
	for i := range n {
		id := events.MovieID("", fmt.Sprintf("%s %d", title, i), 1990+i)
		data, err := events.Encode(events.NewMovieObserved(runID, source, at, id, events.MovieObserved{
			Title: fmt.Sprintf("%s %d", title, i), Year: 1990 + i, Rating: events.Rating{Value: 7}}))
		if err != nil {
			t.Fatal(err)
		}
		add(id, data)
	}
	add("poison", []byte("not an event"))
	if _, err := buf.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRun(t *testing.T) {
	root := t.TempDir()
	archive := writeArchive(t, root, 20, "Film")
	other := writeArchive(t, filepath.Join(root, "other"), 20, "Another")
	rebuilt := filepath.Join(root, "rebuilt")
	otherRebuilt := filepath.Join(root, "other-rebuilt")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name       string
		ctx        context.Context
		args       []string
		want       int
		wantOut    []string
		wantStderr []string
	}{
		{"help", nil, []string{"--help"}, exitOK, nil, []string{"Usage:", "--archive"}},
		{"bad flags", nil, []string{"--archive", archive}, exitTrouble, nil, []string{"--data: required"}},
		{"bad time", nil, []string{"--archive", archive, "--data", rebuilt, "--since", "yesterday"}, exitTrouble, nil,
			[]string{`--since "yesterday": want an RFC 3339 time`}},
		{"no such archive", nil, []string{"--archive", filepath.Join(root, "nowhere"), "--data", rebuilt}, exitTrouble, nil, []string{"archive"}},
		{"interrupted", canceled, []string{"--archive", archive, "--data", rebuilt}, exitInterrupted, nil,
			[]string{"resume with the same command"}},
		{"replay", nil, []string{"--archive", archive, "--data", rebuilt}, exitOK,
			[]string{"replay complete: 21 events", "20 movie events (20 applied", "1 errors stored"}, nil},
		{"replay of another archive into it", nil, []string{"--archive", other, "--data", rebuilt}, exitTrouble, nil,
			[]string{"target holds other data", "a replay of " + archive}},
		{"another replay", nil, []string{"--archive", other, "--data", otherRebuilt, "--log-format", "json"}, exitOK, nil, []string{`"msg":"replay starting"`}},
		{"verify the same", nil, []string{"--verify", rebuilt, "--data", rebuilt + "/."}, exitTrouble, nil, []string{"another than --data"}},
		{"verify differences", nil, []string{"--verify", rebuilt, "--data", otherRebuilt, "--diffs", "1"}, exitDiffer,
			[]string{"movies       20 live,     20 rebuilt: 0 differ, 20 only live, 20 only rebuilt", "… and 79 more differences", "verify: 80 differences"}, nil},
		{"redrive", nil, []string{"--redrive", "--data", rebuilt}, exitOK,
			[]string{"1 open errors: 0 resolved, 1 still failing", "devstack never ran on it"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			var stdout, stderr bytes.Buffer
			getenv := func(string) string { return "" }
			if got := run(ctx, tc.args, getenv, &stdout, &stderr); got != tc.want {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", got, tc.want, stdout.String(), stderr.String())
			}
			for _, w := range tc.wantOut {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, stdout.String())
				}
			}
			for _, w := range tc.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr.String())
				}
			}
		})
	}
}

func TestParseFlagsS3PathStyle(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		args []string
		want bool
	}{
		{nil, nil, false},
		{map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:5000"}, nil, true},
		{map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, nil, true},
		{map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, []string{"--s3-path-style=false"}, false},
	} {
		args := append([]string{"--archive", "s3://bucket/prefix", "--data", "d"}, tc.args...)
		o, _, _, err := parseFlags(args, func(k string) string { return tc.env[k] }, &bytes.Buffer{})
		if err != nil || o.S3PathStyle != tc.want {
			t.Errorf("env %v, args %q: S3PathStyle %v, %v; want %v", tc.env, tc.args, o.S3PathStyle, err, tc.want)
		}
	}
}

// TestTuneGC: the replay's GOGC applies unless the environment sets one.
func TestTuneGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct {
		name, gogc string
		want       int
	}{
		{"unset", "", gcPercent},
		{"set", "50", 77}, // left as it was
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(77)
			tuneGC(func(k string) string {
				if k == "GOGC" {
					return tc.gogc
				}
				return ""
			})
			if got := debug.SetGCPercent(77); got != tc.want {
				t.Errorf("GC percent after tuneGC with GOGC=%q: %d, want %d", tc.gogc, got, tc.want)
			}
		})
	}
}
