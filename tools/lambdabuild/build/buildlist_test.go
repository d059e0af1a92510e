package build_test

import (
	"archive/zip"
	"bytes"
	"debug/buildinfo"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild/build"
)

// Deployed = tested: every function is built in module mode (GOWORK=off,
// its own go.mod), while `go test work` tests the workspace's build list.
// These tests read the build info embedded in each built bootstrap and hold
// it to the workspace's build list, so a go.mod that `go work sync` would
// change fails here, naming the module and both versions.

// TestDeployedBuildListsMatchTheWorkspace builds every function of the
// repository exactly as infra does (build.Build with infra's options:
// linux/arm64, the user's zip cache) and compares each bootstrap's
// dependencies with the workspace's build list.
func TestDeployedBuildListsMatchTheWorkspace(t *testing.T) {
	t.Parallel()
	root, err := build.FindRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	fns, err := build.Discover(root)
	if err != nil {
		t.Fatal(err)
	}
	arts, err := build.Build(t.Context(), build.Options{Root: root, OutDir: t.TempDir()}, fns...)
	if err != nil {
		t.Fatal(err)
	}
	tested := workspaceBuildList(t, root, os.Environ())
	for _, a := range arts {
		if diff := buildListDiff(root, zipBuildInfo(t, a.ZipPath), tested); len(diff) > 0 {
			t.Errorf("the %s zip is not built with the modules `go test work` tests (run `go work sync`, then `GOWORK=off go mod tidy` in each changed module):\n\t%s",
				a.Function.Name, strings.Join(diff, "\n\t"))
		}
	}
}

// TestBuildListDiffCatchesAnUnsyncedModule proves the check on a workspace
// made for the purpose: the function's go.mod requires example.com/dep
// v1.0.0, another workspace module v1.1.0, so `go test work` tests v1.1.0
// while the function is built with v1.0.0. After `go work sync` the two
// agree. The dependency is served by a module proxy in a directory
// (GOPROXY=file://…), so nothing is fetched from the network.
func TestBuildListDiffCatchesAnUnsyncedModule(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	proxy := filepath.Join(dir, "proxy")
	for _, v := range []string{"v1.0.0", "v1.1.0"} {
		writeProxyModule(t, proxy, "example.com/dep", v, map[string]string{
			"dep.go": "package dep\n\n// Version is the module version.\nfunc Version() string { return \"" + v + "\" }\n",
		})
	}
	ws := filepath.Join(dir, "ws")
	writeFiles(t, ws, map[string]string{
		"go.work":                           "go 1.26\n\nuse (\n\t./libs/newer\n\t./services/hello\n)\n",
		"services/hello/go.mod":             "module example.com/ws/services/hello\n\ngo 1.26\n\nrequire example.com/dep v1.0.0\n",
		"services/hello/cmd/lambda/main.go": "package main\n\nimport (\n\t\"fmt\"\n\n\t\"example.com/dep\"\n)\n\nfunc main() { fmt.Println(dep.Version()) }\n",
		"libs/newer/go.mod":                 "module example.com/ws/libs/newer\n\ngo 1.26\n\nrequire example.com/dep v1.1.0\n",
		"libs/newer/newer.go":               "// Package newer needs the newer dep.\npackage newer\n\nimport \"example.com/dep\"\n\n// Version is dep's version.\nvar Version = dep.Version()\n",
	})
	env := append(os.Environ(),
		"GOPROXY=file://"+filepath.ToSlash(proxy),
		"GOSUMDB=off",
		"GOMODCACHE="+filepath.Join(dir, "modcache"),
		"GOFLAGS=-modcacherw", // so t.TempDir can remove the module cache
		"GOTOOLCHAIN=local",
		"GOWORK=",
	)
	for _, m := range []string{"libs/newer", "services/hello"} {
		goCmd(t, filepath.Join(ws, m), env, "GOWORK=off", "mod", "tidy")
	}
	hello := build.Function{Name: "hello", Dir: "services/hello/cmd/lambda"}
	check := func() []string {
		t.Helper()
		arts, err := build.Build(t.Context(), build.Options{Root: ws, OutDir: t.TempDir(), NoCache: true, Env: env}, hello)
		if err != nil {
			t.Fatal(err)
		}
		return buildListDiff(ws, zipBuildInfo(t, arts[0].ZipPath), workspaceBuildList(t, ws, env))
	}

	want := []string{"example.com/dep: the bootstrap has v1.0.0, go test work tests v1.1.0"}
	if diff := cmp.Diff(want, check()); diff != "" {
		t.Errorf("before go work sync: differences (-want +got):\n%s", diff)
	}
	// What CI asks for: go work sync, then each module tidy on its own
	// (sync raises requirements but does not add their go.sum lines).
	goCmd(t, ws, env, "", "work", "sync")
	goCmd(t, filepath.Join(ws, "services", "hello"), env, "GOWORK=off", "mod", "tidy")
	if diff := cmp.Diff([]string(nil), check()); diff != "" {
		t.Errorf("after go work sync: differences (-want +got):\n%s", diff)
	}
}

func TestBuildListDiff(t *testing.T) {
	t.Parallel()
	root := filepath.FromSlash("/repo")
	main := debug.Module{Path: "example.com/repo/services/a"}
	tested := map[string]listedModule{
		"example.com/repo/services/a": {Path: "example.com/repo/services/a", Main: true, Dir: filepath.FromSlash("/repo/services/a")},
		"example.com/repo/libs/b":     {Path: "example.com/repo/libs/b", Main: true, Dir: filepath.FromSlash("/repo/libs/b")},
		"example.com/x":               {Path: "example.com/x", Version: "v1.2.0"},
		"example.com/y":               {Path: "example.com/y", Version: "v1.0.0", Replace: &listedModule{Path: "example.com/fork", Version: "v1.0.1"}},
	}
	tests := []struct {
		name string
		main debug.Module
		deps []*debug.Module
		want []string
	}{
		{
			name: "same versions, local lib from its workspace directory",
			main: main,
			deps: []*debug.Module{
				{Path: "example.com/repo/libs/b", Version: "v0.0.0", Replace: &debug.Module{Path: "../../libs/b", Version: "(devel)"}},
				{Path: "example.com/x", Version: "v1.2.0"},
				{Path: "example.com/y", Version: "v1.0.0", Replace: &debug.Module{Path: "example.com/fork", Version: "v1.0.1"}},
			},
		},
		{
			name: "every kind of difference",
			main: main,
			deps: []*debug.Module{
				{Path: "example.com/repo/libs/b", Version: "v0.0.0", Replace: &debug.Module{Path: "../../vendor/b", Version: "(devel)"}},
				{Path: "example.com/x", Version: "v1.1.0"},
				{Path: "example.com/y", Version: "v1.0.0"},
				{Path: "example.com/z", Version: "v0.1.0"},
			},
			want: []string{
				"example.com/repo/libs/b: the bootstrap has directory vendor/b, go test work tests directory libs/b",
				"example.com/x: the bootstrap has v1.1.0, go test work tests v1.2.0",
				"example.com/y: the bootstrap has v1.0.0, go test work tests example.com/fork@v1.0.1",
				"example.com/z: the bootstrap has v0.1.0, go test work tests nothing (not in its build list)",
			},
		},
		{
			name: "function outside the workspace",
			main: debug.Module{Path: "example.com/elsewhere"},
			want: []string{"example.com/elsewhere: the function's module is not in go.work, so go test work does not test it"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bi := &buildinfo.BuildInfo{Main: tt.main, Deps: tt.deps}
			if diff := cmp.Diff(tt.want, buildListDiff(root, bi, tested)); diff != "" {
				t.Errorf("buildListDiff (-want +got):\n%s", diff)
			}
		})
	}
}

// listedModule is a module as `go list -m -json` prints it.
type listedModule struct {
	Path    string
	Version string
	Main    bool
	Dir     string
	Replace *listedModule
}

// workspaceBuildList returns, by module path, the build list `go test work`
// uses: `go list -m -json all` with the workspace of root on.
func workspaceBuildList(t *testing.T, root string, env []string) map[string]listedModule {
	t.Helper()
	out := goCmd(t, root, env, "GOWORK="+filepath.Join(root, "go.work"), "list", "-m", "-json", "all")
	list := map[string]listedModule{}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var m listedModule
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		list[m.Path] = m
	}
	return list
}

// zipBuildInfo reads the build info embedded in the bootstrap of a
// function zip.
func zipBuildInfo(t *testing.T, zipPath string) *buildinfo.BuildInfo {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	i := slices.IndexFunc(zr.File, func(f *zip.File) bool { return f.Name == build.ZipEntryName })
	if i < 0 {
		t.Fatalf("%s has no %s", zipPath, build.ZipEntryName)
	}
	rc, err := zr.File[i].Open()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	bi, err := buildinfo.Read(bytes.NewReader(bin))
	if err != nil {
		t.Fatalf("build info of %s: %v", zipPath, err)
	}
	return bi
}

// buildListDiff returns, sorted, one line for each dependency of the binary
// whose code did not come from where the workspace's build list (tested)
// takes it: another version, another replacement, another directory, or a
// module the list does not have. A local replace is resolved against the
// function's module directory; directories are shown relative to root.
func buildListDiff(root string, bi *buildinfo.BuildInfo, tested map[string]listedModule) []string {
	mainMod, ok := tested[bi.Main.Path]
	if !ok || !mainMod.Main {
		return []string{bi.Main.Path + ": the function's module is not in go.work, so go test work does not test it"}
	}
	source := func(path, version, dir string) string {
		switch {
		case dir != "":
			if rel, err := filepath.Rel(root, dir); err == nil {
				dir = filepath.ToSlash(rel)
			}
			return "directory " + dir
		case path == "":
			return "nothing (not in its build list)"
		}
		return version
	}
	var diffs []string
	for _, d := range bi.Deps {
		var got string
		switch r := d.Replace; {
		case r == nil:
			got = source(d.Path, d.Version, "")
		case r.Version == "" || r.Version == "(devel)":
			dir := r.Path
			if !filepath.IsAbs(dir) {
				dir = filepath.Join(mainMod.Dir, dir)
			}
			got = source(r.Path, "", filepath.Clean(dir))
		default:
			got = source(r.Path, r.Path+"@"+r.Version, "")
		}
		var want string
		switch m, ok := tested[d.Path]; {
		case !ok:
			want = source("", "", "")
		case m.Main:
			want = source(m.Path, "", m.Dir)
		case m.Replace != nil && m.Replace.Version == "":
			want = source(m.Replace.Path, "", m.Replace.Dir)
		case m.Replace != nil:
			want = source(m.Replace.Path, m.Replace.Path+"@"+m.Replace.Version, "")
		default:
			want = source(m.Path, m.Version, "")
		}
		if got != want {
			diffs = append(diffs, fmt.Sprintf("%s: the bootstrap has %s, go test work tests %s", d.Path, got, want))
		}
	}
	slices.Sort(diffs)
	return diffs
}

// goCmd runs the go command in dir with env (plus the one setting gowork,
// if not empty) and returns its standard output.
func goCmd(t *testing.T, dir string, env []string, gowork string, args ...string) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = dir
	cmd.Env = env
	if gowork != "" {
		cmd.Env = append(slices.Clone(env), gowork)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go %s in %s: %v\n%s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return out
}

// writeFiles writes files (slash paths relative to dir) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, content)
	}
}

// writeProxyModule adds version of module path, holding files and a go.mod,
// to the module proxy directory proxy (the layout GOPROXY=file:// reads).
func writeProxyModule(t *testing.T, proxy, path, version string, files map[string]string) {
	t.Helper()
	gomod := "module " + path + "\n\ngo 1.26\n"
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	names := []string{"go.mod"}
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		content := files[name]
		if name == "go.mod" {
			content = gomod
		}
		w, err := zw.Create(path + "@" + version + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(w, content); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	at := path + "/@v/"
	list := ""
	if old, err := os.ReadFile(filepath.Join(proxy, filepath.FromSlash(at+"list"))); err == nil {
		list = string(old)
	}
	writeFiles(t, proxy, map[string]string{
		at + "list":            list + version + "\n",
		at + version + ".info": `{"Version":"` + version + `","Time":"2026-01-01T00:00:00Z"}`,
		at + version + ".mod":  gomod,
		at + version + ".zip":  zbuf.String(),
	})
}
