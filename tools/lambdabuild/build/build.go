package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
)

// Function names one Lambda function to build.
type Function struct {
	// Name is the function's short name (scraper, processor, …). The zip
	// is written as Name + ".zip", so Name must be a plain file name.
	Name string `json:"name"`
	// Dir is the directory of the function's main package, absolute or
	// relative to [Options.Root].
	Dir string `json:"dir"`
}

// Options configures [Build]. Root and OutDir are required; the zero value
// of every other field selects the default documented on it.
type Options struct {
	// Root is the repository root; relative [Function.Dir] values are
	// resolved against it.
	Root string
	// OutDir receives one <name>.zip per function. It is created if needed.
	OutDir string
	// GOARCH is the target architecture: "arm64" (the default, what the
	// stack deploys) or "amd64". The runtime boot tests use the host's
	// runtime.GOARCH so the binary runs under the emulator here.
	GOARCH string
	// Jobs bounds how many functions are built at once; default
	// runtime.GOMAXPROCS(0). Each go build parallelises internally too.
	Jobs int
	// CacheDir holds the zip cache (see the package doc); default
	// [DefaultCacheDir]. NoCache turns the cache off.
	CacheDir string
	// NoCache builds every function even when the cache has its key, and
	// stores nothing in the cache.
	NoCache bool
	// GoCmd is the go command; default "go", looked up in PATH.
	GoCmd string
	// Env is the environment the go command starts from; default
	// os.Environ(). The settings that decide the output (GOOS, GOARCH,
	// CGO_ENABLED, GOWORK, GOFLAGS, GOEXPERIMENT, GOARM64, GOAMD64,
	// GOFIPS140) are always overridden.
	Env []string
}

// Artifact is one built function.
type Artifact struct {
	// Function is the function that was built.
	Function Function `json:"function"`
	// ZipPath is the absolute path of the zip in [Options.OutDir].
	ZipPath string `json:"zipPath"`
	// SHA256 is the standard base64 encoding of the zip's SHA-256, the
	// form Lambda's CodeSha256 and Pulumi's sourceCodeHash use.
	SHA256 string `json:"sha256"`
	// Size is the zip's size in bytes.
	Size int64 `json:"size"`
	// Key is the hex cache key of the build's inputs.
	Key string `json:"key"`
	// Cached reports whether the zip came from the cache, go build not run.
	Cached bool `json:"cached"`
}

// DefaultCacheDir returns the directory used when [Options.CacheDir] is
// empty: lambdabuild under the user's cache directory.
func DefaultCacheDir() (string, error) {
	dir, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("user cache dir: %w", err)
	}
	return filepath.Join(dir, "scrape-pipeline", "lambdabuild"), nil
}

// buildFlags are the go build flags of every function, part of the cache key.
var buildFlags = []string{"-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-tags=lambda.norpc"}

func (o Options) validate(fns []Function) error {
	var errs []error
	if o.Root == "" {
		errs = append(errs, errors.New("root directory is empty"))
	}
	if o.OutDir == "" {
		errs = append(errs, errors.New("output directory is empty"))
	}
	switch o.GOARCH {
	case "", "arm64", "amd64":
	default:
		errs = append(errs, fmt.Errorf("GOARCH %q: Lambda runs arm64 or amd64", o.GOARCH))
	}
	if o.Jobs < 0 {
		errs = append(errs, fmt.Errorf("jobs %d is negative", o.Jobs))
	}
	if len(fns) == 0 {
		errs = append(errs, errors.New("no function to build"))
	}
	seen := make(map[string]bool)
	for i, fn := range fns {
		switch {
		case fn.Name == "":
			errs = append(errs, fmt.Errorf("function %d: empty name", i))
		case fn.Name != filepath.Base(fn.Name) || fn.Name == "." || fn.Name == "..":
			errs = append(errs, fmt.Errorf("function %q: name must be a plain file name", fn.Name))
		case seen[fn.Name]:
			errs = append(errs, fmt.Errorf("function %q: listed twice", fn.Name))
		}
		seen[fn.Name] = true
		if fn.Dir == "" {
			errs = append(errs, fmt.Errorf("function %q: empty directory", fn.Name))
		}
	}
	return errors.Join(errs...)
}

// Build builds every function (at most [Options.Jobs] at once) and returns
// one [Artifact] per function, in the order given. Outcomes:
//   - bad options or functions: an error listing every problem, nothing built;
//   - a failing build (compile error, missing go.sum entry, no go.mod above
//     the directory): an error naming each failed function with the go
//     command's output; the functions that did build still have their zips
//     in OutDir, but no Artifact is returned;
//   - ctx cancelled: the running go commands are killed and ctx's error
//     is returned.
//
// Build is safe to call concurrently, also from several processes sharing a
// cache directory: cache entries are written to a temporary file and renamed.
func Build(ctx context.Context, opts Options, fns ...Function) ([]Artifact, error) {
	if err := opts.validate(fns); err != nil {
		return nil, fmt.Errorf("lambda build options: %w", err)
	}
	b, err := newBuilder(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(b.outDir, 0o755); err != nil {
		return nil, fmt.Errorf("create output dir: %w", err)
	}

	arts := make([]Artifact, len(fns))
	errs := make([]error, len(fns))
	sem := make(chan struct{}, b.jobs)
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = fmt.Errorf("build %s: %w", fn.Name, ctx.Err())
				return
			}
			defer func() { <-sem }()
			arts[i], errs[i] = b.build(ctx, fn)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return arts, nil
}

type builder struct {
	root, outDir, cacheDir string
	goarch, goCmd          string
	jobs                   int
	noCache                bool
	env                    []string
}

func newBuilder(opts Options) (*builder, error) {
	root, err := filepath.Abs(opts.Root)
	if err != nil {
		return nil, fmt.Errorf("root dir: %w", err)
	}
	out, err := filepath.Abs(opts.OutDir)
	if err != nil {
		return nil, fmt.Errorf("output dir: %w", err)
	}
	b := &builder{
		root: root, outDir: out, cacheDir: opts.CacheDir,
		goarch: opts.GOARCH, goCmd: opts.GoCmd, jobs: opts.Jobs, noCache: opts.NoCache,
	}
	if b.goarch == "" {
		b.goarch = "arm64"
	}
	if b.goCmd == "" {
		b.goCmd = "go"
	}
	if b.jobs == 0 {
		b.jobs = runtime.GOMAXPROCS(0)
	}
	if b.cacheDir == "" && !b.noCache {
		if b.cacheDir, err = DefaultCacheDir(); err != nil {
			return nil, err
		}
	}
	base := opts.Env
	if base == nil {
		base = os.Environ()
	}
	b.env = overrideEnv(base, map[string]string{
		"GOOS":         "linux",
		"GOARCH":       b.goarch,
		"CGO_ENABLED":  "0",
		"GOWORK":       "off",
		"GOFLAGS":      "",
		"GOEXPERIMENT": "",
		"GOARM64":      "",
		"GOAMD64":      "",
		"GOFIPS140":    "",
	})
	return b, nil
}

// overrideEnv returns base without the keys of set, followed by set in a
// fixed order.
func overrideEnv(base []string, set map[string]string) []string {
	env := make([]string, 0, len(base)+len(set))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := set[k]; !ok {
			env = append(env, kv)
		}
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		env = append(env, k+"="+set[k])
	}
	return env
}

func (b *builder) build(ctx context.Context, fn Function) (Artifact, error) {
	art := Artifact{Function: fn, ZipPath: filepath.Join(b.outDir, fn.Name+".zip")}
	dir := fn.Dir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(b.root, dir)
	}
	modDir, err := findModule(dir)
	if err != nil {
		return art, fmt.Errorf("build %s: %w", fn.Name, err)
	}
	pkg, err := filepath.Rel(modDir, dir)
	if err != nil {
		return art, fmt.Errorf("build %s: %w", fn.Name, err)
	}
	pkg = "./" + filepath.ToSlash(pkg)

	key, err := b.key(ctx, modDir, pkg)
	if err != nil {
		return art, fmt.Errorf("build %s: %w", fn.Name, err)
	}
	art.Key = key

	var zipBytes []byte
	cachePath := filepath.Join(b.cacheDir, key[:2], key+".zip")
	if !b.noCache {
		zipBytes, err = os.ReadFile(cachePath)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return art, fmt.Errorf("build %s: read cache: %w", fn.Name, err)
		}
		art.Cached = err == nil
	}
	if zipBytes == nil {
		bin, err := b.goBuild(ctx, modDir, pkg)
		if err != nil {
			return art, fmt.Errorf("build %s: %w", fn.Name, err)
		}
		var buf bytes.Buffer
		if err := WriteZip(&buf, bin); err != nil {
			return art, fmt.Errorf("build %s: %w", fn.Name, err)
		}
		zipBytes = buf.Bytes()
		if !b.noCache {
			if err := writeFileAtomic(cachePath, zipBytes); err != nil {
				return art, fmt.Errorf("build %s: store in cache: %w", fn.Name, err)
			}
		}
	}
	if err := writeIfChanged(art.ZipPath, zipBytes); err != nil {
		return art, fmt.Errorf("build %s: %w", fn.Name, err)
	}
	sum := sha256.Sum256(zipBytes)
	art.SHA256 = base64.StdEncoding.EncodeToString(sum[:])
	art.Size = int64(len(zipBytes))
	return art, nil
}

// goBuild compiles pkg of the module in modDir and returns the binary.
func (b *builder) goBuild(ctx context.Context, modDir, pkg string) ([]byte, error) {
	tmp, err := os.MkdirTemp("", "lambdabuild-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	out := filepath.Join(tmp, "bootstrap")
	args := append([]string{"build"}, buildFlags...)
	args = append(args, "-o", out, pkg)
	if _, err := b.goCommand(ctx, modDir, args...); err != nil {
		return nil, err
	}
	bin, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("read binary: %w", err)
	}
	return bin, nil
}

// goCommand runs the go command in dir with the build environment and
// returns its standard output; a failure carries its standard error.
func (b *builder) goCommand(ctx context.Context, dir string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, b.goCmd, args...)
	cmd.Dir = dir
	cmd.Env = b.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("go %s in %s: %w\n%s", args[0], dir, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// findModule returns the directory of the nearest go.mod at or above dir.
func findModule(dir string) (string, error) {
	if fi, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("function dir: %w", err)
	} else if !fi.IsDir() {
		return "", fmt.Errorf("function dir %s is not a directory", dir)
	}
	for d := dir; ; {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod at or above %s", dir)
		}
		d = parent
	}
}

// writeIfChanged writes data to path unless the file already holds exactly
// data, so an unchanged zip keeps its modification time.
func writeIfChanged(path string, data []byte) error {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	return writeFileAtomic(path, data)
}

// writeFileAtomic writes data to a temporary file next to path and renames
// it, so concurrent readers see either the old or the new content.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create dir: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path)+"-")
	if err != nil {
		return fmt.Errorf("create temp file: %w", err)
	}
	_, werr := io.Copy(f, bytes.NewReader(data))
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("chmod %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("rename to %s: %w", path, err)
	}
	return nil
}
