// Package short is the smoke run's switch: `go test -short work` runs a
// smaller version of the long tests, and CI, which must run the full
// tests, refuses it.
//
// It has no dependencies, so the contract suites (storetest, streamtest,
// archivetest) use it without linking libs/awsemu's AWS clients into every
// backend's test binary.
package short

import (
	"os"
	"testing"
)

// On reports whether the tests run under `go test -short`, for a test that
// then runs a smaller version of itself (fewer iterations, events or
// versions, the same kinds of checks). It fails t when CI is set: CI must
// run the full tests, never a shortened suite.
func On(t testing.TB) bool {
	t.Helper()
	if !testing.Short() {
		return false
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s: -short is not allowed when CI is set: CI runs the full tests", t.Name())
	}
	return true
}

// Skip skips a long test under `go test -short`, saying why, and fails it
// when CI is set (see [On]).
//
// `go test -short work` is meant as a smoke run that still covers every
// kind of check, so prefer fewer iterations under [On] (a smaller campaign,
// fewer events) to skipping a test whose kind of check nothing else makes.
func Skip(t testing.TB, why string) {
	t.Helper()
	if On(t) {
		t.Skip(why + " (skipped with -short)")
	}
}
