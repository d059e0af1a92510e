package awsemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// MotoVersion is the moto release the harness installs, as moto[server] in a
// Python virtual environment of its own, when moto_server is not on PATH.
const MotoVersion = "5.2.1"

// motoRequirement is what pip installs.
const motoRequirement = "moto[server]==" + MotoVersion

// motoFix is the one command that gives the harness a moto_server (on PATH)
// where it could not install one itself.
const motoFix = `python3 -m pip install "` + motoRequirement + `"`

const (
	// motoMarker, inside the virtual environment, holds motoRequirement once
	// pip installed it, so an interrupted install (no marker) is redone.
	motoMarker = ".awsemu-installed"
	// pipTimeout bounds the whole install (venv and pip).
	pipTimeout = 5 * time.Minute
	// motoRetryAfter is how long a failed install is remembered: the other
	// test binaries of a `go test work` run skip (or fail) at once instead of
	// each waiting for pip to fail again.
	motoRetryAfter = 5 * time.Minute
)

var motoEmulator = emulator{
	name:         "moto_server",
	ports:        1,
	prepare:      prepareMoto,
	command:      motoCommand,
	probe:        probeMoto,
	readyTimeout: 2 * time.Minute,
}

// prepareMoto uses the moto_server on PATH or, when there is none, the one
// of the harness's own virtual environment, which it installs first if
// needed (see installMoto).
func prepareMoto(ctx context.Context) (prepared, error) {
	if bin, err := exec.LookPath("moto_server"); err == nil {
		return prepared{bin: bin}, nil
	}
	dir, err := motoDir()
	if err != nil {
		return prepared{}, err
	}
	bin, took, err := installMoto(ctx, dir, os.Environ())
	if err != nil {
		return prepared{}, err
	}
	return prepared{bin: bin, install: took}, nil
}

// motoDir is the harness's virtual environment for moto, keyed by the
// pinned version, under the user's cache directory.
func motoDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no directory for moto: %w", err)
	}
	return filepath.Join(cache, "scrape-pipeline-awsemu", "moto-"+MotoVersion), nil
}

// installMoto returns the moto_server of the virtual environment dir,
// creating it and installing motoRequirement into it first unless an
// earlier install completed. It needs only python3: the venv is made
// without pip, and the interpreter's own pip installs into it (pip
// --python); a Python without pip (Debian's python3 without python3-pip)
// bootstraps one into the venv with ensurepip. python3, venv and pip run
// with env, so pip's usual settings apply (PIP_INDEX_URL, PIP_FIND_LINKS,
// proxies). A file lock
// makes concurrent test binaries wait for one install. It returns how long
// the install took, zero when none was needed.
//
// Failures that a command can fix (no python3, no ensurepip, pip finding no
// moto: no network and no wheels) are a *missingError naming that command;
// such a failure is remembered for motoRetryAfter.
func installMoto(ctx context.Context, dir string, env []string) (string, time.Duration, error) {
	bin := filepath.Join(dir, "bin", "moto_server")
	if motoInstalled(dir) {
		return bin, 0, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", 0, fmt.Errorf("install moto: %w", err)
	}
	unlock, err := lockFile(dir + ".lock")
	if err != nil {
		return "", 0, fmt.Errorf("install moto: %w", err)
	}
	defer unlock()
	if motoInstalled(dir) { // another binary installed it while we waited
		return bin, 0, nil
	}
	failed := dir + ".failed"
	if err := recentFailure(failed); err != nil {
		return "", 0, err
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, pipTimeout)
	defer cancel()
	if err := createMotoVenv(ctx, dir, env); err != nil {
		var missing *missingError
		if errors.As(err, &missing) {
			_ = os.WriteFile(failed, []byte(missing.hint+"\n"+missing.why), 0o644)
		}
		return "", 0, err
	}
	if _, err := os.Stat(bin); err != nil {
		return "", 0, fmt.Errorf("install moto: pip installed %s into %s but no moto_server: %w", motoRequirement, dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, motoMarker), []byte(motoRequirement+"\n"), 0o644); err != nil {
		return "", 0, fmt.Errorf("install moto: write install marker: %w", err)
	}
	_ = os.Remove(failed)
	return bin, time.Since(began), nil
}

// createMotoVenv makes a fresh virtual environment in dir and installs
// motoRequirement into it, running the tools with env.
func createMotoVenv(ctx context.Context, dir string, env []string) error {
	python, err := exec.LookPath("python3")
	if err != nil {
		return &missingError{
			tool: "moto_server",
			why:  "is not on PATH, nor python3 to install " + motoRequirement + " with",
			hint: "apt-get install python3 python3-venv",
		}
	}
	if err := os.RemoveAll(dir); err != nil { // a partial install
		return fmt.Errorf("install moto: %w", err)
	}
	if out, err := runTool(ctx, env, python, "-m", "venv", "--without-pip", dir); err != nil {
		return &missingError{
			tool: "moto_server",
			why:  fmt.Sprintf("is not on PATH, and python3 -m venv %s failed (%v):\n%s\n", dir, err, out),
			hint: "apt-get install python3-venv",
		}
	}
	venvPython := filepath.Join(dir, "bin", "python")
	install := []string{"install", "--quiet", "--disable-pip-version-check", "--no-input", motoRequirement}
	out, err := runTool(ctx, env, python, append([]string{"-m", "pip", "--python", venvPython}, install...)...)
	if err != nil && (strings.Contains(out, "No module named pip") || strings.Contains(out, "no such option: --python")) {
		// No pip in python3 (Debian without python3-pip), or one older
		// than 22.3 (no --python): give the venv a pip of its own.
		if out, err := runTool(ctx, env, venvPython, "-m", "ensurepip", "--default-pip"); err != nil {
			return &missingError{
				tool: "moto_server",
				why:  fmt.Sprintf("is not on PATH, and python3 has neither pip nor ensurepip to install %s with (%v):\n%s\n", motoRequirement, err, out),
				hint: "apt-get install python3-venv",
			}
		}
		out, err = runTool(ctx, env, venvPython, append([]string{"-m", "pip"}, install...)...)
	}
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("install moto: pip install %s into %s: %w", motoRequirement, dir, ctx.Err())
		}
		return &missingError{
			tool: "moto_server",
			why: fmt.Sprintf("is not on PATH, and pip could not install %s into %s (no network and no wheels in PIP_FIND_LINKS?): %v\n--- last output of pip ---\n%s\n",
				motoRequirement, dir, err, out),
			hint: motoFix,
		}
	}
	return nil
}

// runTool runs a command with env (PIP_USER off, which a venv install
// refuses) and returns the tail of its combined output.
func runTool(ctx context.Context, env []string, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(slices.Clone(env), "PIP_USER=0")
	out := newTailBuffer(4 << 10)
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	return strings.TrimSpace(out.String()), err
}

// motoInstalled reports whether dir holds a complete install of
// motoRequirement whose interpreter still exists.
func motoInstalled(dir string) bool {
	got, err := os.ReadFile(filepath.Join(dir, motoMarker))
	if err != nil || strings.TrimSpace(string(got)) != motoRequirement {
		return false
	}
	for _, f := range []string{"bin/moto_server", "bin/python"} {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f))); err != nil { // follows the python symlink
			return false
		}
	}
	return true
}

// recentFailure returns the *missingError of an install that failed less
// than motoRetryAfter ago, as recorded in the file failed, or nil.
func recentFailure(failed string) error {
	fi, err := os.Stat(failed)
	if err != nil || time.Since(fi.ModTime()) > motoRetryAfter {
		return nil
	}
	data, err := os.ReadFile(failed)
	if err != nil {
		return nil
	}
	hint, why, _ := strings.Cut(string(data), "\n")
	return &missingError{
		tool: "moto_server",
		why:  fmt.Sprintf("%s(that install failed at %s; it is retried after %s, or now if you delete %s)", why, fi.ModTime().Format(time.TimeOnly), motoRetryAfter, failed),
		hint: hint,
	}
}

// motoCommand runs moto_server on 127.0.0.1 only. The machine's AWS_* and
// MOTO_* variables are dropped so that none of them changes its behaviour.
func motoCommand(p prepared, ports []int) *exec.Cmd {
	cmd := exec.Command(p.bin, "-H", "127.0.0.1", "-p", strconv.Itoa(ports[0]))
	cmd.Dir = os.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "MOTO_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "AWS_DEFAULT_REGION="+Region)
	return cmd
}

// probeMoto calls DynamoDB and then SQS: moto loads a service's backend on its
// first request, so this also takes that cost out of the first test.
func probeMoto(ctx context.Context, endpoint string) error {
	cfg := newConfig(endpoint)
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		return err
	}
	_, err := sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{})
	return err
}
