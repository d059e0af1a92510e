package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/go-cmp/cmp"
)

func TestConfigValidateListsEveryProblem(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.Addr = "nowhere"
	cfg.Shards = 0
	cfg.Retention = 30 * 24 * time.Hour
	cfg.URL = "ftp://x"
	cfg.Suffix = "-bad"
	cfg.FunctionTimeout = time.Second
	cfg.SiteDrift = -time.Minute
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, want := range []string{"--addr", "--shards", "--retention", "--url", "--suffix", "--function-timeout", "--site-drift"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	if err := testConfig(t.TempDir()).Validate(); err != nil {
		t.Errorf("the test config is refused: %v", err)
	}
}

func TestConfigValidateRetention(t *testing.T) {
	for _, tc := range []struct {
		aws       bool
		retention time.Duration
		want      string // "" = valid
	}{
		{false, time.Hour, ""},
		{false, 90 * time.Minute, ""},
		{false, 30 * time.Minute, "--retention 30m0s: want 1h..168h0m0s"},
		{false, 169 * time.Hour, "--retention 169h0m0s: want 1h..168h0m0s"},
		{true, 24 * time.Hour, ""},
		{true, 168 * time.Hour, ""},
		{true, time.Hour, "--retention 1h0m0s with --aws: want whole hours from 24h"},
		{true, 36*time.Hour + 30*time.Minute, "--retention 36h30m0s with --aws: want whole hours from 24h"},
	} {
		cfg := testConfig(t.TempDir())
		cfg.AWS, cfg.Retention = tc.aws, tc.retention
		err := cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("aws=%v retention %s: %v", tc.aws, tc.retention, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("aws=%v retention %s: error %v, want %q", tc.aws, tc.retention, err, tc.want)
		}
	}
}

func TestConfigValidateSiteDrift(t *testing.T) {
	for _, tc := range []struct {
		drift time.Duration
		want  string // "" = valid
	}{
		{0, ""},
		{time.Second, ""},
		{time.Minute, ""},
		{24 * time.Hour, ""},
		{999 * time.Millisecond, "--site-drift 999ms: want 0 (a frozen chart) or at least 1s"},
		{-time.Minute, "--site-drift -1m0s: want 0 (a frozen chart) or at least 1s"},
	} {
		cfg := testConfig(t.TempDir())
		cfg.SiteDrift = tc.drift
		err := cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("--site-drift %s: %v", tc.drift, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("--site-drift %s: error %v, want %q", tc.drift, err, tc.want)
		}
	}
}

func TestSiteDriftFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want time.Duration
	}{
		{nil, time.Minute},
		{[]string{"--site-drift", "0"}, 0},
		{[]string{"--site-drift=10s"}, 10 * time.Second},
		{[]string{"--site-drift", "1h"}, time.Hour},
	} {
		var out strings.Builder
		cfg, _, _, err := parseFlags(tc.args, &out)
		if err != nil {
			t.Fatalf("%q: %v", tc.args, err)
		}
		if cfg.SiteDrift != tc.want {
			t.Errorf("%q: SiteDrift %s, want %s", tc.args, cfg.SiteDrift, tc.want)
		}
	}
	var out strings.Builder
	if _, _, _, err := parseFlags([]string{"--site-drift", "hourly"}, &out); err == nil {
		t.Error("--site-drift hourly was accepted")
	}
}

func TestFlags(t *testing.T) {
	var out strings.Builder
	cfg, format, level, err := parseFlags([]string{"--shards", "4", "--log-format", "json", "--fresh"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Shards != 4 || !cfg.Fresh || format != "json" || level != "info" || cfg.Addr != "127.0.0.1:8080" || cfg.BatchingWindow != 200*time.Millisecond {
		t.Errorf("parseFlags = %+v, %s, %s", cfg, format, level)
	}
	if _, _, _, err := parseFlags([]string{"extra"}, &out); err == nil {
		t.Error("a stray argument was accepted")
	}
	if _, err := newLogger(&out, "yaml", "info"); err == nil {
		t.Error("--log-format yaml was accepted")
	}
}

func TestLoggerAddsRequestID(t *testing.T) {
	var out strings.Builder
	log, err := newLogger(&out, "json", "info")
	if err != nil {
		t.Fatal(err)
	}
	ctx := lambdacontext.NewContext(t.Context(), &lambdacontext.LambdaContext{AwsRequestID: "req-1"})
	log.With("function", "processor").InfoContext(ctx, "in an invocation")
	log.InfoContext(t.Context(), "outside")
	var lines []map[string]any
	for l := range strings.Lines(out.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		delete(m, "time")
		lines = append(lines, m)
	}
	want := []map[string]any{
		{"level": "INFO", "msg": "in an invocation", "function": "processor", "requestId": "req-1"},
		{"level": "INFO", "msg": "outside"},
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
}

// createdStream is a stream of the AWS backends as checkpointName sees it.
type createdStream struct {
	streamBackend
	created time.Time
}

func (s createdStream) ARN() string {
	return "arn:aws:kinesis:eu-west-2:000000000000:stream/events-dev"
}
func (s createdStream) Created() time.Time { return s.created }

// TestCheckpointNameTellsRecreatedStreams: the same ARN created at two
// times gives two checkpoint names; the embedded stream's is its ARN's.
func TestCheckpointNameTellsRecreatedStreams(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 6, 0, 0, 0, time.UTC)
	a, b := checkpointName(createdStream{created: t0}), checkpointName(createdStream{created: t0.Add(time.Millisecond)})
	if a == b {
		t.Errorf("one checkpoint name %q for two incarnations of a stream", a)
	}
	if got, want := checkpointName(createdStream{}), "processor arn:aws:kinesis:eu-west-2:000000000000:stream/events-dev"; got != want {
		t.Errorf("checkpointName without a creation time = %q, want %q", got, want)
	}
}
