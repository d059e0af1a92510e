package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	awskinesis "github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/google/go-cmp/cmp"

	s3archive "github.com/scrape-pipeline/scrape-pipeline/libs/archive/s3"
	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu/short"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/stream"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/awsbackend"
)

// TestMain lets the end-to-end tests run devstack as a child process (for
// SIGKILL) by re-executing the test binary, and lets all of them run at
// once (see endToEndParallel).
func TestMain(m *testing.M) {
	if args := os.Getenv("DEVSTACK_CHILD_ARGS"); args != "" {
		os.Exit(exitCode(run(strings.Fields(args), os.Stdout, os.Stderr), os.Stderr))
	}
	flag.Parse()
	if !flagSet("test.parallel") {
		flag.Set("test.parallel", strconv.Itoa(max(endToEndParallel, runtime.GOMAXPROCS(0))))
	}
	code := awsemu.Main(m)
	closeBrowser() // the dashboard tests' shared Chromium
	os.Exit(code)
}

// endToEndParallel is how many parallel tests run at once unless
// -test.parallel says otherwise: the end-to-end tests spend most of their
// time waiting (batching windows, function timeouts, schedule ticks, child
// processes, emulators, Chromium), so running all of them side by side
// takes about as long as the longest, where the default (GOMAXPROCS, two
// on a small machine) queued them two by two.
const endToEndParallel = 8

// flagSet reports whether the command line set the flag name.
func flagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func testConfig(dir string) Config {
	return Config{
		Addr: "127.0.0.1:0", SiteAddr: "127.0.0.1:0", DataDir: dir, Suffix: "e2e", Region: "eu-west-2",
		Shards: 2, Retention: 24 * time.Hour, BatchingWindow: 200 * time.Millisecond, ParallelizationFactor: 1,
		ScrapeInterval: time.Second, FunctionTimeout: 30 * time.Second, ArchiveInterval: 100 * time.Millisecond,
	}
}

// running is a devstack serving in this process.
type running struct {
	*Stack
	stop func()
}

func startStack(t *testing.T, cfg Config) *running {
	t.Helper()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := New(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	t.Cleanup(stop)
	return &running{s, stop}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

type client struct {
	t    *testing.T
	base string
}

func (c client) do(method, path string, body any) (int, http.Header, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			c.t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

func (c client) json(method, path string, body any, wantStatus int, out any) {
	c.t.Helper()
	status, _, b := c.do(method, path, body)
	if status != wantStatus {
		c.t.Fatalf("%s %s = %d %s, want %d", method, path, status, b, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
}

type runView struct {
	ID        string `json:"id"`
	Status    string `json:"status"`
	Published int    `json:"published"`
	Processed int    `json:"processed"`
	Failed    int    `json:"failed"`
}

// waitRun polls /runs/{id} until it is no longer running.
func (c client) waitRun(id string) runView {
	c.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var r runView
	for time.Now().Before(deadline) {
		status, _, b := c.do("GET", "/runs/"+id, nil)
		if status == http.StatusOK {
			if err := json.Unmarshal(b, &r); err != nil {
				c.t.Fatal(err)
			}
			if r.Status != "running" {
				return r
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.t.Fatalf("run %s still running: %+v", id, r)
	return r
}

type movieView struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Year     int      `json:"year"`
	Rank     int      `json:"rank"`
	Rating   float64  `json:"rating"`
	Votes    int      `json:"votes"`
	Director string   `json:"director"`
	Genres   []string `json:"genres"`
	Runtime  int      `json:"runtimeMinutes"`
}

// allMovies pages through GET /movies.
func (c client) allMovies() []movieView {
	c.t.Helper()
	var all []movieView
	cursor := ""
	for range 100 {
		path := "/movies?limit=100"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items      []movieView `json:"items"`
			NextCursor string      `json:"nextCursor"`
		}
		c.json("GET", path, nil, http.StatusOK, &page)
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
	c.t.Fatal("more than 100 pages of movies")
	return nil
}

type errorView struct {
	Stage          string `json:"stage"`
	Reason         string `json:"reason"`
	SequenceNumber string `json:"sequenceNumber"`
}

func (c client) errors() []errorView {
	var page struct {
		Items []errorView `json:"items"`
	}
	c.json("GET", "/errors?limit=100", nil, http.StatusOK, &page)
	return page.Items
}

type scrapeView struct {
	RunID     string `json:"runId"`
	Source    string `json:"source"`
	Published int    `json:"published"`
	Pages     int    `json:"pages"`
}

// TestEndToEnd runs the pipeline as a user does: scrape, watch the run,
// list the films, feed a poison record, restart.
func TestEndToEnd(t *testing.T) {
	t.Parallel() // mostly waiting on the stack's batching window
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.ScrapeInterval = time.Hour
	cfg.AllowHosts = []string{"localhost:9"}
	st := startStack(t, cfg)
	c := client{t, st.APIURL()}

	var sc scrapeView
	c.json("POST", "/scrape", nil, http.StatusAccepted, &sc)
	if sc.Published != 250 || sc.Pages != 5 || sc.RunID == "" {
		t.Fatalf("POST /scrape = %+v, want 250 films over 5 pages", sc)
	}
	run := c.waitRun(sc.RunID)
	if diff := cmp.Diff(runView{ID: sc.RunID, Status: "completed", Published: 250, Processed: 250}, run); diff != "" {
		t.Errorf("run (-want +got):\n%s", diff)
	}
	movies := c.allMovies()
	if len(movies) != 250 {
		t.Fatalf("GET /movies listed %d films, want 250", len(movies))
	}
	ids := map[string]bool{}
	for _, m := range movies {
		if ids[m.ID] {
			t.Errorf("movie %s listed twice", m.ID)
		}
		ids[m.ID] = true
		if m.Title == "" || m.Year < 1878 || m.Director == "" || len(m.Genres) == 0 || m.Runtime == 0 || m.Votes == 0 {
			t.Errorf("movie %+v lacks fields the detail pages have", m)
		}
	}

	t.Run("second scrape inside the interval is 429", func(t *testing.T) {
		status, h, b := c.do("POST", "/scrape", nil)
		if status != http.StatusTooManyRequests || h.Get("Retry-After") == "" || !bytes.Contains(b, []byte(`"error"`)) {
			t.Errorf("second POST /scrape = %d %s (Retry-After %q), want a JSON 429", status, b, h.Get("Retry-After"))
		}
	})

	t.Run("poison record lands in errors and the shard flows on", func(t *testing.T) {
		var put struct {
			ShardID        string `json:"shardId"`
			SequenceNumber string `json:"sequenceNumber"`
		}
		// The poison and a good record on the same partition key: the
		// good one must arrive although the poison is before it.
		key := "the-shawshank-redemption-1994"
		c.json("POST", "/_devstack/records", map[string]string{"partitionKey": key, "data": "not an event"}, http.StatusCreated, &put)
		good := events.NewMovieObserved("run-manual", "https://films.example.org/site/chart", time.Now().UTC(), "devstack-test-film-2026",
			events.MovieObserved{Title: "Devstack Test Film", Year: 2026, Rating: events.Rating{Value: 7.5, Votes: 3}})
		raw, err := events.Encode(good)
		if err != nil {
			t.Fatal(err)
		}
		c.json("POST", "/_devstack/records", map[string]string{"partitionKey": key, "data": string(raw)}, http.StatusCreated, nil)
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			status, _, _ := c.do("GET", "/movies/devstack-test-film-2026", nil)
			errs := c.errors()
			if status == http.StatusOK && slices.ContainsFunc(errs, func(e errorView) bool { return e.SequenceNumber == put.SequenceNumber }) {
				for _, e := range errs {
					if e.SequenceNumber == put.SequenceNumber && e.Stage != "decode" {
						t.Errorf("poison stored with stage %q, want decode", e.Stage)
					}
				}
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Fatalf("poison not in /errors or the later record not projected: %+v", c.errors())
	})

	t.Run("bytes that are not UTF-8 are archived as they are", func(t *testing.T) {
		var put struct {
			SequenceNumber string `json:"sequenceNumber"`
		}
		c.json("POST", "/_devstack/records", map[string]string{"partitionKey": "binary-poison", "dataBase64": "/+7t AAE=" /* 0xff 0xfe 0xed 0x00 0x01 */}, http.StatusBadRequest, nil)
		c.json("POST", "/_devstack/records", map[string]string{"partitionKey": "binary-poison", "dataBase64": "/+7tAAE="}, http.StatusCreated, &put)
		st := c.waitArchived()
		if st.Archive.Objects == 0 || st.Archive.LastObject == nil || st.Archive.Location != filepath.Join(dir, "archive") || st.Archive.IntervalMs != 100 {
			t.Errorf("status of the archive: %+v", st.Archive)
		}
		// The archive's whole contents are checked against the stream
		// after the restart, below.
	})

	t.Run("status says the storage is fine and no schedule runs", func(t *testing.T) {
		st := c.status()
		if !st.Storage.OK || st.Storage.DataDir != dir || st.Storage.Error != "" || st.Storage.Since != nil {
			t.Errorf("storage %+v, want ok in %s", st.Storage, dir)
		}
		if st.Schedule.Enabled || st.Schedule.Next != nil {
			t.Errorf("schedule %+v, want off", st.Schedule)
		}
	})

	t.Run("a body URL passes when its host is allowed, as on AWS", func(t *testing.T) {
		// The sample site (here also --url) is allowed: the scrape is then
		// refused by the lease only.
		status, _, b := c.do("POST", "/scrape", map[string]string{"url": st.SiteURL() + "/site/chart?page=2"})
		if status != http.StatusTooManyRequests {
			t.Errorf("POST /scrape of the sample site's page 2 = %d %s, want 429 (allowed, then the lease)", status, b)
		}
		status, _, b = c.do("POST", "/scrape", map[string]string{"url": "https://films.example.org/chart"})
		if status != http.StatusBadRequest || !bytes.Contains(b, []byte("allow-list")) || !bytes.Contains(b, []byte("--allow-host")) {
			t.Errorf("POST /scrape of a host not allowed = %d %s, want 400 naming the allow-list and --allow-host", status, b)
		}
		// --allow-host localhost:9 passes the allow-list; the address
		// guard then refuses loopback (no --allow-private).
		status, _, b = c.do("POST", "/scrape", map[string]string{"url": "http://localhost:9/chart"})
		if status != http.StatusForbidden || !bytes.Contains(b, []byte("target_forbidden")) {
			t.Errorf("POST /scrape of an --allow-host host = %d %s, want 403 target_forbidden (allowed, then the address guard)", status, b)
		}
	})

	t.Run("a scheduled scrape inside the scrape interval is skipped", func(t *testing.T) {
		st.scheduledScrape(t.Context())
		last := c.status().Schedule.Last
		if last == nil || last.Outcome != "skipped" || !strings.HasPrefix(last.Message, "lease held, retry after ") || last.RunID != "" {
			t.Errorf("last scheduled scrape %+v, want skipped for the lease", last)
		}
	})

	t.Run("wrong method and unknown path are JSON", func(t *testing.T) {
		for _, tc := range []struct {
			method, path string
			status       int
		}{{"POST", "/movies", 405}, {"DELETE", "/movies/the-godfather-1972", 405}, {"GET", "/scrape", 405}, {"GET", "/nope", 404}, {"GET", "/_devstack/records", 405}} {
			status, h, b := c.do(tc.method, tc.path, nil)
			if status != tc.status || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || !bytes.Contains(b, []byte(`"error"`)) {
				t.Errorf("%s %s = %d %q %s, want a JSON %d", tc.method, tc.path, status, h.Get("Content-Type"), b, tc.status)
			}
		}
	})

	t.Run("the scraper reaches only devstack's own loopback site", func(t *testing.T) {
		other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			t.Errorf("the scraper reached another loopback server: %s", r.URL)
		}))
		defer other.Close()
		cfg := testConfig(t.TempDir())
		cfg.URL = other.URL + "/site/chart"
		st := startStack(t, cfg)
		status, _, b := client{t, st.APIURL()}.do("POST", "/scrape", nil)
		if status != http.StatusForbidden || !bytes.Contains(b, []byte("target_forbidden")) {
			t.Errorf("scrape of another loopback server = %d %s, want 403 target_forbidden", status, b)
		}
	})

	t.Run("bad input to devstack routes is a JSON 400", func(t *testing.T) {
		for _, body := range []string{`{`, `{"partitionKey":"","data":"x"}`, `{"partitionKey":"k"}`, `{"partitionKey":"k","data":"x","dataBase64":"eA=="}`, `{"partitionKey":"k","dataBase64":"%%"}`, `{"partitionKey":"k","data":"x","extra":1}`} {
			req, _ := http.NewRequest("POST", c.base+"/_devstack/records", strings.NewReader(body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || !bytes.Contains(b, []byte(`"code"`)) {
				t.Errorf("POST /_devstack/records %s = %d %s, want a JSON 400", body, resp.StatusCode, b)
			}
		}
	})

	t.Run("restart keeps everything and finishes the backlog", func(t *testing.T) {
		// Put a backlog right before stopping: whatever the mapping did not
		// take before the stop must be done after the restart.
		var backlog []string
		for i := range 20 {
			id := fmt.Sprintf("backlog-film-%d-2020", i)
			e := events.NewMovieObserved("run-backlog", "https://films.example.org/site/chart", time.Now().UTC(), id,
				events.MovieObserved{Title: fmt.Sprintf("Backlog Film %d", i), Year: 2020, Rating: events.Rating{Value: 5}})
			raw, _ := events.Encode(e)
			c.json("POST", "/_devstack/records", map[string]string{"partitionKey": id, "data": string(raw)}, http.StatusCreated, nil)
			backlog = append(backlog, id)
		}
		st.stop()

		st2 := startStack(t, cfg)
		c2 := client{t, st2.APIURL()}
		if r := c2.waitRun(sc.RunID); r.Status != "completed" || r.Processed != 250 {
			t.Errorf("after restart the run is %+v", r)
		}
		deadline := time.Now().Add(30 * time.Second)
		for _, id := range backlog {
			for {
				status, _, _ := c2.do("GET", "/movies/"+id, nil)
				if status == http.StatusOK {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("backlog movie %s never projected", id)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		if n := len(c2.allMovies()); n != 250+1+len(backlog) {
			t.Errorf("after restart %d movies, want %d", n, 250+1+len(backlog))
		}
		// The archiver resumed from its checkpoints: every record of the
		// stream is in the archive, byte for byte, and (the stops were
		// graceful) once.
		c2.waitArchived()
		st2.stop()
		if n, dupes := checkArchive(t, dir, cfg.Suffix, cfg.Shards); n < 250+3+len(backlog) || dupes != 0 {
			t.Errorf("%d records archived with %d duplicates, want at least %d and none", n, dupes, 250+3+len(backlog))
		}
	})
}

// TestKillMidBatchConverges kills devstack with SIGKILL while it processes
// a scrape and restarts it on the same data: at-least-once delivery and
// idempotent projections must give exactly the tables of a clean run.
func TestKillMidBatchConverges(t *testing.T) {
	t.Parallel() // mostly waiting on the children
	dir := t.TempDir()
	var logs lockedBuffer // the children's logs, shown if the test fails
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("devstack's logs:\n%s", logs.String())
		}
	})
	child := func() (*exec.Cmd, string) {
		// A frozen site, as in the clean run it is compared with; objects
		// written often, so that the kill comes between two.
		args := fmt.Sprintf("--addr 127.0.0.1:0 --site-addr 127.0.0.1:0 --site-drift 0 --data %s --suffix kill --batching-window 0s --scrape-interval 1s --archive-interval 20ms --log-level info --log-format json", dir)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "DEVSTACK_CHILD_ARGS="+args)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		api := regexp.MustCompile(`API\s+(http://\S+)`)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := api.FindStringSubmatch(sc.Text()); m != nil {
				go io.Copy(io.Discard, out)
				return cmd, m[1]
			}
		}
		t.Fatalf("devstack child did not print its API address: %v", sc.Err())
		return nil, ""
	}

	cmd, base := child()
	c := client{t, base}
	// A poison record of bytes that are not UTF-8, for the archive.
	c.json("POST", "/_devstack/records", map[string]string{"partitionKey": "binary-poison", "dataBase64": "/+7tAAE="}, http.StatusCreated, nil)
	var sc scrapeView
	c.json("POST", "/scrape", nil, http.StatusAccepted, &sc)
	// Kill as soon as some, not all, films are processed, and an object
	// or more is in the archive.
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var r runView
		status, _, b := c.do("GET", "/runs/"+sc.RunID, nil)
		if status == http.StatusOK && json.Unmarshal(b, &r) == nil && r.Processed > 0 && c.status().Archive.Objects > 0 {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	cmd, base = child()
	c = client{t, base}
	// A record this process surely archives, so that its stop line has a
	// last object to name even when the first one archived everything
	// before the kill.
	c.json("POST", "/_devstack/records", map[string]string{"partitionKey": "poison-after-restart", "data": "not an event"}, http.StatusCreated, nil)
	run := c.waitRun(sc.RunID)
	if run.Status != "completed" || run.Processed != 250 || run.Failed != 0 {
		t.Errorf("run after kill and restart = %+v, want completed with exactly 250 processed", run)
	}
	movies := c.allMovies()
	if len(movies) != 250 {
		t.Fatalf("%d movies after kill and restart, want 250", len(movies))
	}
	// The archiver resumed from its checkpoints after the kill.
	c.waitArchived()
	// SIGTERM: stop accepting, finish the batch in flight, exit 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("devstack after SIGTERM: %v, want exit status 0", err)
	}
	// Nothing the stream took is missing from the archive, byte for byte;
	// the kill may have left records archived twice.
	n, dupes := checkArchive(t, dir, "kill", 2)
	t.Logf("archive after a kill and a restart: %d records, %d archived twice", n, dupes)
	if n != 250+2+2 { // the films, scrape.started and .completed, the poisons
		t.Errorf("%d records on the stream, want 254", n)
	}
	// Before it exits, devstack says what it finished and checkpointed.
	stopped := map[string]int{}
	for line := range strings.Lines(logs.String()) {
		var l struct {
			Msg        string `json:"msg"`
			Checkpoint string `json:"checkpoint"`
			LastObject string `json:"last_object"`
			Queue      string `json:"queue"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && strings.HasPrefix(l.Msg, "stopped: ") {
			stopped[l.Msg]++
			if l.Msg == "stopped: archiver" && l.LastObject == "" && !strings.Contains(line, "archived_up_to") {
				t.Errorf("archiver's stop line without its last object: %s", line)
			}
		}
	}
	want := map[string]int{"stopped: processor mapping": 2, "stopped: errorsink mapping": 1, "stopped: archiver": 1 + 2, "stopped: queue": 2}
	if diff := cmp.Diff(want, stopped); diff != "" {
		t.Errorf("stop summary lines (-want +got):\n%s", diff)
	}
	// The same tables as a clean run: compare with one in a fresh process.
	clean := startStack(t, testConfig(t.TempDir()))
	cc := client{t, clean.APIURL()}
	var sc2 scrapeView
	cc.json("POST", "/scrape", nil, http.StatusAccepted, &sc2)
	cc.waitRun(sc2.RunID)
	if diff := cmp.Diff(cc.allMovies(), movies); diff != "" {
		t.Errorf("movies after kill and restart differ from a clean run (-clean +killed):\n%s", diff)
	}
}

var jsonUnmarshal = json.Unmarshal

// TestEndToEndAWS runs devstack --aws --create as a user does against
// emulators: a child process given kinesis-mock and moto_server through the
// SDK's standard settings (AWS_ENDPOINT_URL_KINESIS, _DYNAMODB, _SQS, _S3,
// AWS_REGION). It proves what the embedded end-to-end tests cannot: the
// AWS adapters (stream, tables, queues, S3 archive) under the same handlers
// give the same answers — a scrape through the stream, the mapping and the
// tables, a poison record in /errors while the shard flows on, every record
// of the stream in the S3 archive, and a clean stop. One page of the chart
// (50 films) proves that as well as five: the embedded tests scrape all 250,
// and moto_server's time grows with every call (250 films took 25-70 s).
func TestEndToEndAWS(t *testing.T) {
	// The one end-to-end test -short leaves out (~10 s of emulator CPU):
	// the adapters it wires are proven on the same emulators by their own
	// tests (awsbackend, libs/stream/kinesis, libs/store/dynamo,
	// libs/archive/s3), and the wiring by the embedded end-to-end tests.
	short.Skip(t, "starts kinesis-mock and moto_server")
	t.Parallel() // mostly waiting on the emulators and the child
	emu := awsemu.All(t)
	// The region comes from the SDK's settings (AWS_REGION here), not
	// from devstack's default for the embedded ARNs.
	const region = "us-west-2"
	env := append(emu.Env(), "AWS_REGION="+region, "AWS_DEFAULT_REGION="+region)
	suffix := awsemu.Name(t, "e2e")
	var logs lockedBuffer
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("devstack's logs:\n%s", logs.String())
		}
	})
	child := startChildEnv(t, &logs, env, "--addr", "127.0.0.1:0", "--site-addr", "127.0.0.1:0", "--site-drift", "0",
		"--data", t.TempDir(), "--suffix", suffix, "--aws", "--create", "--serial-tables",
		"--scrape-interval", "1h", "--archive-interval", "100ms", "--archive-bucket", suffix+"/courseX", "--log-level", "warn")
	c := child.client()

	var status struct {
		Stream struct {
			Name string `json:"name"`
			ARN  string `json:"arn"`
		} `json:"stream"`
		Archive struct {
			Location string `json:"location"`
		} `json:"archive"`
	}
	c.json("GET", statusPath, nil, http.StatusOK, &status)
	if !strings.Contains(status.Stream.ARN, ":"+region+":") {
		t.Errorf("stream ARN %s, want one in %s", status.Stream.ARN, region)
	}
	if want := "s3://" + suffix + "/courseX/"; status.Archive.Location != want {
		t.Errorf("archive location %q, want %q", status.Archive.Location, want)
	}

	// The chart's last page: 50 films, no next page.
	var sc scrapeView
	c.json("POST", "/scrape", map[string]string{"url": child.Site + "/site/chart?page=5"}, http.StatusAccepted, &sc)
	if sc.Published != 50 || sc.Pages != 1 {
		t.Fatalf("POST /scrape of page 5 = %+v, want 50 films on 1 page", sc)
	}
	if diff := cmp.Diff(runView{ID: sc.RunID, Status: "completed", Published: 50, Processed: 50}, c.waitRun(sc.RunID)); diff != "" {
		t.Errorf("run (-want +got):\n%s", diff)
	}
	movies := c.allMovies()
	if len(movies) != 50 {
		t.Errorf("%d movies, want 50", len(movies))
	}
	for _, m := range movies {
		if m.Title == "" || m.Year < 1878 || m.Director == "" || len(m.Genres) == 0 || m.Runtime == 0 || m.Votes == 0 {
			t.Errorf("movie %+v lacks fields the detail pages have", m)
		}
	}

	var put struct {
		SequenceNumber string `json:"sequenceNumber"`
	}
	c.json("POST", "/_devstack/records", map[string]string{"partitionKey": "poison", "data": "{"}, http.StatusCreated, &put)
	waitFor(t, "the poison record in /errors", func() bool {
		return slices.ContainsFunc(c.errors(), func(e errorView) bool { return e.SequenceNumber == put.SequenceNumber && e.Stage == "decode" })
	})

	// Every record of the stream is in the archive in S3, byte for byte.
	c.waitArchived()
	child.stop()
	kcfg := awsemu.Kinesis(t)
	kcfg.Region = region // kinesis-mock keeps streams per region
	st, err := awsbackend.OpenStream(t.Context(), awskinesis.NewFromConfig(kcfg), status.Stream.Name)
	if err != nil {
		t.Fatal(err)
	}
	reader := st.Reader(0)
	var want []stream.Stored
	for _, sh := range reader.Shards() {
		recs, err := reader.Records(sh, "", 10_000)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, recs...)
	}
	scfg := awsemu.Moto(t)
	scfg.Region = region
	archived, err := s3archive.New(awsbackend.NewS3(scfg), s3archive.Location{Bucket: suffix, Prefix: "courseX/"}, s3archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := archivedRecords(t, archived)
	// The films, scrape.started and .completed, the poison.
	if diff := cmp.Diff(asArchived(want), got); diff != "" || len(got) != 50+2+1 {
		t.Errorf("%d records in the S3 archive, want 53 (-stream +archive):\n%s", len(got), diff)
	}
}
