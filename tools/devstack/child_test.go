package main

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// child is devstack running as a child process, started as a user starts
// it: flags, a data directory, stop with SIGTERM (or die with SIGKILL).
// The test binary is devstack (see TestMain).
type child struct {
	t   *testing.T
	cmd *exec.Cmd
	// exited is closed when the process has ended, with err Wait's error.
	exited chan struct{}
	err    error
	// API is the base URL of its HTTP API, Site its sample site's.
	API, Site string
}

// startChild starts devstack with args, its logs going to logs, and
// returns once it prints its banner. The process is killed when the test
// ends, if it still runs.
func startChild(t *testing.T, logs io.Writer, args ...string) *child {
	t.Helper()
	return startChildEnv(t, logs, nil, args...)
}

// startChildEnv is startChild with env (KEY=value pairs) added to the
// child's environment, where it overrides this process's.
func startChildEnv(t *testing.T, logs io.Writer, env []string, args ...string) *child {
	t.Helper()
	for _, a := range args {
		if strings.ContainsAny(a, " \t\n") {
			t.Fatalf("child argument %q: DEVSTACK_CHILD_ARGS splits on spaces", a)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), env...), "DEVSTACK_CHILD_ARGS="+strings.Join(args, " "))
	banner := &bannerWriter{found: make(chan [2]string, 1)}
	cmd.Stdout, cmd.Stderr = banner, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{t: t, cmd: cmd, exited: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		c.wait()
	})
	select {
	case urls := <-banner.found:
		c.API, c.Site = urls[0], urls[1]
		return c
	case <-c.exited:
		t.Fatalf("devstack %s ended before it was ready: %v", strings.Join(args, " "), c.err)
	case <-time.After(60 * time.Second):
		t.Fatalf("devstack %s did not print its API address in 60s", strings.Join(args, " "))
	}
	return nil
}

// wait waits for the process to end and returns Wait's error.
func (c *child) wait() error {
	<-c.exited
	return c.err
}

// kill kills devstack with SIGKILL: no chance to finish anything.
func (c *child) kill() {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	c.wait()
}

// stop stops devstack with SIGTERM and fails the test unless it exits 0
// within a minute, as its shutdown promises.
func (c *child) stop() {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(time.Minute):
		c.t.Fatal("devstack did not stop within a minute of SIGTERM")
	}
	if err := c.wait(); err != nil {
		c.t.Errorf("devstack after SIGTERM: %v, want exit status 0", err)
	}
}

// client is an API client of the child.
func (c *child) client() client { return client{c.t, c.API} }

// bannerWriter is devstack's stdout: it finds the banner's API and
// sample site lines.
type bannerWriter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	sent  bool
	found chan [2]string // the API's and the sample site's base URLs
}

var (
	apiLine  = regexp.MustCompile(`(?m)^\s*API\s+(http://\S+)\s*$`)
	siteLine = regexp.MustCompile(`(?m)^\s*sample site\s+(http://\S+)/site/\s*$`)
)

func (w *bannerWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sent {
		return len(p), nil
	}
	w.buf.Write(p)
	api, site := apiLine.FindSubmatch(w.buf.Bytes()), siteLine.FindSubmatch(w.buf.Bytes())
	if api != nil && site != nil {
		w.sent = true
		w.found <- [2]string{string(api[1]), string(site[1])}
		w.buf.Reset()
	}
	return len(p), nil
}

// The API's answers, every field (the e2e tests' views hold a few).

type apiMovie struct {
	ID             string    `json:"id"`
	Title          string    `json:"title"`
	Year           int       `json:"year"`
	Rank           int       `json:"rank"`
	Rating         float64   `json:"rating"`
	Votes          int       `json:"votes"`
	Director       string    `json:"director"`
	Genres         []string  `json:"genres"`
	RuntimeMinutes int       `json:"runtimeMinutes"`
	DetailURL      string    `json:"detailUrl"`
	Source         string    `json:"source"`
	FirstSeen      time.Time `json:"firstSeen"`
	LastSeen       time.Time `json:"lastSeen"`
	LastRunID      string    `json:"lastRunId"`
}

type apiRun struct {
	ID            string    `json:"id"`
	Source        string    `json:"source"`
	Trigger       string    `json:"trigger"`
	Status        string    `json:"status"`
	StartedAt     time.Time `json:"startedAt"`
	FinishedAt    time.Time `json:"finishedAt"`
	Completed     bool      `json:"completed"`
	Published     int       `json:"published"`
	PublishFailed int       `json:"publishFailed"`
	Skipped       int       `json:"skipped"`
	Pages         int       `json:"pages"`
	Unchanged     bool      `json:"unchanged"`
	Processed     int       `json:"processed"`
	Failed        int       `json:"failed"`
	DurationMs    int64     `json:"durationMs"`
	Error         string    `json:"error"`
}

type apiPoint struct {
	ObservedAt time.Time `json:"observedAt"`
	RunID      string    `json:"runId"`
	EventID    string    `json:"eventId"`
	Rank       int       `json:"rank"`
	Rating     float64   `json:"rating"`
	Votes      int       `json:"votes"`
}

type apiError struct {
	ID               string    `json:"id"`
	Stage            string    `json:"stage"`
	Reason           string    `json:"reason"`
	EventID          string    `json:"eventId"`
	RunID            string    `json:"runId"`
	ShardID          string    `json:"shardId"`
	SequenceNumber   string    `json:"sequenceNumber"`
	PartitionKey     string    `json:"partitionKey"`
	Condition        string    `json:"condition"`
	Attempts         int       `json:"attempts"`
	FirstFailure     time.Time `json:"firstFailure"`
	LastFailure      time.Time `json:"lastFailure"`
	PayloadSize      int       `json:"payloadSize"`
	PayloadPreview   string    `json:"payloadPreview"`
	PayloadEncoding  string    `json:"payloadEncoding"`
	PayloadTruncated bool      `json:"payloadTruncated"`
	Resolved         time.Time `json:"resolved"`
	// Payload is GET /errors/{id}'s only.
	Payload string `json:"payload"`
}

// listAll pages through a listing of the API (path with its query).
func listAll[T any](c client, path string) []T {
	c.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var all []T
	cursor := ""
	for range 1000 {
		p := path
		if cursor != "" {
			p += sep + "cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items      []T    `json:"items"`
			NextCursor string `json:"nextCursor"`
		}
		c.json("GET", p, nil, http.StatusOK, &page)
		all = append(all, page.Items...)
		if page.NextCursor == "" {
			return all
		}
		cursor = page.NextCursor
	}
	c.t.Fatalf("GET %s: more than 1000 pages", path)
	return nil
}

// apiSnapshot is everything the query API serves: every movie and its
// history, every run, every error item with its whole payload.
type apiSnapshot struct {
	Movies  []apiMovie
	History map[string][]apiPoint
	Runs    []apiRun
	Errors  []apiError
}

func (c client) snapshot() apiSnapshot {
	c.t.Helper()
	s := apiSnapshot{
		Movies:  listAll[apiMovie](c, "/movies?limit=100"),
		History: map[string][]apiPoint{},
		Runs:    listAll[apiRun](c, "/runs?limit=100"),
	}
	for _, m := range s.Movies {
		s.History[m.ID] = listAll[apiPoint](c, "/movies/"+url.PathEscape(m.ID)+"/history?limit=100")
	}
	for _, e := range listAll[apiError](c, "/errors?limit=100") {
		var d apiError
		c.json("GET", "/errors/"+url.PathEscape(e.ID), nil, http.StatusOK, &d)
		s.Errors = append(s.Errors, d)
	}
	return s
}

// queuesView is the part of GET /_devstack/status about the queues and
// the mappings that drain them.
type queuesView struct {
	Stream struct {
		Shards []struct {
			ShardID            string `json:"shardId"`
			Latest             string `json:"latestSequenceNumber"`
			Checkpoint         string `json:"checkpoint"`
			BatchesToOnFailure int64  `json:"batchesToOnFailure"`
		} `json:"shards"`
	} `json:"stream"`
	ErrorsinkMapping struct {
		Invocations int64 `json:"invocations"`
		Deleted     int64 `json:"deleted"`
	} `json:"errorsinkMapping"`
	OnFailureQueue  queueStatus `json:"onFailureQueue"`
	DeadLetterQueue queueStatus `json:"deadLetterQueue"`
}

func (c client) queues() queuesView {
	c.t.Helper()
	var q queuesView
	c.json("GET", statusPath, nil, http.StatusOK, &q)
	return q
}

// caughtUp reports whether the processor mapping has disposed of every
// record on the stream.
func (q queuesView) caughtUp() bool {
	for _, sh := range q.Stream.Shards {
		if sh.Checkpoint != sh.Latest {
			return false
		}
	}
	return len(q.Stream.Shards) > 0
}

// waitQuiet waits until devstack has nothing left to do: every record
// processed and archived, the on-failure queue empty, no run running.
func (c client) waitQuiet() {
	c.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		q := c.queues()
		running := listAll[apiRun](c, "/runs?limit=100&status=running")
		if q.caughtUp() && q.OnFailureQueue.Visible+q.OnFailureQueue.InFlight == 0 && len(running) == 0 {
			break
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("devstack not quiet after 60s: %+v, runs running: %+v", q, running)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.waitArchived()
}
