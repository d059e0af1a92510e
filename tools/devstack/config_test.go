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
	cfg.ArchiveInterval = 0
	cfg.ArchiveBucket = "archive"
	cfg.Schedule = time.Millisecond
	cfg.AllowHosts = []string{"example.org/path"}
	err := cfg.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad config")
	}
	for _, want := range []string{"--addr", "--shards", "--retention", "--url", "--suffix", "--function-timeout", "--site-drift",
		"--archive-interval", "--archive-bucket", "--schedule", "--allow-host"} {
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
	a, b := checkpointName("processor", createdStream{created: t0}), checkpointName("processor", createdStream{created: t0.Add(time.Millisecond)})
	if a == b {
		t.Errorf("one checkpoint name %q for two incarnations of a stream", a)
	}
	if got, want := checkpointName("processor", createdStream{}), "processor arn:aws:kinesis:eu-west-2:000000000000:stream/events-dev"; got != want {
		t.Errorf("checkpointName without a creation time = %q, want %q", got, want)
	}
}

func TestConfigValidateNewFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string // "" = valid
	}{
		{"schedule off", func(c *Config) { c.Schedule = 0 }, ""},
		{"schedule 1s", func(c *Config) { c.Schedule = time.Second }, ""},
		{"schedule below 1s", func(c *Config) { c.Schedule = 999 * time.Millisecond }, "--schedule 999ms: want 0 (off) or at least 1s"},
		{"schedule negative", func(c *Config) { c.Schedule = -time.Second }, "--schedule -1s: want 0 (off) or at least 1s"},
		{"archive interval 15m", func(c *Config) { c.ArchiveInterval = 15 * time.Minute }, ""},
		{"archive interval above 15m", func(c *Config) { c.ArchiveInterval = 16 * time.Minute }, "--archive-interval 16m0s: want more than 0 and at most 15m0s"},
		{"archive interval 0", func(c *Config) { c.ArchiveInterval = 0 }, "--archive-interval 0s"},
		{"archive bucket with aws", func(c *Config) { c.AWS, c.ArchiveBucket = true, "my-archive/courseX" }, ""},
		{"archive bucket as a URL", func(c *Config) { c.AWS, c.ArchiveBucket = true, "s3://my-archive" }, ""},
		{"archive bucket without aws", func(c *Config) { c.ArchiveBucket = "my-archive" }, "--archive-bucket: only with --aws"},
		{"archive bucket invalid", func(c *Config) { c.AWS, c.ArchiveBucket = true, "My_Archive" }, "is not a valid S3 bucket name"},
		{"allow host", func(c *Config) { c.AllowHosts = []string{"example.org", "localhost:9000", "[::1]:8080"} }, ""},
		{"allow host with a path", func(c *Config) { c.AllowHosts = []string{"example.org/x"} }, `--allow-host "example.org/x": want HOST or HOST:PORT`},
		{"allow host with a bad port", func(c *Config) { c.AllowHosts = []string{"example.org:0"} }, `--allow-host "example.org:0": the port is not 1..65535`},
		{"allow host a URL", func(c *Config) { c.AllowHosts = []string{"http://example.org"} }, "--allow-host"},
	} {
		cfg := testConfig(t.TempDir())
		tc.mod(&cfg)
		if cfg.AWS {
			cfg.Retention = 24 * time.Hour
		}
		err := cfg.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestNewFlagsParse(t *testing.T) {
	var out strings.Builder
	cfg, _, _, err := parseFlags([]string{"--allow-host", "example.org", "--allow-host=localhost:9000", "--schedule", "90s",
		"--archive-interval", "1m", "--archive-bucket", "my-archive/x"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	got := []any{cfg.AllowHosts, cfg.Schedule, cfg.ArchiveInterval, cfg.ArchiveBucket}
	want := []any{[]string{"example.org", "localhost:9000"}, 90 * time.Second, time.Minute, "my-archive/x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parsed (-want +got):\n%s", diff)
	}
	def, _, _, err := parseFlags(nil, &out)
	if err != nil || def.Schedule != 0 || def.ArchiveInterval != 5*time.Second || def.AllowHosts != nil || def.ArchiveBucket != "" {
		t.Errorf("defaults: %+v, %v; want no schedule, a 5s archive interval, no extra hosts", def, err)
	}
}

func TestAllowHosts(t *testing.T) {
	for _, tc := range []struct {
		url, site string
		extra     []string
		want      []string
	}{
		{"http://127.0.0.1:8081/site/chart", "127.0.0.1:8081", nil, []string{"127.0.0.1:8081"}},
		{"https://films.example.org/chart", "127.0.0.1:8081", []string{"cdn.example.org", "127.0.0.1:8081"},
			[]string{"films.example.org", "127.0.0.1:8081", "cdn.example.org"}},
		{"http://films.example.org:8000/chart", "127.0.0.1:8081", nil, []string{"films.example.org:8000", "127.0.0.1:8081"}},
	} {
		if diff := cmp.Diff(tc.want, allowHosts(tc.url, tc.site, tc.extra)); diff != "" {
			t.Errorf("allowHosts(%s, %s, %v) (-want +got):\n%s", tc.url, tc.site, tc.extra, diff)
		}
	}
}
