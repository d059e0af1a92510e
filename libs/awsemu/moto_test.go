package awsemu

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// motoWheelhouse writes, into a new directory that it returns, the wheel of
// a stand-in moto MotoVersion: it has the "server" extra and a moto_server
// console script that prints its arguments. pip installs it as it would the
// real one, without a network.
func motoWheelhouse(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	info := "moto-" + MotoVersion + ".dist-info/"
	files := [][2]string{
		{"awsemu_stand_in_moto.py", "import sys\n\n\ndef main():\n    print(\"stand-in moto_server\", *sys.argv[1:])\n"},
		{info + "METADATA", "Metadata-Version: 2.1\nName: moto\nVersion: " + MotoVersion + "\nProvides-Extra: server\n"},
		{info + "WHEEL", "Wheel-Version: 1.0\nGenerator: awsemu-test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"},
		{info + "entry_points.txt", "[console_scripts]\nmoto_server = awsemu_stand_in_moto:main\n"},
	}
	f, err := os.Create(filepath.Join(dir, "moto-"+MotoVersion+"-py3-none-any.whl"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	var record strings.Builder
	for _, file := range files {
		w, err := zw.Create(file[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(file[1])); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(file[1]))
		fmt.Fprintf(&record, "%s,sha256=%s,%d\n", file[0], base64.RawURLEncoding.EncodeToString(sum[:]), len(file[1]))
	}
	fmt.Fprintf(&record, "%sRECORD,,\n", info)
	w, err := zw.Create(info + "RECORD")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(record.String())); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(zw.Close(), f.Close()); err != nil {
		t.Fatal(err)
	}
	return dir
}

// requirePython3 skips t when python3 is missing, or fails it when CI is set.
func requirePython3(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("python3 is needed to install moto: %v", err)
		}
		t.Skipf("python3 not found (%v); install it with: apt-get install python3 python3-venv", err)
	}
}

// TestInstallMoto installs moto as a machine without moto_server does on
// its first emulator test, with the real python3, venv and pip, reading
// wheels from a directory (PIP_FIND_LINKS, no index): first where there are
// none (a machine without network), then the stand-in moto.
func TestInstallMoto(t *testing.T) {
	t.Parallel()
	requirePython3(t)
	env := func(wheels string) []string {
		return append(os.Environ(), "PIP_NO_INDEX=1", "PIP_FIND_LINKS="+wheels)
	}
	noWheels := env(t.TempDir())
	dir := filepath.Join(t.TempDir(), "moto-"+MotoVersion)

	// Nothing to install from: a *missingError that names the fix, which
	// skips without CI and fails with it.
	_, _, err := installMoto(t.Context(), dir, noWheels)
	var missing *missingError
	if !errors.As(err, &missing) {
		t.Fatalf("installMoto with nothing to install from: got %v, want a *missingError", err)
	}
	if diff := cmp.Diff(`python3 -m pip install "moto[server]==`+MotoVersion+`"`, missing.hint); diff != "" {
		t.Errorf("hint (-want +got):\n%s", diff)
	}
	for _, want := range []string{"pip could not install moto[server]==" + MotoVersion, "--- last output of pip ---", "to fix it, run: " + motoFix} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q\ndoes not contain %q", err, want)
		}
	}
	if !shouldSkip(err, func(string) string { return "" }) || shouldSkip(err, func(string) string { return "true" }) {
		t.Errorf("a failed install must skip without CI and fail with it: %v", err)
	}
	// The other test binaries of the run do not wait for pip to fail again.
	began := time.Now()
	_, _, again := installMoto(t.Context(), dir, noWheels)
	if !errors.As(again, &missing) || missing.hint != motoFix || !strings.Contains(again.Error(), "that install failed at") {
		t.Errorf("second installMoto: got %v, want the remembered failure", again)
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("the remembered failure took %s to report", took)
	}

	// With the wheel, and the failure forgotten as the message says:
	// concurrent callers (the test binaries of one `go test work`) install
	// once, over the unfinished venv of the failed attempt.
	if err := os.Remove(dir + ".failed"); err != nil {
		t.Fatal(err)
	}
	wheels := env(motoWheelhouse(t))
	type result struct {
		Bin       string
		Installed bool
	}
	results := make([]result, 3)
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			bin, took, err := installMoto(t.Context(), dir, wheels)
			if err != nil {
				t.Errorf("installMoto: %v", err)
			}
			results[i] = result{bin, took > 0}
		})
	}
	wg.Wait()
	installs := 0
	for i, r := range results {
		if r.Installed {
			installs++
		}
		results[i].Installed = false
	}
	if installs != 1 {
		t.Errorf("%d of %d concurrent calls installed moto, want 1", installs, len(results))
	}
	wantBin := filepath.Join(dir, "bin", "moto_server")
	if diff := cmp.Diff([]result{{Bin: wantBin}, {Bin: wantBin}, {Bin: wantBin}}, results); diff != "" {
		t.Errorf("installMoto results (-want +got):\n%s", diff)
	}
	out, err := exec.Command(wantBin, "-H", "127.0.0.1").CombinedOutput()
	if got, want := strings.TrimSpace(string(out)), "stand-in moto_server -H 127.0.0.1"; err != nil || got != want {
		t.Errorf("run the installed moto_server: %q, %v; want %q", got, err, want)
	}
	if _, took, err := installMoto(t.Context(), dir, wheels); err != nil || took != 0 {
		t.Errorf("installMoto once installed: took %s, err %v; want no install", took, err)
	}
}
