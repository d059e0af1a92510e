package rie

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
)

// The emulator's module, main package and pinned version.
const (
	Module      = "github.com/aws/aws-lambda-runtime-interface-emulator"
	MainPackage = Module + "/cmd/aws-lambda-rie"
	Version     = "v0.0.0-20261030222936-bef5c4ba774d"
)

// DefaultCacheDir returns where [Install] puts the emulator when given no
// directory: scrape-pipeline/rie under the user's cache directory.
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("user cache dir: %w", err)
	}
	return filepath.Join(dir, "scrape-pipeline", "rie"), nil
}

// Install returns the path of the emulator binary for this machine's OS and
// architecture in cacheDir ([DefaultCacheDir] if empty), building it with
// `go install MainPackage@Version` first if it is not there. The go command
// is taken from PATH; GOWORK, GOFLAGS and CGO_ENABLED of the caller's
// environment are overridden so the workspace and local settings play no
// part. Installing is safe from several processes at once: each builds into
// a temporary directory and renames the result into place.
func Install(ctx context.Context, cacheDir string) (string, error) {
	if cacheDir == "" {
		var err error
		if cacheDir, err = DefaultCacheDir(); err != nil {
			return "", err
		}
	}
	target := filepath.Join(cacheDir, fmt.Sprintf("aws-lambda-rie-%s-%s-%s", Version, runtime.GOOS, runtime.GOARCH))
	if fi, err := os.Stat(target); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o100 != 0 {
		return target, nil
	}
	if err := os.MkdirAll(cacheDir, 0o755); err != nil {
		return "", fmt.Errorf("install emulator: %w", err)
	}
	gobin, err := os.MkdirTemp(cacheDir, ".install-")
	if err != nil {
		return "", fmt.Errorf("install emulator: %w", err)
	}
	defer os.RemoveAll(gobin)

	cmd := exec.CommandContext(ctx, "go", "install", MainPackage+"@"+Version)
	cmd.Dir = gobin
	cmd.Env = append(withoutKeys(os.Environ(), "GOBIN", "GOWORK", "GOFLAGS", "CGO_ENABLED", "GOOS", "GOARCH"),
		"GOBIN="+gobin, "GOWORK=off", "GOFLAGS=", "CGO_ENABLED=0",
		"GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return "", fmt.Errorf("install emulator: %w", ctx.Err())
		}
		return "", fmt.Errorf("install emulator: go install %s@%s: %w\n%s", MainPackage, Version, err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(filepath.Join(gobin, "aws-lambda-rie"), target); err != nil {
		return "", fmt.Errorf("install emulator: %w", err)
	}
	return target, nil
}

// withoutKeys returns env without the entries for keys.
func withoutKeys(env []string, keys ...string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		drop := false
		for _, key := range keys {
			if k == key {
				drop = true
				break
			}
		}
		if !drop {
			out = append(out, kv)
		}
	}
	return out
}
