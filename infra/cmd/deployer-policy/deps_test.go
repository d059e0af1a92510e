package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestLinksNoPulumi: the organiser's tool builds the policy from
// infra/iampolicy and libs/contract, not from the Pulumi program, so it
// links neither Pulumi SDK: it builds in a second, not in the time the AWS
// provider's SDK takes to link.
func TestLinksNoPulumi(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", ".")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps: %v\n%s", err, stderr)
	}
	deps := strings.Fields(string(out))
	for _, p := range deps {
		if strings.HasPrefix(p, "github.com/pulumi/") {
			t.Errorf("deployer-policy links %s", p)
		}
	}
	const module = "github.com/scrape-pipeline/scrape-pipeline/"
	for _, want := range []string{module + "infra/deployer", module + "infra/iampolicy"} {
		if !slices.Contains(deps, want) {
			t.Errorf("go list -deps does not list %s; is it the tool's list?", want)
		}
	}
}
