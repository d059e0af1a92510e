package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/scrape-pipeline/scrape-pipeline/"

// linked returns the import paths of the packages pkg links, itself
// included (go list -deps).
func linked(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, stderr)
	}
	return strings.Fields(string(out))
}

// TestProgramLinksNoService: the Pulumi program takes what it must agree
// on with the services (routes, the sample chart's path, the schedule's
// input, the default profile's detail concurrency) from libs/contract, so
// it links none of them: not the scraper with its HTML parser, not the
// query or sample site handlers. The one exception is services/archiver,
// a small package whose Firehose buffer settings (BufferSizeMB,
// BufferIntervalSeconds) are derived from its response limit and tested
// beside it.
func TestProgramLinksNoService(t *testing.T) {
	deps := linked(t, ".")
	allowed := []string{module + "services/archiver"}
	for _, p := range deps {
		switch {
		case strings.HasPrefix(p, module+"services/") && !slices.Contains(allowed, p):
			t.Errorf("the program links %s", p)
		case strings.HasPrefix(p, "github.com/antchfx/"),
			p == "golang.org/x/net/html", strings.HasPrefix(p, "golang.org/x/net/html/"):
			t.Errorf("the program links the scraper's HTML parsing: %s", p)
		}
	}
	// The list is the program's: it holds what the program does link.
	for _, want := range []string{module + "infra/pipeline", module + "libs/contract", module + "services/archiver"} {
		if !slices.Contains(deps, want) {
			t.Errorf("go list -deps does not list %s; is it the program's list?", want)
		}
	}
}

// TestDeployerPolicyLinksNoPulumi: the organiser's tool builds the policy
// from infra/iampolicy and libs/contract, not from the Pulumi program, so
// it links neither Pulumi SDK: it builds in a second, not in the time the
// AWS provider's SDK takes to link.
func TestDeployerPolicyLinksNoPulumi(t *testing.T) {
	deps := linked(t, "./cmd/deployer-policy")
	for _, p := range deps {
		if strings.HasPrefix(p, "github.com/pulumi/") {
			t.Errorf("deployer-policy links %s", p)
		}
	}
	for _, want := range []string{module + "infra/deployer", module + "infra/iampolicy"} {
		if !slices.Contains(deps, want) {
			t.Errorf("go list -deps does not list %s; is it the tool's list?", want)
		}
	}
}
