package main

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/infra/deployer"
	"github.com/scrape-pipeline/scrape-pipeline/infra/iampolicy"
)

// TestRun prints the number of parts, then each part, and checks that
// they are deployer.Policies, JSON an organiser can hand to aws iam
// create-policy.
func TestRun(t *testing.T) {
	flags := []string{"--suffix", "courseX", "--region", "eu-west-2", "--account", "123456789012"}
	want, err := deployer.Policies(deployer.Options{Suffix: "courseX", Region: "eu-west-2", Account: "123456789012"})
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	if err := run(append([]string{"--parts"}, flags...), &out, &errOut); err != nil {
		t.Fatalf("--parts: %v", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(out.String()))
	if err != nil || n != len(want) {
		t.Fatalf("--parts printed %q, want %d", out.String(), len(want))
	}
	for i := 1; i <= n; i++ {
		out.Reset()
		if err := run(append([]string{"--part", strconv.Itoa(i)}, flags...), &out, &errOut); err != nil {
			t.Fatalf("--part %d: %v", i, err)
		}
		var got iampolicy.Document
		if err := json.Unmarshal(out.Bytes(), &got); err != nil {
			t.Fatalf("--part %d is not a policy: %v\n%s", i, err, out.String())
		}
		if diff := cmp.Diff(want[i-1], got); diff != "" {
			t.Errorf("--part %d (-want +got):\n%s", i, diff)
		}
	}
}

// TestRunRefuses checks the command's errors: bad options, all at once;
// a part out of range; and, for a policy of several parts, no --part.
func TestRunRefuses(t *testing.T) {
	docs, err := deployer.Policies(deployer.Options{Suffix: "courseX"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want []string
	}{
		{[]string{"--region", "London"}, []string{`suffix ""`, `region "London"`}},
		{[]string{"--suffix", "courseX", "--part", "99"}, []string{"--part 99: the policy has parts 1 to"}},
		{[]string{"--suffix", "courseX", "extra"}, []string{"unexpected arguments"}},
		{[]string{"--nope"}, []string{"flag provided but not defined"}},
	}
	if len(docs) > 1 {
		tests = append(tests, struct {
			args []string
			want []string
		}{[]string{"--suffix", "courseX"}, []string{"it comes in", "--part 1"}})
	}
	for _, tc := range tests {
		var out, errOut bytes.Buffer
		err := run(tc.args, &out, &errOut)
		if err == nil {
			t.Errorf("%v: no error; printed %s", tc.args, out.String())
			continue
		}
		msg := err.Error() + errOut.String()
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%v: %q lacks %q", tc.args, msg, w)
			}
		}
		if out.Len() != 0 {
			t.Errorf("%v: printed %q with the error", tc.args, out.String())
		}
	}
}
