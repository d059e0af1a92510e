package awsemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
)

// kinesisFiles are the pinned kinesis-mock package files, embedded so the
// harness also works where its source directory is not at hand (-trimpath,
// a read-only module cache).
//
//go:embed kinesis-mock/package.json kinesis-mock/package-lock.json kinesis-mock/loopback.cjs
var kinesisFiles embed.FS

const (
	kinesisDirName = "kinesis-mock"
	// kinesisMain is kinesis-mock's entry point inside its directory, the
	// "bin" of the kinesis-local package; server.json is its TLS certificate.
	kinesisMain = "node_modules/kinesis-local/main.js"
	kinesisCert = "node_modules/kinesis-local/server.json"
	// installMarker, inside node_modules, holds the sha256 of the
	// package-lock.json that npm ci installed, so a changed lockfile
	// reinstalls and an interrupted npm ci (no marker) is redone.
	installMarker = "node_modules/.awsemu-installed"
	// npmTimeout bounds npm ci.
	npmTimeout = 5 * time.Minute
)

var kinesisMockEmulator = emulator{
	name:         "kinesis-mock",
	ports:        2, // plain HTTP (the endpoint), TLS (required, unused)
	prepare:      prepareKinesisMock,
	command:      kinesisMockCommand,
	probe:        probeKinesis,
	readyTimeout: 2 * time.Minute,
}

func prepareKinesisMock(ctx context.Context) (prepared, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return prepared{}, &missingError{tool: "node (Node.js)", hint: "apt-get install nodejs npm"}
	}
	dir, err := kinesisDir()
	if err != nil {
		return prepared{}, fmt.Errorf("kinesis-mock directory: %w", err)
	}
	took, err := npmCI(ctx, dir)
	if err != nil {
		return prepared{}, err
	}
	return prepared{bin: node, dir: dir, install: took}, nil
}

// kinesisMockCommand runs kinesis-mock with Node directly (not through npx),
// so the PID is the emulator's. The environment is built from scratch, so no
// variable of the machine (LOG_LEVEL, INITIALIZE_STREAMS, NODE_OPTIONS, …)
// changes its behaviour.
func kinesisMockCommand(p prepared, ports []int) *exec.Cmd {
	cmd := exec.Command(p.bin,
		"--require", filepath.Join(p.dir, "loopback.cjs"),
		filepath.Join(p.dir, kinesisMain))
	cmd.Dir = p.dir
	cmd.Env = append(passEnv("PATH", "HOME", "TMPDIR", "LANG", "LC_ALL"),
		"AWSEMU_BIND_HOST=127.0.0.1",
		"KINESIS_MOCK_CERT_PATH="+filepath.Join(p.dir, kinesisCert),
		"KINESIS_MOCK_PLAIN_PORT="+strconv.Itoa(ports[0]),
		"KINESIS_MOCK_TLS_PORT="+strconv.Itoa(ports[1]),
		"AWS_REGION="+Region,
		// Tests create and delete streams all the time: make every
		// transition near-instant and the limits out of reach.
		"CREATE_STREAM_DURATION=5ms",
		"DELETE_STREAM_DURATION=5ms",
		"REGISTER_STREAM_CONSUMER_DURATION=5ms",
		"DEREGISTER_STREAM_CONSUMER_DURATION=5ms",
		"START_STREAM_ENCRYPTION_DURATION=5ms",
		"STOP_STREAM_ENCRYPTION_DURATION=5ms",
		"MERGE_SHARDS_DURATION=5ms",
		"SPLIT_SHARD_DURATION=5ms",
		"UPDATE_SHARD_COUNT_DURATION=5ms",
		"UPDATE_STREAM_MODE_DURATION=5ms",
		"SHARD_LIMIT=10000",
		"ON_DEMAND_STREAM_COUNT_LIMIT=1000",
		// Warnings (bad requests) and errors only; they end up in the
		// output tail shown when a start fails.
		"LOG_LEVEL=WARN",
		"ROOT_LOG_LEVEL=ERROR",
		"SHOULD_PERSIST_DATA=false",
		"LOAD_DATA_IF_EXISTS=false",
	)
	return cmd
}

// passEnv returns KEY=value for each of keys that is set.
func passEnv(keys ...string) []string {
	var env []string
	for _, k := range keys {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func probeKinesis(ctx context.Context, endpoint string) error {
	cfg := newConfig(endpoint)
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	_, err := kinesis.NewFromConfig(cfg).ListStreams(ctx, &kinesis.ListStreamsInput{})
	return err
}

// kinesisDir returns the directory holding kinesis-mock's package.json: the
// one next to this source file when it is there and writable (node_modules is
// installed into it, ignored by git), else a per-user cache directory filled
// from the embedded copies.
func kinesisDir() (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		dir := filepath.Join(filepath.Dir(file), kinesisDirName)
		if sameAsEmbedded(dir) && writable(dir) {
			return dir, nil
		}
	}
	lock, err := kinesisFiles.ReadFile(kinesisDirName + "/package-lock.json")
	if err != nil {
		return "", err
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no directory for kinesis-mock: %w", err)
	}
	sum := sha256.Sum256(lock)
	dir := filepath.Join(cache, "scrape-pipeline-awsemu", kinesisDirName+"-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, name := range kinesisPackageFiles {
		data, err := kinesisFiles.ReadFile(kinesisDirName + "/" + name)
		if err != nil {
			return "", err
		}
		if err := writeIfChanged(filepath.Join(dir, name), data); err != nil {
			return "", fmt.Errorf("write kinesis-mock package files to %s: %w", dir, err)
		}
	}
	return dir, nil
}

// kinesisPackageFiles are the embedded files of the kinesis-mock directory.
var kinesisPackageFiles = []string{"package.json", "package-lock.json", "loopback.cjs"}

// writeIfChanged writes data to path unless it already holds it, through a
// rename so that a concurrent reader never sees a partial file.
func writeIfChanged(path string, data []byte) error {
	if got, err := os.ReadFile(path); err == nil && bytes.Equal(got, data) {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".awsemu-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// sameAsEmbedded reports whether dir holds the package files this binary
// embeds (so a stale checkout is never run in place of the pinned one).
func sameAsEmbedded(dir string) bool {
	for _, name := range kinesisPackageFiles {
		want, err := kinesisFiles.ReadFile(kinesisDirName + "/" + name)
		if err != nil {
			return false
		}
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.Equal(got, want) {
			return false
		}
	}
	return true
}

func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".awsemu-probe-*")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

// npmCI installs kinesis-mock into dir/node_modules with `npm ci` unless the
// install marker says the current lockfile is already installed. A file lock
// makes concurrent test binaries wait for one install instead of racing. It
// returns how long the install took, zero when none was needed.
func npmCI(ctx context.Context, dir string) (time.Duration, error) {
	lock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return 0, fmt.Errorf("read kinesis-mock lockfile: %w", err)
	}
	sum := sha256.Sum256(lock)
	want := hex.EncodeToString(sum[:])
	if installed(dir, want) {
		return 0, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return 0, &missingError{tool: "npm", hint: "apt-get install nodejs npm"}
	}
	unlock, err := lockFile(filepath.Join(dir, ".npm-ci.lock"))
	if err != nil {
		return 0, fmt.Errorf("npm ci lock: %w", err)
	}
	defer unlock()
	if installed(dir, want) { // another binary installed it while we waited
		return 0, nil
	}
	began := time.Now()
	ctx, cancel := context.WithTimeout(ctx, npmTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
	out := newTailBuffer(8 << 10)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return 0, fmt.Errorf("npm ci in %s failed (needs the npm registry or a warm npm cache): %w\n--- last output of npm ---\n%s",
			dir, err, strings.TrimSpace(out.String()))
	}
	if _, err := os.Stat(filepath.Join(dir, kinesisMain)); err != nil {
		return 0, fmt.Errorf("npm ci in %s did not install kinesis-mock: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, installMarker), []byte(want+"\n"), 0o644); err != nil {
		return 0, fmt.Errorf("write install marker: %w", err)
	}
	return time.Since(began), nil
}

// installed reports whether dir/node_modules holds the install of the
// lockfile whose sha256 is sum.
func installed(dir, sum string) bool {
	got, err := os.ReadFile(filepath.Join(dir, installMarker))
	if err != nil || strings.TrimSpace(string(got)) != sum {
		return false
	}
	_, err = os.Stat(filepath.Join(dir, kinesisMain))
	return err == nil
}
