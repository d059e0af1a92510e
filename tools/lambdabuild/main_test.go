package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild/build"
)

func TestRun(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	// The user's zip cache, as a developer's run uses it: hello is linked
	// once, not on every test run.
	args := []string{"-out", out, "-root", filepath.Join("testdata", "root"), "-json", "hello"}
	if err := run(context.Background(), args, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\nstderr: %s", err, stderr.String())
	}
	var arts []build.Artifact
	if err := json.Unmarshal(stdout.Bytes(), &arts); err != nil {
		t.Fatalf("decode output: %v\n%s", err, stdout.String())
	}
	if len(arts) != 1 {
		t.Fatalf("got %d artifacts, want 1:\n%s", len(arts), stdout.String())
	}
	want := build.Artifact{
		Function: build.Function{Name: "hello", Dir: filepath.Join("services", "hello", "cmd", "lambda")},
		ZipPath:  filepath.Join(out, "hello.zip"),
		SHA256:   arts[0].SHA256,
		Size:     arts[0].Size,
		Key:      arts[0].Key,
		Cached:   arts[0].Cached, // a hit from an earlier run, or built now
	}
	if diff := cmp.Diff(want, arts[0]); diff != "" {
		t.Errorf("artifact (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(want.ZipPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != arts[0].Size {
		t.Errorf("zip is %d bytes, the artifact says %d", fi.Size(), arts[0].Size)
	}
}

func TestRunErrors(t *testing.T) {
	root := filepath.Join("testdata", "root")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"missing -out", []string{"-root", root}, "-out is required"},
		{"unknown function", []string{"-out", t.TempDir(), "-root", root, "hello", "nope"}, `unknown function "nope" (known: [hello])`},
		{"root without services", []string{"-out", t.TempDir(), "-root", t.TempDir()}, "no services/*/cmd/lambda directory"},
		{"bad flag", []string{"-frobnicate"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) error = %v, want one containing %q", tt.args, err, tt.want)
			}
		})
	}
}
