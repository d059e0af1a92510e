package pipeline

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// getter serves config values from a map, as config.Get would.
func getter(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfig(t *testing.T) {
	tests := []struct {
		desc   string
		values map[string]string
		want   func(*Config)
	}{
		{"sample site only", map[string]string{KeySampleSite: "true"}, func(c *Config) { c.SampleSite = true }},
		{"every key", map[string]string{
			KeyURL: "http://films.example.org:8080/chart?page=1", KeySuffix: "team-7", KeyProfile: "imdb",
			KeyShards: "2", KeyRetentionHours: "48", KeyMemory: "1024", KeyTimeout: "60",
			KeyScrapeAuth: "none", KeyThrottleRate: "100", KeyThrottleBurst: "200",
			KeyScrapeThrottleRate: "5", KeyScrapeThrottleBurst: "10", KeySampleSite: "false", KeySampleSiteDrift: "30m",
			KeyParallelizationFactor: "2", KeyStartingPosition: "LATEST", KeyBatchingWindow: "10",
			KeyTracing: "true", KeyLogRetentionDays: "30", KeyLogLevel: "DEBUG",
			KeyAllowHosts:  `["a.example.org","b.example.org:8443"]`,
			KeyCORSOrigins: `["https://app.example.org","http://localhost:5173"]`,
			KeyArchiveDays: "30", KeyArchiveForceDestroy: "false", KeySchedule: " rate(1 hour) ",
			KeyReservedConcurrency: `["processor=2"," archiver = 1 "]`, KeyErrorsinkMaxConcurrency: "3",
			KeyScrapeDetailConcurrency: "4", KeyAlarmEmail: "ops@example.org",
		}, func(c *Config) {
			c.URL, c.Suffix, c.Profile = "http://films.example.org:8080/chart?page=1", "team-7", "imdb"
			c.Shards, c.RetentionHours, c.Memory, c.Timeout = 2, 48, 1024, 60
			c.ScrapeAuth, c.ThrottleRate, c.ThrottleBurst = ScrapeAuthNone, 100, 200
			c.ScrapeThrottleRate, c.ScrapeThrottleBurst = 5, 10
			c.SampleSiteDrift = 30 * time.Minute
			c.ParallelizationFactor, c.StartingPosition, c.BatchingWindow = 2, "LATEST", 10
			c.Tracing, c.LogRetentionDays, c.LogLevel = true, 30, "DEBUG"
			c.AllowHosts = []string{"a.example.org", "b.example.org:8443"}
			c.CORSOrigins = []string{"https://app.example.org", "http://localhost:5173"}
			c.ArchiveDays, c.ArchiveForceDestroy, c.Schedule = 30, false, "rate(1 hour)"
			c.ReservedConcurrency = map[string]int{Processor: 2, Archiver: 1}
			c.ErrorsinkMaxConcurrency, c.ScrapeDetailConcurrency, c.AlarmEmail = 3, 4, "ops@example.org"
		}},
		{"comma-separated reservations", map[string]string{KeyURL: "https://x.example", KeyReservedConcurrency: "scraper=1,query=3"},
			func(c *Config) {
				c.URL, c.ReservedConcurrency = "https://x.example", map[string]int{Scraper: 1, Query: 3}
			}},
		{"archive kept forever", map[string]string{KeyURL: "https://x.example", KeyArchiveDays: "0"},
			func(c *Config) { c.URL, c.ArchiveDays = "https://x.example", 0 }},
		{"comma-separated hosts", map[string]string{KeyURL: "https://x.example", KeyAllowHosts: "a.example, b.example"},
			func(c *Config) { c.URL, c.AllowHosts = "https://x.example", []string{"a.example", "b.example"} }},
		{"empty host list", map[string]string{KeyURL: "https://x.example", KeyAllowHosts: "[]"},
			func(c *Config) { c.URL = "https://x.example" }},
		{"comma-separated origins", map[string]string{KeyURL: "https://x.example", KeyCORSOrigins: "https://a.example, *"},
			func(c *Config) { c.URL, c.CORSOrigins = "https://x.example", []string{"https://a.example", "*"} }},
		{"empty origin list", map[string]string{KeyURL: "https://x.example", KeyCORSOrigins: "[]"},
			func(c *Config) { c.URL = "https://x.example" }},
	}
	for _, tc := range tests {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := LoadConfig(getter(tc.values), testStack)
			if err != nil {
				t.Fatalf("LoadConfig: %v", err)
			}
			want := DefaultConfig(testStack)
			tc.want(&want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadConfigListsEveryProblem feeds a configuration that is wrong in
// every way and checks that the one error names each problem.
func TestLoadConfigListsEveryProblem(t *testing.T) {
	values := map[string]string{
		KeySuffix: "-bad", KeyShards: "0", KeyRetentionHours: "12", KeyMemory: "64", KeyTimeout: "901",
		KeyScrapeAuth: "basic", KeyThrottleRate: "ten", KeyThrottleBurst: "0",
		KeyScrapeThrottleRate: "0", KeyScrapeThrottleBurst: "-1", KeySampleSite: "maybe", KeySampleSiteDrift: "hourly",
		KeyParallelizationFactor: "11", KeyStartingPosition: "AT_TIMESTAMP", KeyBatchingWindow: "301",
		KeyTracing: "yes please", KeyLogRetentionDays: "10", KeyLogLevel: "debug", KeyAllowHosts: `["ok.example","http://x/y",""]`,
		KeyCORSOrigins: `["https://ok.example","https://app.example/","HTTPS://app.example","https://App.example","https://app.example:443",""]`,
		KeyArchiveDays: "-1", KeyArchiveForceDestroy: "sometimes", KeySchedule: "every hour",
		KeyReservedConcurrency:     `["processor=2","processor=3","mailer=1","query=0","samplesite=1","errorsink","scraper=900"]`,
		KeyErrorsinkMaxConcurrency: "1", KeyScrapeDetailConcurrency: "17", KeyAlarmEmail: "Ops <ops@example.org>",
	}
	_, err := LoadConfig(getter(values), testStack)
	if err == nil {
		t.Fatal("LoadConfig accepted a bad configuration")
	}
	msg := err.Error()
	for _, want := range []string{
		"invalid stack configuration",
		`suffix: suffix "-bad"`,
		"url: required unless sampleSite is true",
		"shards: 0 is out of range 1..500",
		"retentionHours: 12 is out of range 24..168",
		"memory: 64 is out of range 128..10240",
		"timeout: 901 is out of range 10..900",
		`scrapeAuth: "basic" is not "iam" or "none"`,
		`throttleRate: "ten" is not an integer`,
		"throttleBurst: 0 is out of range 1..5000",
		"scrapeThrottleRate: 0 is out of range 1..20",
		"scrapeThrottleBurst: -1 is out of range 1..0",
		`sampleSite: "maybe" is not a boolean`,
		`sampleSiteDrift: "hourly" is not a duration`,
		"parallelizationFactor: 11 is out of range 1..10",
		`startingPosition: "AT_TIMESTAMP" is not one of TRIM_HORIZON, LATEST`,
		"batchingWindow: 301 is out of range 0..300",
		`tracing: "yes please" is not a boolean`,
		"logRetentionDays: 10 is not a retention CloudWatch Logs accepts",
		`logLevel: "debug" is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL`,
		`allowHosts[1]: "http://x/y" is not a bare host name`,
		"allowHosts[2]: empty host",
		`corsOrigins[1]: "https://app.example/" is not an origin`,
		`corsOrigins[2]: "HTTPS://app.example" is not an origin`,
		`corsOrigins[3]: "https://App.example": the host must be lower case`,
		`corsOrigins[4]: "https://app.example:443": leave out the default port 443`,
		"corsOrigins[5]: empty origin",
		"archiveDays: -1 is out of range 0..36500",
		`archiveForceDestroy: "sometimes" is not a boolean`,
		`schedule: "every hour" is not rate(N unit) or cron(six fields)`,
		"reservedConcurrency: processor is given twice",
		`reservedConcurrency: "mailer" is not a function of the stack`,
		"reservedConcurrency: query=0: want at least 1",
		"reservedConcurrency: samplesite is reserved but sampleSite is off",
		`reservedConcurrency: "errorsink" is not function=N`,
		"reservedConcurrency: 903 reserved in all, more than the 900",
		"errorsinkMaxConcurrency: 1 is out of range 2..1000",
		"scrapeDetailConcurrency: 17 is out of range 0..16",
		`alarmEmail: "Ops <ops@example.org>" is not a bare e-mail address`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q; got:\n%s", want, msg)
		}
	}
}

func TestSampleSiteDrift(t *testing.T) {
	tests := []struct {
		value string
		want  time.Duration
		err   string // "" = valid
	}{
		{"", time.Hour, ""},
		{"0", 0, ""},
		{"0s", 0, ""},
		{"1m", time.Minute, ""},
		{" 2h30m ", 150 * time.Minute, ""},
		{"1h0m0s", time.Hour, ""},
		{"59s", 0, "sampleSiteDrift: 59s: want 0 (a frozen chart) or at least 1m0s"},
		{"-1h", 0, "sampleSiteDrift: -1h0m0s: want 0"},
		{"60", 0, `sampleSiteDrift: "60" is not a duration`},
	}
	for _, tc := range tests {
		c, err := LoadConfig(getter(map[string]string{KeyURL: "https://x.example", KeySampleSiteDrift: tc.value}), testStack)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%q: %v", tc.value, err)
		case tc.err == "" && c.SampleSiteDrift != tc.want:
			t.Errorf("%q: drift %s, want %s", tc.value, c.SampleSiteDrift, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: error %v, want %q", tc.value, err, tc.err)
		}
	}
}

// TestCheckOrigin covers the origins corsOrigins accepts: what a browser
// sends in an Origin header, or "*".
func TestCheckOrigin(t *testing.T) {
	tests := []struct {
		origin string
		ok     bool
	}{
		{"*", true},
		{"https://app.example.org", true},
		{"http://localhost:5173", true},
		{"http://127.0.0.1:8080", true},
		{"http://[::1]:3000", true},
		{"https://app.example.org:8443", true},
		{"", false},
		{"app.example.org", false},
		{"ftp://app.example.org", false},
		{"https://", false},
		{"https://app.example.org/", false},
		{"https://app.example.org/path", false},
		{"https://app.example.org?", false},
		{"https://app.example.org?x=1", false},
		{"https://app.example.org#", false},
		{"https://user@app.example.org", false},
		{"HTTPS://app.example.org", false},
		{"https://App.Example.org", false},
		{"https://app.example.org:443", false},
		{"http://app.example.org:80", false},
		{"https:app.example.org", false},
		{" https://app.example.org", false},
		{"https://app.example.org,https://b.example.org", false},
		{"http://lo,0", false},
	}
	for _, tc := range tests {
		t.Run(tc.origin, func(t *testing.T) {
			if err := checkOrigin(tc.origin); (err == nil) != tc.ok {
				t.Errorf("checkOrigin(%q) = %v, want ok=%v", tc.origin, err, tc.ok)
			}
		})
	}
}

// TestCheckSchedule covers the schedule expressions the stack accepts.
func TestCheckSchedule(t *testing.T) {
	tests := []struct {
		expr string
		err  string // "" = valid
	}{
		{"rate(1 hour)", ""},
		{"rate(2 hours)", ""},
		{"rate(1 day)", ""},
		{"rate(5 minutes)", ""},
		{"rate(90 minutes)", ""},
		{"cron(0 8 * * ? *)", ""},
		{"cron(15 10 ? * MON-FRI *)", ""},
		{"cron(0/15 * * * ? *)", ""},
		{"cron(0 12 L * ? 2027)", ""},
		{"rate(1 hours)", "in the singular"},
		{"rate(2 hour)", "in the plural"},
		{"rate(0 minutes)", "positive whole number"},
		{"rate(4 minutes)", "at most one scrape every 5 minutes"},
		{"rate(1 minute)", "at most one scrape every 5 minutes"},
		{"rate(1 week)", "is not rate(N unit)"},
		{"rate(-1 hours)", "is not rate(N unit)"},
		{"rate( 1 hour)", "is not rate(N unit)"},
		{"cron(* * * * ? *)", "fires every minute"},
		{"cron(*/2 * * * ? *)", "fires every 2 minutes"},
		{"cron(0 8 * * *)", "want six fields"},
		{"cron(0 8 * * * *)", "exactly one of day-of-month and day-of-week"},
		{"cron(0 8 ? * ? *)", "exactly one of day-of-month and day-of-week"},
		{"cron(0  8 * * ? *)", "want six fields"},
		{"cron(0 8 * * ? $)", `field "$"`},
		{"at(2027-01-01T00:00:00)", "is not rate(N unit) or cron"},
		{"", "is not rate(N unit) or cron"},
		{"RATE(1 hour)", "is not rate(N unit) or cron"},
	}
	for _, tc := range tests {
		t.Run(tc.expr, func(t *testing.T) {
			err := CheckSchedule(tc.expr)
			switch {
			case tc.err == "" && err != nil:
				t.Errorf("CheckSchedule: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("CheckSchedule = %v, want an error containing %q", err, tc.err)
			}
		})
	}
}

// TestCheckEmail covers the alarm addresses the stack accepts.
func TestCheckEmail(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"ops@example.org", true},
		{"first.last+alarms@mail.example.co.uk", true},
		{"", false},
		{"ops", false},
		{"ops@localhost", false},
		{"Ops <ops@example.org>", false},
		{"<ops@example.org>", false},
		{" ops@example.org", false},
		{"ops@[192.0.2.1]", false},
		{"a@b@example.org", false},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			if err := checkEmail(tc.addr); (err == nil) != tc.ok {
				t.Errorf("checkEmail(%q) = %v, want ok=%v", tc.addr, err, tc.ok)
			}
		})
	}
}

func TestValidateURL(t *testing.T) {
	tests := []struct {
		url  string
		want string // "" = valid
	}{
		{"https://films.example.org/chart", ""},
		{"http://127.0.0.1:8080/site/chart", ""},
		{"ftp://films.example.org/chart", "is not an http or https URL"},
		{"films.example.org/chart", "is not an http or https URL"},
		{"https:///chart", "has no host"},
		{"https://user:pw@films.example.org/", "carries credentials"},
		{"https://films.example.org/%zz", "does not parse"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			c := DefaultConfig(testStack)
			c.URL = tc.url
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// FuzzLoadConfig feeds arbitrary values (stack config comes from people)
// to every key: LoadConfig must not panic, and whatever it accepts must be
// valid and deployable in range.
func FuzzLoadConfig(f *testing.F) {
	f.Add("https://x.example/", "3", "true", `["a.example"]`, "LATEST", "rate(1 hour)")
	f.Add("", "0", "maybe", "a,,b", "", "cron(0 8 * * ? *)")
	f.Add("http://[::1]:80/x", "-7", "1", `[1,2]`, "TRIM_HORIZON", "ops@example.org")
	f.Add("https://x.example/", "2", "false", `["processor=2","archiver=1"]`, "LATEST", "rate(5 minutes)")
	f.Fuzz(func(t *testing.T, url, num, flag, list, pos, text string) {
		values := map[string]string{KeyURL: url, KeyAllowHosts: list, KeyCORSOrigins: list, KeyStartingPosition: pos,
			KeyReservedConcurrency: list, KeySchedule: text, KeyAlarmEmail: text}
		for _, k := range []string{KeyShards, KeyMemory, KeyTimeout, KeyBatchingWindow, KeyArchiveDays,
			KeyErrorsinkMaxConcurrency, KeyScrapeDetailConcurrency} {
			values[k] = num
		}
		for _, k := range []string{KeySampleSite, KeyTracing, KeyArchiveForceDestroy} {
			values[k] = flag
		}
		c, err := LoadConfig(getter(values), testStack)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("LoadConfig accepted an invalid config: %v", err)
		}
		if c.Memory < MinMemory || c.Shards < 1 || (c.URL == "" && !c.SampleSite) || c.ArchiveDays < 0 ||
			c.ErrorsinkMaxConcurrency < MinSQSMaxConcurrency {
			t.Fatalf("accepted out-of-range config %+v", c)
		}
		total := 0
		for name, n := range c.ReservedConcurrency {
			if !slices.Contains(Deployed(c), name) || n < 1 {
				t.Fatalf("accepted reservation %s=%d", name, n)
			}
			total += n
		}
		if total > MaxReservedConcurrency {
			t.Fatalf("accepted %d reserved in all", total)
		}
	})
}
