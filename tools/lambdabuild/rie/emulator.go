//go:build linux

package rie

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Config says which function to run and how.
type Config struct {
	// Emulator is the path of the aws-lambda-rie binary, as [Install]
	// returns it. Required.
	Emulator string
	// Bootstrap is the path of the function's executable, built for this
	// machine's architecture ([ExtractBootstrap] takes it out of a zip).
	// Required. The emulator's working directory is its directory, as
	// /var/task is in Lambda.
	Bootstrap string
	// FunctionName is AWS_LAMBDA_FUNCTION_NAME; default "function".
	FunctionName string
	// MemoryMB is AWS_LAMBDA_FUNCTION_MEMORY_SIZE, 128 to 10240; default
	// 128. The emulator does not enforce it.
	MemoryMB int
	// Timeout is the invoke timeout, whole seconds from 1s to 900s;
	// default 30s. The emulator enforces it.
	Timeout time.Duration
	// Env is the function's own environment (the contract's variables,
	// AWS_REGION, AWS_ENDPOINT_URL_*, credentials, …). The function sees
	// these plus what Lambda always sets: PATH, TZ, LAMBDA_TASK_ROOT,
	// AWS_LAMBDA_FUNCTION_NAME/_MEMORY_SIZE/_TIMEOUT/_VERSION and, unless
	// Env has them, AWS_REGION and AWS_DEFAULT_REGION (us-east-1). Nothing
	// of this process's environment is passed on.
	Env map[string]string
	// Output, if not nil, receives every line the emulator and the function
	// print, as they come. Writes are serialised.
	Output io.Writer
	// StartTimeout bounds the wait for the emulator to listen; default 10s.
	StartTimeout time.Duration
}

// reservedEnv are variables that Config fields set or that would change
// how the emulator runs.
var reservedEnv = map[string]string{
	"AWS_LAMBDA_FUNCTION_NAME":        "FunctionName",
	"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "MemoryMB",
	"AWS_LAMBDA_FUNCTION_TIMEOUT":     "Timeout",
	"AWS_LAMBDA_MAX_CONCURRENCY":      "nothing: it switches the emulator to Lambda Managed Instances mode",
}

func (c *Config) defaults() {
	if c.FunctionName == "" {
		c.FunctionName = "function"
	}
	if c.MemoryMB == 0 {
		c.MemoryMB = 128
	}
	if c.Timeout == 0 {
		c.Timeout = 30 * time.Second
	}
	if c.StartTimeout == 0 {
		c.StartTimeout = 10 * time.Second
	}
}

// Validate lists every problem of c (after defaults are applied).
func (c Config) Validate() error {
	var errs []error
	for _, f := range []struct{ name, path string }{{"emulator", c.Emulator}, {"bootstrap", c.Bootstrap}} {
		if f.path == "" {
			errs = append(errs, fmt.Errorf("%s path is empty", f.name))
			continue
		}
		fi, err := os.Stat(f.path)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
		case !fi.Mode().IsRegular() || fi.Mode()&0o100 == 0:
			errs = append(errs, fmt.Errorf("%s %s is not an executable file", f.name, f.path))
		}
	}
	if c.MemoryMB < 128 || c.MemoryMB > 10240 {
		errs = append(errs, fmt.Errorf("memory %d MB is outside Lambda's 128 to 10240", c.MemoryMB))
	}
	if c.Timeout < time.Second || c.Timeout > 900*time.Second || c.Timeout%time.Second != 0 {
		errs = append(errs, fmt.Errorf("timeout %s is not a whole number of seconds from 1s to 900s", c.Timeout))
	}
	for _, k := range slices.Sorted(maps.Keys(c.Env)) {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.Contains(c.Env[k], "\x00") {
			errs = append(errs, fmt.Errorf("environment variable %q: invalid name or value", k))
		}
		if field, ok := reservedEnv[k]; ok {
			errs = append(errs, fmt.Errorf("environment variable %s: set %s instead", k, field))
		}
	}
	if c.StartTimeout <= 0 {
		errs = append(errs, fmt.Errorf("start timeout %s is not positive", c.StartTimeout))
	}
	return errors.Join(errs...)
}

// env is the emulator's (and so the function's) whole environment.
func (c Config) env() []string {
	env := map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin:/bin",
		"TZ":                              ":UTC",
		"LAMBDA_TASK_ROOT":                filepath.Dir(c.Bootstrap),
		"AWS_REGION":                      "us-east-1",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_NAME":        c.FunctionName,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(c.MemoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     strconv.Itoa(int(c.Timeout / time.Second)),
	}
	maps.Copy(env, c.Env)
	out := make([]string, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, k+"="+env[k])
	}
	return out
}

// ErrTimeout is wrapped by the error of an invoke that ran past the
// function's timeout.
var ErrTimeout = errors.New("function timed out")

// RuntimeError is an invoke the emulator answered with a status other than
// 200: the runtime crashed or exited (a failed init gives 502).
type RuntimeError struct {
	// StatusCode is the emulator's HTTP status.
	StatusCode int
	// Body is the emulator's response body (often empty).
	Body string
	// Log is the emulator's and function's last output lines.
	Log []string
}

// Error implements error.
func (e *RuntimeError) Error() string {
	return fmt.Sprintf("emulator answered HTTP %d %q: the runtime failed; last output:\n%s",
		e.StatusCode, e.Body, strings.Join(e.Log, "\n"))
}

// Invocation is the outcome of one invoke.
type Invocation struct {
	// RequestID is the invoke's request id (sent as X-Amzn-RequestId).
	RequestID string
	// Payload is the response body: the handler's result or, with a
	// *FunctionError, the error document.
	Payload []byte
	// Elapsed is the wall time of the HTTP round trip, measured here.
	Elapsed time.Duration
	// Duration is the REPORT line's Duration (the emulator's figure).
	Duration time.Duration
	// Init is the function's init duration (from starting the bootstrap to
	// its first request for an event, the emulator's INIT REPORT) when this
	// invoke started the runtime, and 0 when the runtime was warm.
	Init time.Duration
}

// maxResponse is Lambda's synchronous response limit plus some slack.
const maxResponse = 7 << 20

// maxLogLines bounds the output kept for error messages.
const maxLogLines = 2000

// Emulator is a running emulator with one function. Its methods are safe
// for concurrent use; invokes are serialised, as one Lambda execution
// environment handles one event at a time.
type Emulator struct {
	cfg     Config
	addr    string // emulator API, host:port
	apiAddr string // runtime API, host:port
	cmd     *exec.Cmd
	procs   []process // descendants seen while running, killed by Close
	client  *http.Client

	exited  chan struct{} // closed when the emulator process exited
	logDone chan struct{} // closed when its output reached EOF

	invokeMu sync.Mutex

	mu       sync.Mutex
	logs     []string
	state    outputState
	changed  chan struct{} // closed and replaced on every REPORT line
	closed   bool
	closeErr error
}

// Start runs the emulator with cfg's function and returns once both of its
// ports accept connections. The function itself starts on the first
// invoke. On a port taken between choosing and binding it, Start retries
// with new ports (three attempts). ctx bounds the start only; the emulator
// runs until Close. Errors: cfg invalid (every problem listed), the
// emulator not starting or exiting early (with its output), ctx done.
func Start(ctx context.Context, cfg Config) (*Emulator, error) {
	cfg.defaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("emulator config: %w", err)
	}
	var err error
	if cfg.Bootstrap, err = filepath.Abs(cfg.Bootstrap); err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 {
		e, err := launch(cfg)
		if err != nil {
			return nil, err
		}
		err = e.waitReady(ctx)
		if err == nil {
			return e, nil
		}
		e.Close()
		lastErr = err
		if ctx.Err() != nil || !errors.Is(err, errExitedEarly) {
			break // waitReady's error says why, with the output
		}
	}
	return nil, fmt.Errorf("start emulator: %w", lastErr)
}

var errExitedEarly = errors.New("emulator exited before listening")

func launch(cfg Config) (*Emulator, error) {
	ports, err := freeLoopbackAddrs(2)
	if err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	cmd := exec.Command(cfg.Emulator,
		"--log-level", "info",
		"--runtime-interface-emulator-address", ports[0],
		"--runtime-api-address", ports[1],
		cfg.Bootstrap)
	cmd.Dir = filepath.Dir(cfg.Bootstrap)
	cmd.Env = cfg.env()
	cmd.Stdout, cmd.Stderr = w, w // one pipe keeps the lines in order
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	err = cmd.Start()
	w.Close() // the children hold the write end now
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	e := &Emulator{
		cfg: cfg, addr: ports[0], apiAddr: ports[1], cmd: cmd,
		client:  &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}},
		exited:  make(chan struct{}),
		logDone: make(chan struct{}),
		state:   newOutputState(),
		changed: make(chan struct{}),
	}
	go func() {
		cmd.Wait()
		close(e.exited)
	}()
	go e.readOutput(r)
	return e, nil
}

// freeLoopbackAddrs returns n distinct loopback addresses whose ports were
// free a moment ago.
func freeLoopbackAddrs(n int) ([]string, error) {
	var addrs []string
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		lns = append(lns, ln)
		addrs = append(addrs, ln.Addr().String())
	}
	return addrs, nil
}

func (e *Emulator) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StartTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		ready := true
		for _, a := range []string{e.addr, e.apiAddr} {
			c, err := net.DialTimeout("tcp", a, time.Second)
			if err != nil {
				ready = false
				break
			}
			c.Close()
		}
		if ready {
			e.recordDescendants()
			return nil
		}
		select {
		case <-e.exited:
			<-e.logDoneOrTimeout()
			return fmt.Errorf("%w: %v; output:\n%s", errExitedEarly, e.cmd.ProcessState, strings.Join(e.tail(30), "\n"))
		case <-ctx.Done():
			return fmt.Errorf("emulator not listening on %s and %s: %w; output:\n%s", e.addr, e.apiAddr, ctx.Err(), strings.Join(e.tail(30), "\n"))
		case <-tick.C:
		}
	}
}

// readOutput keeps, forwards and parses the emulator's output lines.
func (e *Emulator) readOutput(r *os.File) {
	defer close(e.logDone)
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		e.mu.Lock()
		if e.cfg.Output != nil {
			fmt.Fprintln(e.cfg.Output, line)
		}
		e.logs = append(e.logs, line)
		if len(e.logs) > maxLogLines {
			e.logs = slices.Delete(e.logs, 0, len(e.logs)-maxLogLines)
		}
		if e.state.add(line) {
			close(e.changed)
			e.changed = make(chan struct{})
		}
		e.mu.Unlock()
	}
	// A line over 1 MiB ends the scan; drain so the writers never block.
	io.Copy(io.Discard, r)
}

func (e *Emulator) tail(n int) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.logs[max(0, len(e.logs)-n):])
}

// Output returns the emulator's and function's output lines so far (the
// last 2000).
func (e *Emulator) Output() []string { return e.tail(maxLogLines) }

// URL returns the emulator's invoke URL.
func (e *Emulator) URL() string {
	return "http://" + e.addr + "/2015-03-31/functions/function/invocations"
}

// Invoke sends event to the function and waits for its answer. Outcomes:
//   - the handler's result: an Invocation with the payload, nil error;
//   - the handler returned an error or panicked: the Invocation (payload =
//     the error document) and a *FunctionError;
//   - the invoke ran past the timeout: an error wrapping ErrTimeout;
//   - the runtime crashed or exited (also a failed init): a *RuntimeError;
//   - ctx done, or the emulator gone: an error with the output's tail.
//
// The first invoke starts the function: its Invocation.Init is the init
// duration.
func (e *Emulator) Invoke(ctx context.Context, event []byte) (Invocation, error) {
	e.invokeMu.Lock()
	defer e.invokeMu.Unlock()
	inv := Invocation{RequestID: newRequestID()}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL(), bytes.NewReader(event))
	if err != nil {
		return inv, fmt.Errorf("invoke: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amzn-RequestId", inv.RequestID)
	start := time.Now()
	resp, err := e.client.Do(req)
	if err != nil {
		return inv, fmt.Errorf("invoke %s: %w; output:\n%s", inv.RequestID, err, strings.Join(e.tail(30), "\n"))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	resp.Body.Close()
	inv.Elapsed = time.Since(start)
	if err != nil {
		return inv, fmt.Errorf("invoke %s: read response: %w", inv.RequestID, err)
	}
	if len(body) > maxResponse {
		return inv, fmt.Errorf("invoke %s: response over %d bytes", inv.RequestID, maxResponse)
	}
	inv.Payload = body
	if resp.StatusCode != http.StatusOK {
		<-e.settle()
		return inv, &RuntimeError{StatusCode: resp.StatusCode, Body: string(body), Log: e.tail(30)}
	}
	e.recordDescendants()
	if err := e.waitReport(ctx, &inv); err != nil {
		return inv, err
	}
	if bytes.HasPrefix(body, []byte("Task timed out after ")) {
		return inv, fmt.Errorf("invoke %s: %w: %s", inv.RequestID, ErrTimeout, body)
	}
	if fe, ok := parseFunctionError(body); ok {
		return inv, fe
	}
	return inv, nil
}

// reportWait bounds the wait for the REPORT line, which the emulator
// prints before answering but which reaches us through a pipe.
const reportWait = 5 * time.Second

func (e *Emulator) waitReport(ctx context.Context, inv *Invocation) error {
	timer := time.NewTimer(reportWait)
	defer timer.Stop()
	for {
		e.mu.Lock()
		d, ok := e.state.reports[inv.RequestID]
		init := e.state.inits[inv.RequestID]
		changed := e.changed
		e.mu.Unlock()
		if ok {
			inv.Duration, inv.Init = d, init
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("invoke %s: wait for REPORT: %w", inv.RequestID, ctx.Err())
		case <-e.logDone:
			return fmt.Errorf("invoke %s: emulator output ended without a REPORT line", inv.RequestID)
		case <-timer.C:
			return fmt.Errorf("invoke %s: no REPORT line within %s; output:\n%s", inv.RequestID, reportWait, strings.Join(e.tail(30), "\n"))
		}
	}
}

// settle gives the output reader a moment to catch up with lines printed
// just before an error answer.
func (e *Emulator) settle() <-chan time.Time { return time.After(100 * time.Millisecond) }

func (e *Emulator) logDoneOrTimeout() <-chan struct{} {
	ch := make(chan struct{})
	go func() {
		select {
		case <-e.logDone:
		case <-time.After(2 * time.Second):
		}
		close(ch)
	}()
	return ch
}

// recordDescendants remembers the emulator's descendant processes (the
// bootstrap runs in a process group of its own) so Close can kill them.
func (e *Emulator) recordDescendants() {
	procs := descendants(e.cmd.Process.Pid)
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, p := range procs {
		if !slices.Contains(e.procs, p) {
			e.procs = append(e.procs, p)
		}
	}
}

// closeGrace is how long Close waits for the emulator to shut down on
// SIGTERM before killing.
const closeGrace = 3 * time.Second

// Close stops the emulator and the function: SIGTERM to the emulator (it
// then kills the runtime), SIGKILL to its process group and to every
// descendant's process group still alive after closeGrace. It waits for the
// emulator to exit and returns an error only when a process could not be
// signalled. Calling Close again returns the first result.
func (e *Emulator) Close() error {
	e.recordDescendants()
	e.mu.Lock()
	if e.closed {
		err := e.closeErr
		e.mu.Unlock()
		return err
	}
	e.closed = true
	procs := slices.Clone(e.procs)
	e.mu.Unlock()

	var errs []error
	pid := e.cmd.Process.Pid
	if err := e.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		errs = append(errs, fmt.Errorf("signal emulator: %w", err))
	}
	select {
	case <-e.exited:
	case <-time.After(closeGrace):
	}
	if err := syscall.Kill(-pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		errs = append(errs, fmt.Errorf("kill emulator group %d: %w", pid, err))
	}
	for _, p := range procs {
		if err := p.kill(); err != nil {
			errs = append(errs, err)
		}
	}
	<-e.exited
	<-e.logDoneOrTimeout()
	err := errors.Join(errs...)
	e.mu.Lock()
	e.closeErr = err
	e.mu.Unlock()
	return err
}

// newRequestID returns a random UUID-shaped request id.
func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
