package boot_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild/build"
	"github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild/rie"
)

// outDir receives the zips built by this test binary.
var outDir string

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "boot-zips-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	outDir = dir
	return awsemu.Main(m)
}

// repoRoot returns the repository root (the go.work above this module).
func repoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := build.FindRoot(".")
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// onceResult memoises a build or an install for the whole test binary.
type onceResult[T any] struct {
	once sync.Once
	val  T
	err  error
}

var (
	buildsMu sync.Mutex
	builds   = map[string]*onceResult[build.Artifact]{}
	// buildSlots bounds the functions built at once by the parallel boot
	// tests (as build.Build's Jobs does within one call), so linking does
	// not take more cores, or memory, than the machine has.
	buildSlots = make(chan struct{}, runtime.GOMAXPROCS(0))
	emulator   onceResult[string]
)

// artifact builds the named function for this machine's architecture,
// once per test binary, through the same build package (and zip cache) as
// the deployment, and returns its zip. Tests may call it in parallel.
func artifact(tb testing.TB, name string) build.Artifact {
	tb.Helper()
	root := repoRoot(tb)
	fns, err := build.Discover(root)
	if err != nil {
		tb.Fatal(err)
	}
	i := slices.IndexFunc(fns, func(f build.Function) bool { return f.Name == name })
	if i < 0 {
		tb.Fatalf("services/%s/%s not found under %s", name, build.LambdaDir, root)
	}
	buildsMu.Lock()
	r, ok := builds[name]
	if !ok {
		r = &onceResult[build.Artifact]{}
		builds[name] = r
	}
	buildsMu.Unlock()
	r.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		buildSlots <- struct{}{}
		defer func() { <-buildSlots }()
		arts, err := build.Build(ctx, build.Options{Root: root, OutDir: outDir, GOARCH: runtime.GOARCH}, fns[i])
		if err != nil {
			r.err = err
			return
		}
		r.val = arts[0]
	})
	if r.err != nil {
		tb.Fatal(r.err)
	}
	return r.val
}

// emulatorPath installs the pinned emulator once per test binary.
func emulatorPath(tb testing.TB) string {
	tb.Helper()
	emulator.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		emulator.val, emulator.err = rie.Install(ctx, "")
	})
	if emulator.err != nil {
		tb.Fatal(emulator.err)
	}
	return emulator.val
}

// boot starts the named function under the emulator with env until tb
// ends. The function's output is logged when tb fails.
func boot(tb testing.TB, name string, env map[string]string) *rie.Emulator {
	tb.Helper()
	e := start(tb, name, env)
	tb.Cleanup(func() {
		if err := e.Close(); err != nil {
			tb.Errorf("close emulator: %v", err)
		}
		if tb.Failed() {
			tb.Logf("%s output:\n%s", name, strings.Join(e.Output(), "\n"))
		}
	})
	return e
}

// lambdaLogging is what Lambda adds to the environment of a function with
// the stack's logging configuration (JSON format, application level INFO).
var lambdaLogging = map[string]string{
	"AWS_LAMBDA_LOG_FORMAT": "JSON",
	"AWS_LAMBDA_LOG_LEVEL":  "INFO",
}

// start starts the named function under the emulator with env (plus
// lambdaLogging); the caller closes it.
func start(tb testing.TB, name string, env map[string]string) *rie.Emulator {
	tb.Helper()
	env = emulatorEnv(nil, env)
	for k, v := range lambdaLogging {
		if _, ok := env[k]; !ok {
			env[k] = v
		}
	}
	art := artifact(tb, name)
	bootstrap, err := rie.ExtractBootstrap(art.ZipPath, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	// The install may wait on another test's go install (a cold cache
	// takes a minute): resolve it before the start's own deadline runs.
	rieBin := emulatorPath(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := rie.Start(ctx, rie.Config{
		Emulator:     rieBin,
		Bootstrap:    bootstrap,
		FunctionName: name,
		MemoryMB:     256,
		Timeout:      30 * time.Second,
		Env:          env,
	})
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// emulatorEnv turns awsemu's KEY=value list into a function environment.
func emulatorEnv(kvs []string, extra map[string]string) map[string]string {
	env := make(map[string]string, len(kvs)+len(extra))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	for k, v := range extra {
		env[k] = v
	}
	return env
}

// event reads a recorded event from testdata/events.
func event(tb testing.TB, file string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", file))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// invoke sends a recorded event and fails tb on any error, a handler
// error included.
func invoke(tb testing.TB, e *rie.Emulator, file string) rie.Invocation {
	tb.Helper()
	return invokePayload(tb, e, file, event(tb, file))
}

// invokePayload sends payload (named name in messages) and fails tb on any
// error, a handler error included.
func invokePayload(tb testing.TB, e *rie.Emulator, name string, payload []byte) rie.Invocation {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	inv, err := e.Invoke(ctx, payload)
	if err != nil {
		tb.Fatalf("invoke with %s: %v", name, err)
	}
	return inv
}

// httpResponse is an API Gateway v2 response with the body decoded.
type httpResponse struct {
	Status      int
	ContentType string
	Body        string
}

// decodeHTTP decodes an API Gateway v2 (payload format 2.0) response,
// undoing base64 and gzip.
func decodeHTTP(tb testing.TB, payload []byte) httpResponse {
	tb.Helper()
	var r events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(payload, &r); err != nil {
		tb.Fatalf("decode API Gateway response %q: %v", payload, err)
	}
	header := func(name string) string {
		for k, v := range r.Headers {
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return ""
	}
	body := []byte(r.Body)
	if r.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(r.Body)
		if err != nil {
			tb.Fatalf("decode base64 body: %v", err)
		}
		body = b
	}
	if header("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			tb.Fatalf("gunzip body: %v", err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			tb.Fatalf("gunzip body: %v", err)
		}
	}
	return httpResponse{Status: r.StatusCode, ContentType: header("Content-Type"), Body: string(body)}
}

// logLine returns the first JSON line of output whose message is msg.
func logLine(output []string, msg string) (map[string]any, bool) {
	for _, l := range output {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["message"] == msg {
			return m, true
		}
	}
	return nil, false
}
