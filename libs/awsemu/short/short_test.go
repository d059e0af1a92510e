package short_test

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu/short"
)

// TestHelperProbe is run as a child by TestOn: it reports what On says, or
// fails as On makes it.
func TestHelperProbe(t *testing.T) {
	if os.Getenv("SHORT_PROBE") == "" {
		return
	}
	if short.On(t) {
		t.Log("probe: short")
	} else {
		t.Log("probe: full")
	}
}

// TestOn runs the probe as go test would under each combination of -short
// and CI: -short under CI fails, naming the test.
func TestOn(t *testing.T) {
	tests := []struct {
		short, ci bool
		want      string
		fail      bool
	}{
		{false, false, "probe: full", false},
		{true, false, "probe: short", false},
		{false, true, "probe: full", false},
		{true, true, "TestHelperProbe: -short is not allowed when CI is set", true},
	}
	for _, tt := range tests {
		args := []string{"-test.run=^TestHelperProbe$", "-test.v"}
		if tt.short {
			args = append(args, "-test.short")
		}
		cmd := exec.Command(os.Args[0], args...)
		cmd.Env = append(os.Environ(), "SHORT_PROBE=1", "CI=")
		if tt.ci {
			cmd.Env = append(cmd.Env, "CI=true")
		}
		out, err := cmd.CombinedOutput()
		if failed := err != nil; failed != tt.fail {
			t.Errorf("short %v, CI %v: failed %v (%v), want %v:\n%s", tt.short, tt.ci, failed, err, tt.fail, out)
		}
		if !strings.Contains(string(out), tt.want) {
			t.Errorf("short %v, CI %v: output lacks %q:\n%s", tt.short, tt.ci, tt.want, out)
		}
	}
}
