package build_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild/build"
)

// hello is the test function of testdata/root.
var hello = build.Function{Name: "hello", Dir: "services/hello/cmd/lambda"}

// sharedCache is a directory for the whole test binary: the copies of
// testdata/root and the zip cache that helloZip builds into.
var sharedCache string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdabuild-test-cache-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedCache = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// helloBuilds memoises helloZip per GOARCH.
var helloBuilds sync.Map // GOARCH → *helloBuild

type helloBuild struct {
	once sync.Once
	art  build.Artifact
	root string
	err  error
}

// helloZip builds hello for goarch ("" is the default) once per test
// binary, from a fresh copy of testdata/root, with go build (into an empty
// zip cache, helloCache), and returns the artifact and the copy's path.
func helloZip(t *testing.T, goarch string) (build.Artifact, string) {
	t.Helper()
	v, _ := helloBuilds.LoadOrStore(goarch, &helloBuild{})
	hb := v.(*helloBuild)
	hb.once.Do(func() {
		root, err := os.MkdirTemp(sharedCache, "root-")
		if err == nil {
			err = copyTree(filepath.Join("..", "testdata", "root"), root)
		}
		if err != nil {
			hb.err = err
			return
		}
		var arts []build.Artifact
		arts, hb.err = build.Build(context.Background(), build.Options{
			Root: root, OutDir: filepath.Join(root, "out"), GOARCH: goarch, CacheDir: helloCache(goarch),
		}, hello)
		if hb.err == nil {
			hb.art, hb.root = arts[0], root
		}
	})
	if hb.err != nil {
		t.Fatal(hb.err)
	}
	return hb.art, hb.root
}

// helloCache is the zip cache that helloZip(goarch) fills, for tests that
// need hello built but do not test building it.
func helloCache(goarch string) string {
	return filepath.Join(sharedCache, "zips-"+goarch)
}

// copyRoot copies testdata/root to a new temporary directory, so tests can
// edit sources and check that the checkout's path does not matter.
func copyRoot(t testing.TB) string {
	t.Helper()
	dst := t.TempDir()
	if err := copyTree(filepath.Join("..", "testdata", "root"), dst); err != nil {
		t.Fatalf("copy testdata: %v", err)
	}
	return dst
}

// copyTree copies the files under src to dst.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

// zipEntry is what a test checks of one zip entry.
type zipEntry struct {
	Name     string
	Mode     fs.FileMode
	Modified time.Time
	Method   uint16
	UnixOS   bool
}

// readZip returns the entries of the zip at path and the content of the
// first one.
func readZip(t *testing.T, path string) ([]zipEntry, []byte) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("open zip: %v", err)
	}
	defer zr.Close()
	var entries []zipEntry
	var first []byte
	for i, f := range zr.File {
		entries = append(entries, zipEntry{
			Name:     f.Name,
			Mode:     f.Mode(),
			Modified: f.Modified.UTC(),
			Method:   f.Method,
			UnixOS:   f.CreatorVersion>>8 == 3,
		})
		if i == 0 {
			rc, err := f.Open()
			if err != nil {
				t.Fatalf("open entry: %v", err)
			}
			if first, err = io.ReadAll(rc); err != nil {
				t.Fatalf("read entry: %v", err)
			}
			rc.Close()
		}
	}
	return entries, first
}

func TestBuildIsReproducible(t *testing.T) {
	t.Parallel()
	// Two checkouts at different paths, built by go build (the first into
	// an empty zip cache, the second with none) into different
	// directories, must give the same bytes.
	ctx := context.Background()
	var zips [][]byte
	for i := range 2 {
		var art build.Artifact
		var root string
		if i == 0 {
			art, root = helloZip(t, "")
		} else {
			root = copyRoot(t)
			arts, err := build.Build(ctx, build.Options{Root: root, OutDir: filepath.Join(root, "out"), NoCache: true}, hello)
			if err != nil {
				t.Fatalf("build %d: %v", i, err)
			}
			if len(arts) != 1 {
				t.Fatalf("build %d: got %d artifacts, want 1", i, len(arts))
			}
			art = arts[0]
		}
		data, err := os.ReadFile(art.ZipPath)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		want := build.Artifact{
			Function: hello,
			ZipPath:  filepath.Join(root, "out", "hello.zip"),
			SHA256:   base64.StdEncoding.EncodeToString(sum[:]),
			Size:     int64(len(data)),
			Key:      art.Key,
		}
		if diff := cmp.Diff(want, art); diff != "" {
			t.Errorf("build %d: artifact (-want +got):\n%s", i, diff)
		}
		zips = append(zips, data)
	}
	if !bytes.Equal(zips[0], zips[1]) {
		t.Fatalf("the same source gave different zips (%d and %d bytes)", len(zips[0]), len(zips[1]))
	}
}

func TestBuildZipLayout(t *testing.T) {
	t.Parallel()
	for _, arch := range []struct {
		goarch  string
		machine elf.Machine
	}{
		{"", elf.EM_AARCH64}, // the default is Lambda's arm64
		{"amd64", elf.EM_X86_64},
	} {
		t.Run("GOARCH="+arch.goarch, func(t *testing.T) {
			t.Parallel()
			art, root := helloZip(t, arch.goarch)
			entries, bin := readZip(t, art.ZipPath)
			want := []zipEntry{{
				Name: "bootstrap", Mode: 0o755, Modified: build.ZipTime, Method: zip.Deflate, UnixOS: true,
			}}
			if diff := cmp.Diff(want, entries); diff != "" {
				t.Errorf("zip entries (-want +got):\n%s", diff)
			}
			ef, err := elf.NewFile(bytes.NewReader(bin))
			if err != nil {
				t.Fatalf("bootstrap is not an ELF binary: %v", err)
			}
			type binary struct {
				Machine elf.Machine
				Type    elf.Type
				Symbols bool
			}
			got := binary{ef.Machine, ef.Type, ef.Section(".symtab") != nil}
			wantELF := binary{Machine: arch.machine, Type: elf.ET_EXEC, Symbols: false}
			if diff := cmp.Diff(wantELF, got); diff != "" {
				t.Errorf("binary (-want +got):\n%s", diff)
			}
			if bytes.Contains(bin, []byte(root)) {
				t.Errorf("binary contains the checkout path %s (-trimpath missing?)", root)
			}
		})
	}
}

func TestBuildCache(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := copyRoot(t)
	opts := build.Options{Root: root, OutDir: filepath.Join(root, "out"), CacheDir: t.TempDir()}
	greet := filepath.Join(root, "libs", "greet", "greet.go")
	original, err := os.ReadFile(greet)
	if err != nil {
		t.Fatal(err)
	}

	type step struct {
		Cached      bool
		SameAsFirst bool
		Rewritten   bool
	}
	var first build.Artifact
	var lastMod time.Time
	run := func(name string, edit func()) step {
		t.Helper()
		edit()
		arts, err := build.Build(ctx, opts, hello)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if first.Key == "" {
			first = arts[0]
		}
		fi, err := os.Stat(arts[0].ZipPath)
		if err != nil {
			t.Fatal(err)
		}
		s := step{Cached: arts[0].Cached, SameAsFirst: arts[0].SHA256 == first.SHA256 && arts[0].Key == first.Key, Rewritten: !fi.ModTime().Equal(lastMod)}
		lastMod = fi.ModTime()
		// Let a rewrite show up in the modification time.
		time.Sleep(20 * time.Millisecond)
		return s
	}
	noEdit := func() {}
	setGreet := func(src string) func() {
		return func() {
			if err := os.WriteFile(greet, []byte(src), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := map[string]step{}
	got["1 first build"] = run("first", noEdit)
	got["2 unchanged"] = run("unchanged", noEdit)
	got["3 local replace edited"] = run("edited", setGreet(strings.Replace(string(original), `" "`, `", "`, 1)))
	got["4 edit reverted"] = run("reverted", setGreet(string(original)))
	got["5 node_modules filled"] = run("node_modules", func() {
		dir := filepath.Join(root, "libs", "greet", "node_modules", "pkg")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "index.js"), "module.exports = 1\n")
	})
	want := map[string]step{
		"1 first build":          {Cached: false, SameAsFirst: true, Rewritten: true},
		"2 unchanged":            {Cached: true, SameAsFirst: true, Rewritten: false},
		"3 local replace edited": {Cached: false, SameAsFirst: false, Rewritten: true},
		"4 edit reverted":        {Cached: true, SameAsFirst: true, Rewritten: true},
		"5 node_modules filled":  {Cached: true, SameAsFirst: true, Rewritten: false},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cache steps (-want +got):\n%s", diff)
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	root := copyRoot(t)
	broken := filepath.Join(root, "services", "broken", "cmd", "lambda")
	if err := os.MkdirAll(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "services", "broken", "go.mod"), "module example.com/broken\n\ngo 1.26\n")
	writeFile(t, filepath.Join(broken, "main.go"), "package main\n\nfunc main() { undefinedName() }\n")
	noModule := t.TempDir()
	helloZip(t, "") // so the compile error case finds hello in helloCache

	tests := []struct {
		name  string
		opts  build.Options
		fns   []build.Function
		wants []string // substrings of the error
	}{
		{
			name:  "every option problem at once",
			opts:  build.Options{GOARCH: "386", Jobs: -1},
			fns:   []build.Function{{Name: "a/b", Dir: "x"}, {Dir: "y"}, {Name: "c"}},
			wants: []string{"root directory is empty", "output directory is empty", `GOARCH "386"`, "jobs -1", `"a/b": name must be a plain file name`, "function 1: empty name", `"c": empty directory`},
		},
		{
			name:  "no functions",
			opts:  build.Options{Root: root, OutDir: t.TempDir()},
			wants: []string{"no function to build"},
		},
		{
			name:  "duplicate name",
			opts:  build.Options{Root: root, OutDir: t.TempDir()},
			fns:   []build.Function{hello, hello},
			wants: []string{`"hello": listed twice`},
		},
		{
			name:  "compile error names the function and shows the compiler",
			opts:  build.Options{Root: root, OutDir: t.TempDir(), CacheDir: helloCache("")}, // hello is a hit
			fns:   []build.Function{hello, {Name: "broken", Dir: "services/broken/cmd/lambda"}},
			wants: []string{"build broken:", "undefined: undefinedName"},
		},
		{
			name:  "missing directory",
			opts:  build.Options{Root: root, OutDir: t.TempDir(), CacheDir: t.TempDir()},
			fns:   []build.Function{{Name: "ghost", Dir: "services/ghost/cmd/lambda"}},
			wants: []string{"build ghost: function dir"},
		},
		{
			name:  "no go.mod",
			opts:  build.Options{Root: noModule, OutDir: t.TempDir(), CacheDir: t.TempDir()},
			fns:   []build.Function{{Name: "loose", Dir: "."}},
			wants: []string{"build loose: no go.mod at or above"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arts, err := build.Build(context.Background(), tt.opts, tt.fns...)
			if err == nil {
				t.Fatalf("Build succeeded with %d artifacts, want an error", len(arts))
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

func TestBuildCancelled(t *testing.T) {
	t.Parallel()
	root := copyRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := build.Build(ctx, build.Options{Root: root, OutDir: t.TempDir(), NoCache: true}, hello)
	if err == nil || !strings.Contains(err.Error(), context.Canceled.Error()) {
		t.Fatalf("Build with a cancelled context: got error %v, want %v", err, context.Canceled)
	}
}

func TestDiscover(t *testing.T) {
	got, err := build.Discover(filepath.Join("..", "testdata", "root"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]build.Function{hello}, got); diff != "" {
		t.Errorf("Discover (-want +got):\n%s", diff)
	}
	if _, err := build.Discover(t.TempDir()); err == nil {
		t.Error("Discover of an empty directory succeeded, want an error")
	}
	// A cmd/lambda without Go source (a service being written) is skipped.
	root := copyRoot(t)
	for _, dir := range []string{"services/empty/cmd/lambda", "services/testsonly/cmd/lambda"} {
		if err := os.MkdirAll(filepath.Join(root, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	writeFile(t, filepath.Join(root, "services/testsonly/cmd/lambda/main_test.go"), "package main\n")
	got, err = build.Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]build.Function{hello}, got); diff != "" {
		t.Errorf("Discover with source-less dirs (-want +got):\n%s", diff)
	}
}

func TestFindRoot(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "infra", "pkg")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(root, "go.work"), "go 1.26\n")
	got, err := build.FindRoot(deep)
	if err != nil {
		t.Fatal(err)
	}
	if got != root {
		t.Errorf("FindRoot(%s) = %s, want %s", deep, got, root)
	}
	if _, err := build.FindRoot(string(filepath.Separator)); err == nil {
		t.Error("FindRoot(/) succeeded, want an error")
	}
}

func TestWriteZip(t *testing.T) {
	payload := bytes.Repeat([]byte("not really an ELF binary "), 1000)
	var a, b bytes.Buffer
	if err := build.WriteZip(&a, payload); err != nil {
		t.Fatal(err)
	}
	if err := build.WriteZip(&b, payload); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("WriteZip of the same payload gave different bytes")
	}
	path := filepath.Join(t.TempDir(), "x.zip")
	writeFile(t, path, a.String())
	entries, got := readZip(t, path)
	want := []zipEntry{{Name: "bootstrap", Mode: 0o755, Modified: build.ZipTime, Method: zip.Deflate, UnixOS: true}}
	if diff := cmp.Diff(want, entries); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	if !bytes.Equal(payload, got) {
		t.Error("entry content differs from the payload")
	}
	if a.Len() >= len(payload)/10 {
		t.Errorf("zip is %d bytes for a %d-byte repetitive payload: not deflated", a.Len(), len(payload))
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
