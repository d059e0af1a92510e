package awsemu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// emulator describes how to start one kind of emulator.
type emulator struct {
	// name is how errors and logs call it ("kinesis-mock").
	name string
	// ports is how many free loopback ports command needs; the first one
	// serves the endpoint.
	ports int
	// prepare finds the tools and installs what the emulator needs. It
	// returns a *missingError when a tool is not installed.
	prepare func(ctx context.Context) (prepared, error)
	// command builds the command that runs the emulator on ports.
	command func(p prepared, ports []int) *exec.Cmd
	// probe makes one real API call to endpoint; nil means it answered.
	probe func(ctx context.Context, endpoint string) error
	// readyTimeout bounds the wait for the first good probe.
	readyTimeout time.Duration
}

// prepared is what emulator.prepare found: the tools' paths and how long an
// install took (zero when nothing had to be installed).
type prepared struct {
	bin     string
	dir     string
	install time.Duration
}

// missingError reports a tool that is not installed and could not be
// installed; tests skip on it unless CI is set.
type missingError struct {
	// tool is what is missing.
	tool string
	// why says what went wrong; empty means "not found on PATH".
	why string
	// hint is the one command that fixes it.
	hint string
}

func (e *missingError) Error() string {
	why := e.why
	if why == "" {
		why = "not found on PATH"
	}
	return fmt.Sprintf("%s %s; to fix it, run: %s", e.tool, why, e.hint)
}

// instance is one running emulator.
type instance struct {
	name     string
	endpoint string
	// ports are the loopback ports it was told to listen on.
	ports []int
	cmd   *exec.Cmd
	out   *tailBuffer
	// exited is closed once the process has exited; waitErr is then set.
	exited  chan struct{}
	waitErr error
	// install and ready are the start-up figures: the time spent installing
	// (npm ci) and the time from exec to the first good probe.
	install time.Duration
	ready   time.Duration
}

// maxStartAttempts bounds the restarts when an emulator exits before it is
// ready, which happens when another process took a "free" port in between.
const maxStartAttempts = 3

// start prepares and starts e on free loopback ports and waits until it
// answers a real API call.
func start(ctx context.Context, e emulator) (*instance, error) {
	p, err := e.prepare(ctx)
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		inst, err := startOnce(ctx, e, p)
		if err == nil || !errors.Is(err, errExitedEarly) || attempt == maxStartAttempts {
			return inst, err
		}
	}
}

var errExitedEarly = errors.New("exited before it was ready")

func startOnce(ctx context.Context, e emulator, p prepared) (*instance, error) {
	ports, err := freePorts(e.ports)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", e.name, err)
	}
	cmd := e.command(p, ports)
	out := newTailBuffer(16 << 10)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = sysProcAttr()
	// A child of the emulator that inherited its output pipe must not keep
	// Wait (and so the exit of the emulator) from being noticed.
	cmd.WaitDelay = 500 * time.Millisecond
	began := time.Now()
	if err := spawn(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", e.name, err)
	}
	inst := &instance{
		name:     e.name,
		endpoint: "http://127.0.0.1:" + strconv.Itoa(ports[0]),
		ports:    ports,
		cmd:      cmd,
		out:      out,
		exited:   make(chan struct{}),
		install:  p.install,
	}
	go func() {
		inst.waitErr = cmd.Wait()
		close(inst.exited)
	}()
	if err := inst.waitReady(ctx, e.probe, e.readyTimeout); err != nil {
		_ = inst.stop()
		return nil, fmt.Errorf("start %s (%s): %w\n--- last output of %s ---\n%s",
			e.name, cmd, err, e.name, out.String())
	}
	inst.ready = time.Since(began)
	return inst, nil
}

// readyPoll is the pause between two probes of a starting emulator. Until
// the emulator listens a probe is a refused connection, which costs next to
// nothing, so a short fixed pause notices readiness within readyPoll (a
// pause growing to 500 ms made each test binary wait up to that long more
// for each emulator).
const readyPoll = 25 * time.Millisecond

// waitReady polls probe every readyPoll until it succeeds, the process
// exits, or timeout passes.
func (i *instance) waitReady(ctx context.Context, probe func(context.Context, string) error, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		attemptCtx, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		err := probe(attemptCtx, i.endpoint)
		cancelAttempt()
		if err == nil {
			return nil
		}
		select {
		case <-i.exited:
			return fmt.Errorf("%w: %v", errExitedEarly, i.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("no answer at %s within %s: last error: %w", i.endpoint, timeout, err)
		case <-time.After(readyPoll):
		}
	}
}

// killWait bounds the wait for the exit after SIGKILL.
const killWait = 5 * time.Second

// stop ends the emulator's whole process group with SIGKILL and returns
// once the leader has exited. The emulators keep their state in memory
// only, so there is nothing for a graceful shutdown to save: SIGTERM made
// every test binary wait 0.3-0.5 s more per emulator (kinesis-mock's own
// shutdown takes 1.5-3 s).
func (i *instance) stop() error {
	pid := i.cmd.Process.Pid
	if err := killGroup(pid); err != nil {
		return fmt.Errorf("kill %s (pid %d): %w", i.name, pid, err)
	}
	select {
	case <-i.exited:
		return nil
	case <-time.After(killWait):
		return fmt.Errorf("%s (pid %d) still running after SIGKILL", i.name, pid)
	}
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago. Holding all listeners until the end keeps the ports distinct.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free loopback port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// shared is the one instance of an emulator per test binary, started on
// first use.
type shared struct {
	emulator emulator

	once sync.Once
	mu   sync.Mutex // guards inst during stopAll
	inst *instance
	err  error
}

var (
	kinesisMock = &shared{emulator: kinesisMockEmulator}
	moto        = &shared{emulator: motoEmulator}
)

// startTimeout bounds a whole start, npm ci included.
const startTimeout = 6 * time.Minute

// endpoint starts the emulator on first use and returns its base URL. The
// test that started it logs the start-up figures. A start that failed is not
// retried: every later test gets the same error.
func (s *shared) endpoint(t testing.TB) string {
	t.Helper()
	return s.result(t, s.ensure())
}

// ensure starts the emulator unless that was done (or tried) before, and
// reports whether this call started it. It may run on any goroutine.
func (s *shared) ensure() (started bool) {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		inst, err := start(ctx, s.emulator)
		s.mu.Lock()
		s.inst, s.err = inst, err
		s.mu.Unlock()
		started = err == nil
	})
	return started
}

// result returns the endpoint of the started emulator, or skips or fails t
// with the start error. It must run on t's goroutine.
func (s *shared) result(t testing.TB, started bool) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		if shouldSkip(s.err, os.Getenv) {
			t.Skipf("awsemu: %v (CI is not set, so skipping)", s.err)
		}
		t.Fatalf("awsemu: %v", s.err)
	}
	if s.inst == nil {
		t.Fatalf("awsemu: %s was stopped", s.emulator.name)
	}
	if started {
		t.Logf("awsemu: %s ready at %s in %s (install: %s)", s.inst.name, s.inst.endpoint,
			s.inst.ready.Round(time.Millisecond), installSummary(s.inst.install))
	}
	return s.inst.endpoint
}

// shouldSkip reports whether a test skips on the start error err rather
// than failing: only for a missing tool, and never when CI is set.
func shouldSkip(err error, getenv func(string) string) bool {
	var missing *missingError
	return errors.As(err, &missing) && getenv("CI") == ""
}

func installSummary(d time.Duration) string {
	if d == 0 {
		return "none, already installed"
	}
	return d.Round(time.Millisecond).String()
}

// stopAll stops every shared emulator that was started, side by side.
func stopAll() error {
	all := []*shared{kinesisMock, moto}
	errs := make([]error, len(all))
	var wg sync.WaitGroup
	for i, s := range all {
		wg.Go(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.inst != nil {
				errs[i] = s.inst.stop()
				s.inst = nil
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// tailBuffer keeps the last max bytes written to it; it is safe for
// concurrent writes (stdout and stderr of the emulator).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(size int) *tailBuffer { return &tailBuffer{max: size} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.buf) == 0 {
		return "(no output)"
	}
	return string(b.buf)
}
