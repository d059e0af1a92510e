package awsemu

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeEmulator runs script under sh as an "emulator" whose probe answers
// with probeErr.
func fakeEmulator(script string, probeErr error) emulator {
	return emulator{
		name:  "fake",
		ports: 1,
		prepare: func(context.Context) (prepared, error) {
			sh, err := exec.LookPath("sh")
			if err != nil {
				return prepared{}, &missingError{tool: "sh", hint: "a POSIX shell"}
			}
			return prepared{bin: sh}, nil
		},
		command: func(p prepared, ports []int) *exec.Cmd {
			return exec.Command(p.bin, "-c", script, "fake", strconv.Itoa(ports[0]))
		},
		probe:        func(context.Context, string) error { return probeErr },
		readyTimeout: 300 * time.Millisecond,
	}
}

func TestStartReportsEarlyExitWithOutput(t *testing.T) {
	t.Parallel()
	_, err := start(t.Context(), fakeEmulator(`echo "bind: address in use on $1" >&2; exit 3`, errors.New("connection refused")))
	if !errors.Is(err, errExitedEarly) {
		t.Fatalf("start: got %v, want errExitedEarly", err)
	}
	for _, want := range []string{"exit status 3", "bind: address in use on", "--- last output of fake ---"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start error %q does not contain %q", err, want)
		}
	}
}

func TestStartTimesOutWithLastProbeError(t *testing.T) {
	t.Parallel()
	_, err := start(t.Context(), fakeEmulator(`echo starting; exec sleep 60`, errors.New("connection refused")))
	if err == nil {
		t.Fatal("start of an emulator that never answers: got nil error")
	}
	for _, want := range []string{"no answer at http://127.0.0.1:", "connection refused", "starting"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("start error %q does not contain %q", err, want)
		}
	}
}

func TestStopKillsTheProcessGroup(t *testing.T) {
	t.Parallel()
	// The "emulator" starts a child that ignores SIGTERM and prints its pid:
	// stop must still end both.
	inst, err := start(t.Context(), fakeEmulator(`sh -c 'trap "" TERM; echo child=$$; exec sleep 60' & wait`, nil))
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	var child int
	for deadline := time.Now().Add(5 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if _, after, ok := strings.Cut(inst.out.String(), "child="); ok {
			child, _ = strconv.Atoi(strings.TrimSpace(after))
		}
	}
	if child == 0 {
		t.Fatalf("child pid not printed; output: %s", inst.out)
	}
	began := time.Now()
	if err := inst.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	t.Logf("stop took %s", time.Since(began))
	for _, pid := range []int{inst.cmd.Process.Pid, child} {
		// SIGKILL is delivered asynchronously: give the kernel a moment.
		deadline := time.Now().Add(2 * time.Second)
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if alive(pid) {
			t.Errorf("pid %d still running after stop", pid)
		}
	}
}

// alive reports whether pid is a running process, not a zombie waiting for
// its new parent to reap it.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) // no /proc: trust kill
	}
	// The state follows the command name, which is in parentheses.
	_, after, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(after, "Z")
}

func TestTailBufferKeepsTheEnd(t *testing.T) {
	b := newTailBuffer(8)
	for _, s := range []string{"abc", "defgh", "ijkl"} {
		if _, err := b.Write([]byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := b.String(), "efghijkl"; got != want {
		t.Errorf("tail = %q, want %q", got, want)
	}
}
