package awsemu

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeNPM puts an `npm` on PATH that runs script (sh) and returns the
// directory that holds a kinesis-mock lockfile to install.
func fakeNPM(t *testing.T, script string) (dir string) {
	t.Helper()
	bin := t.TempDir()
	if err := os.WriteFile(filepath.Join(bin, "npm"), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	dir = t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "package-lock.json"), []byte(`{"lockfileVersion":3}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// installScript is a fake `npm ci` that counts its runs in ci-runs and
// installs a kinesis-mock main.js.
const installScript = `echo run >> ci-runs
mkdir -p node_modules/kinesis-local && echo '// main' > node_modules/kinesis-local/main.js`

func TestNpmCIRunsOnceAcrossConcurrentCallers(t *testing.T) {
	dir := fakeNPM(t, "sleep 0.2\n"+installScript)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := npmCI(t.Context(), dir); err != nil {
				t.Errorf("npmCI: %v", err)
			}
		})
	}
	wg.Wait()
	took, err := npmCI(t.Context(), dir)
	if err != nil || took != 0 {
		t.Errorf("npmCI once installed = %v, %v; want 0, nil", took, err)
	}
	runs, err := os.ReadFile(filepath.Join(dir, "ci-runs"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("run\n", string(runs)); diff != "" {
		t.Errorf("npm ci runs (-want +got):\n%s", diff)
	}
}

func TestNpmCIReinstallsWhenTheLockfileChanges(t *testing.T) {
	dir := fakeNPM(t, installScript)
	if _, err := npmCI(t.Context(), dir); err != nil {
		t.Fatalf("first npmCI: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package-lock.json"), []byte(`{"lockfileVersion":3,"x":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := npmCI(t.Context(), dir); err != nil {
		t.Fatalf("npmCI after the lockfile changed: %v", err)
	}
	runs, _ := os.ReadFile(filepath.Join(dir, "ci-runs"))
	if diff := cmp.Diff("run\nrun\n", string(runs)); diff != "" {
		t.Errorf("npm ci runs (-want +got):\n%s", diff)
	}
}

func TestNpmCIFailureShowsNpmOutput(t *testing.T) {
	dir := fakeNPM(t, `echo "npm ERR! code E404" >&2; exit 1`)
	_, err := npmCI(t.Context(), dir)
	if err == nil {
		t.Fatal("npmCI with a failing npm: got nil error")
	}
	for _, want := range []string{"npm ci in " + dir + " failed", "exit status 1", "npm ERR! code E404"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("npmCI error %q does not contain %q", err, want)
		}
	}
}

func TestNpmCIWithoutKinesisMockIsAnError(t *testing.T) {
	dir := fakeNPM(t, `exit 0`)
	if _, err := npmCI(t.Context(), dir); err == nil || !strings.Contains(err.Error(), "did not install kinesis-mock") {
		t.Errorf("npmCI that installs nothing: got %v, want a 'did not install' error", err)
	}
}

func TestKinesisDirHoldsThePinnedPackage(t *testing.T) {
	dir, err := kinesisDir()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"kinesis-local": "0.6.2"`) {
		t.Errorf("%s/package.json does not pin kinesis-local 0.6.2:\n%s", dir, data)
	}
}
