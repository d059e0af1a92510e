//go:build linux

package rie_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild/build"
	"github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild/rie"
)

// emulatorPath and helloBootstrap are set up once by TestMain: the pinned
// emulator and the testdata function built for this machine.
var emulatorPath, helloBootstrap string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "rie-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if emulatorPath, err = rie.Install(ctx, ""); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	arts, err := build.Build(ctx, build.Options{
		Root:   filepath.Join("..", "testdata", "root"),
		OutDir: tmp,
		GOARCH: runtime.GOARCH,
	}, build.Function{Name: "hello", Dir: "services/hello/cmd/lambda"})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if helloBootstrap, err = rie.ExtractBootstrap(arts[0].ZipPath, tmp); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}

// start runs the hello function under the emulator until the test ends.
func start(t *testing.T, cfg rie.Config) *rie.Emulator {
	t.Helper()
	cfg.Emulator = emulatorPath
	if cfg.Bootstrap == "" {
		cfg.Bootstrap = helloBootstrap
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := rie.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
		if t.Failed() {
			t.Logf("emulator output:\n%s", strings.Join(e.Output(), "\n"))
		}
	})
	return e
}

func invoke(t *testing.T, e *rie.Emulator, event string) (rie.Invocation, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return e.Invoke(ctx, []byte(event))
}

func TestInvoke(t *testing.T) {
	t.Parallel()
	e := start(t, rie.Config{FunctionName: "hello-fn", Env: map[string]string{"GREETING_PREFIX": "hi"}})
	type result struct {
		Payload any
		Cold    bool
	}
	var got []result
	for range 2 {
		inv, err := invoke(t, e, `{"name":"bob"}`)
		if err != nil {
			t.Fatal(err)
		}
		var payload any
		if err := json.Unmarshal(inv.Payload, &payload); err != nil {
			t.Fatalf("payload %q: %v", inv.Payload, err)
		}
		if inv.Elapsed <= 0 || inv.Duration <= 0 {
			t.Errorf("invoke %s: elapsed %s, duration %s; want both positive", inv.RequestID, inv.Elapsed, inv.Duration)
		}
		got = append(got, result{Payload: payload, Cold: inv.Init > 0})
	}
	answer := map[string]any{"greeting": "hi bob", "function": "hello-fn"}
	want := []result{{Payload: answer, Cold: true}, {Payload: answer, Cold: false}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("invocations (-want +got):\n%s", diff)
	}
}

func TestInvokeFunctionError(t *testing.T) {
	t.Parallel()
	e := start(t, rie.Config{})
	tests := []struct {
		name  string
		event string
		want  *rie.FunctionError
	}{
		{"handler error", `{}`, &rie.FunctionError{Type: "errorString", Message: "name is required"}},
		{"event that is not JSON", `not json`, &rie.FunctionError{Type: "SyntaxError", Message: "invalid character 'o' in literal null (expecting 'u')"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv, err := invoke(t, e, tt.event)
			var fe *rie.FunctionError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v (payload %q), want a *FunctionError", err, inv.Payload)
			}
			if diff := cmp.Diff(tt.want, fe); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// The runtime survives handler errors.
	if _, err := invoke(t, e, `{"name":"after"}`); err != nil {
		t.Errorf("invoke after errors: %v", err)
	}
}

func TestInvokeTimeout(t *testing.T) {
	t.Parallel()
	e := start(t, rie.Config{Timeout: time.Second})
	_, err := invoke(t, e, `{"name":"slow","sleepMillis":5000}`)
	if !errors.Is(err, rie.ErrTimeout) {
		t.Fatalf("error %v, want %v", err, rie.ErrTimeout)
	}
}

func TestInitFailure(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	script := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"config: MOVIES_TABLE is empty\" >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	e := start(t, rie.Config{Bootstrap: script})
	_, err := invoke(t, e, `{}`)
	var re *rie.RuntimeError
	if !errors.As(err, &re) {
		t.Fatalf("error %v, want a *RuntimeError", err)
	}
	if re.StatusCode != 502 || !strings.Contains(strings.Join(re.Log, "\n"), "config: MOVIES_TABLE is empty") {
		t.Errorf("RuntimeError status %d, log:\n%s\nwant 502 and the bootstrap's message", re.StatusCode, strings.Join(re.Log, "\n"))
	}
}

func TestEnvironment(t *testing.T) {
	t.Setenv("GOFLAGS", "-race") // this process's environment must not reach the function
	t.Setenv("MY_LEAK", "x")
	e := start(t, rie.Config{
		FunctionName: "envfn", MemoryMB: 512, Timeout: 7 * time.Second,
		Env: map[string]string{"MY_SETTING": "a=b", "AWS_REGION": "eu-west-2"},
	})
	names := []string{
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_TIMEOUT",
		"AWS_LAMBDA_FUNCTION_VERSION", "AWS_REGION", "AWS_DEFAULT_REGION", "MY_SETTING", "TZ",
		"GOFLAGS", "MY_LEAK", "HOME",
	}
	event, err := json.Marshal(map[string]any{"name": "env", "env": names})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := invoke(t, e, string(event))
	if err != nil {
		t.Fatal(err)
	}
	var got struct{ Env map[string]string }
	if err := json.Unmarshal(inv.Payload, &got); err != nil {
		t.Fatalf("payload %q: %v", inv.Payload, err)
	}
	want := map[string]string{
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
		"AWS_LAMBDA_FUNCTION_NAME":        "envfn",
		"AWS_LAMBDA_FUNCTION_TIMEOUT":     "7",
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_REGION":                      "eu-west-2",
		"AWS_DEFAULT_REGION":              "us-east-1",
		"MY_SETTING":                      "a=b",
		"TZ":                              ":UTC",
	}
	if diff := cmp.Diff(want, got.Env); diff != "" {
		t.Errorf("function environment (-want +got):\n%s", diff)
	}
}

func TestCloseKillsTheFunction(t *testing.T) {
	t.Parallel()
	// A copy of its own, so the processes found by path are this test's
	// while the other tests run the hello function too.
	bin, err := os.ReadFile(helloBootstrap)
	if err != nil {
		t.Fatal(err)
	}
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	if err := os.WriteFile(bootstrap, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	e := start(t, rie.Config{Bootstrap: bootstrap})
	if _, err := invoke(t, e, `{"name":"x"}`); err != nil {
		t.Fatal(err)
	}
	pids := bootstrapPIDs(t, bootstrap)
	if len(pids) == 0 {
		t.Fatal("no running bootstrap found after an invoke")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for alive(pid) {
			if time.Now().After(deadline) {
				t.Fatalf("bootstrap %d still running after Close", pid)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func TestStartErrors(t *testing.T) {
	t.Parallel()
	_, err := rie.Start(context.Background(), rie.Config{
		Bootstrap: filepath.Join(t.TempDir(), "missing"), MemoryMB: 64, Timeout: 1500 * time.Millisecond,
		Env: map[string]string{"AWS_LAMBDA_MAX_CONCURRENCY": "4", "A=B": "x"},
	})
	if err == nil {
		t.Fatal("Start succeeded, want an error")
	}
	for _, want := range []string{
		"emulator path is empty", "bootstrap: stat", "memory 64 MB", "timeout 1.5s",
		"AWS_LAMBDA_MAX_CONCURRENCY: set nothing", `"A=B": invalid name`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\ndoes not contain %q", err, want)
		}
	}
}

// bootstrapPIDs returns the pids of running processes whose executable is
// path.
func bootstrapPIDs(t *testing.T, path string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		var pid int
		if _, err := fmt.Sscan(e.Name(), &pid); err != nil {
			continue
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err == nil && exe == path && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}
