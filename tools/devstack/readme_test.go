package main

import (
	"bytes"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestHelp: -h prints the usage and exits 0, as Go's own tools do.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "DEVSTACK_CHILD_ARGS="+arg)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Errorf("devstack %s: %v, want exit status 0\n%s", arg, err, stderr.String())
		}
		if out := stdout.String() + stderr.String(); !strings.Contains(out, "Usage: go run ./tools/devstack [flags]") || !strings.Contains(out, "-archive-interval") {
			t.Errorf("devstack %s printed %q, want the usage", arg, out)
		}
	}
}

// TestREADMEListsEveryFlag: the flag table of the README's "Run it
// locally" section names every flag -h prints, and no other.
func TestREADMEListsEveryFlag(t *testing.T) {
	var usage strings.Builder
	if _, _, _, err := parseFlags([]string{"-h"}, &usage); err == nil {
		t.Fatal("-h parsed without flag.ErrHelp")
	}
	printed := flagsInUsage(usage.String())
	if len(printed) < 20 {
		t.Fatalf("found %d flags in the usage, too few to be right:\n%s", len(printed), usage.String())
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented, err := flagsInTable(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(printed, documented); diff != "" {
		t.Errorf("flags printed by -h (-) and listed in the README's table (+) differ:\n%s", diff)
	}
}

// flagsInUsage returns the flag names of flag.PrintDefaults output
// ("  -name type" lines), sorted.
func flagsInUsage(usage string) []string {
	var names []string
	for _, m := range regexp.MustCompile(`(?m)^  -([a-z][a-z0-9-]*)`).FindAllStringSubmatch(usage, -1) {
		names = append(names, m[1])
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// flagsInTable returns the flags named (`--name`) in the first column of
// the table in the README's "Run it locally" section, sorted.
func flagsInTable(readme string) ([]string, error) {
	_, section, ok := strings.Cut(readme, "\n## Run it locally")
	if !ok {
		return nil, errNoSection
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var names []string
	name := regexp.MustCompile("`--([a-z][a-z0-9-]*)")
	for line := range strings.Lines(section) {
		cells := strings.Split(line, "|")
		if !strings.HasPrefix(line, "| `--") || len(cells) < 3 {
			continue
		}
		for _, m := range name.FindAllStringSubmatch(cells[1], -1) {
			names = append(names, m[1])
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

type sectionError string

func (e sectionError) Error() string { return string(e) }

const errNoSection = sectionError(`README.md has no "## Run it locally" section`)

func TestFlagsInTable(t *testing.T) {
	readme := "# x\n| `--nope` | | |\n## Run it locally (devstack)\n\n| flag | default | |\n| --- | --- | --- |\n" +
		"| `--addr`, `--site-addr` | `127.0.0.1:8080` | the API, `--data` in text |\n| `--aws` | off | |\n## Tests\n| `--later` | | |\n"
	got, err := flagsInTable(readme)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"addr", "aws", "site-addr"}, got); diff != "" {
		t.Errorf("flagsInTable (-want +got):\n%s", diff)
	}
	usage := "Usage: x\n  -addr string\n    \tthe API (default \"127.0.0.1:8080\")\n  -aws\n    \tuse AWS\n  -schedule DURATION\n    \tscrape -every\n"
	if diff := cmp.Diff([]string{"addr", "aws", "schedule"}, flagsInUsage(usage)); diff != "" {
		t.Errorf("flagsInUsage (-want +got):\n%s", diff)
	}
}
