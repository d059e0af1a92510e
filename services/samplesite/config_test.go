package samplesite

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

func driftEnv(v string) func(string) string {
	return func(k string) string {
		if k == contract.EnvSampleSiteDrift {
			return v
		}
		return ""
	}
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		name, env string
		want      Config
		errs      []string // substrings of the error; none: valid
	}{
		{"unset: frozen", "", Config{}, nil},
		{"zero", "0", Config{}, nil},
		{"zero seconds", "0s", Config{}, nil},
		{"an hour", "1h", Config{Drift: time.Hour}, nil},
		{"as Pulumi writes it", "1h0m0s", Config{Drift: time.Hour}, nil},
		{"spaces", " 30m\n", Config{Drift: 30 * time.Minute}, nil},
		{"the least", "1s", Config{Drift: time.Second}, nil},
		{"a day and a half", "36h", Config{Drift: 36 * time.Hour}, nil},
		{"too short", "500ms", Config{Drift: 500 * time.Millisecond}, []string{"SAMPLE_SITE_DRIFT: 500ms: want 0 (a frozen chart) or at least 1s"}},
		{"negative", "-1h", Config{Drift: -time.Hour}, []string{"SAMPLE_SITE_DRIFT: -1h0m0s: want 0"}},
		{"no unit", "60", Config{}, []string{`SAMPLE_SITE_DRIFT: "60" is not a duration`}},
		{"words", "hourly", Config{}, []string{`SAMPLE_SITE_DRIFT: "hourly" is not a duration`}},
		{"long garbage is clipped", strings.Repeat("x", 500), Config{}, []string{`"` + strings.Repeat("x", 64) + `…" is not a duration`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := LoadConfig(driftEnv(tc.env))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("LoadConfig (-want +got):\n%s", diff)
			}
			if len(tc.errs) == 0 {
				if err != nil {
					t.Fatalf("LoadConfig: %v", err)
				}
				if diff := cmp.Diff(Options{Drift: tc.want.Drift}, got.Options()); diff != "" {
					t.Errorf("Options (-want +got):\n%s", diff)
				}
				return
			}
			if err == nil {
				t.Fatal("LoadConfig accepted it")
			}
			for _, w := range tc.errs {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// FuzzLoadConfig feeds SAMPLE_SITE_DRIFT values (from the deployment, so
// from people): LoadConfig never panics, and what it accepts New accepts.
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{"", "0", "1h", "1h0m0s", "90s", "500ms", "-1m", "1e3h", "9223372036854775807ns", "2562048h", "1h-1m", ".5h", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		c, err := LoadConfig(driftEnv(v))
		if err != nil {
			if !strings.Contains(err.Error(), contract.EnvSampleSiteDrift) {
				t.Fatalf("error does not name the variable: %v", err)
			}
			return
		}
		if c.Validate() != nil || (c.Drift != 0 && c.Drift < MinDrift) {
			t.Fatalf("accepted %q as drift %s", v, c.Drift)
		}
		New(c.Options()) // panics on a drift it refuses
	})
}
