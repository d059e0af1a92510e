package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// Stack configuration keys, as declared in Pulumi.yaml (project namespace
// scrape-pipeline, so `pulumi config set url …` sets scrape-pipeline:url).
const (
	KeyURL                   = "url"
	KeySuffix                = "suffix"
	KeyProfile               = "profile"
	KeyShards                = "shards"
	KeyRetentionHours        = "retentionHours"
	KeyMemory                = "memory"
	KeyTimeout               = "timeout"
	KeyScrapeAuth            = "scrapeAuth"
	KeyThrottleRate          = "throttleRate"
	KeyThrottleBurst         = "throttleBurst"
	KeyScrapeThrottleRate    = "scrapeThrottleRate"
	KeyScrapeThrottleBurst   = "scrapeThrottleBurst"
	KeySampleSite            = "sampleSite"
	KeySampleSiteDrift       = "sampleSiteDrift"
	KeyParallelizationFactor = "parallelizationFactor"
	KeyStartingPosition      = "startingPosition"
	KeyBatchingWindow        = "batchingWindow"
	KeyTracing               = "tracing"
	KeyLogRetentionDays      = "logRetentionDays"
	KeyLogLevel              = "logLevel"
	KeyAllowHosts            = "allowHosts"
	KeyCORSOrigins           = "corsOrigins"
)

// Keys lists every configuration key the program reads, in declaration
// order. A test checks that Pulumi.yaml declares exactly these.
var Keys = []string{
	KeyURL, KeySuffix, KeyProfile, KeyShards, KeyRetentionHours, KeyMemory,
	KeyTimeout, KeyScrapeAuth, KeyThrottleRate, KeyThrottleBurst,
	KeyScrapeThrottleRate, KeyScrapeThrottleBurst, KeySampleSite,
	KeySampleSiteDrift, KeyParallelizationFactor, KeyStartingPosition, KeyBatchingWindow,
	KeyTracing, KeyLogRetentionDays, KeyLogLevel, KeyAllowHosts,
	KeyCORSOrigins,
}

// Scrape authorisation modes of POST /scrape.
const (
	// ScrapeAuthIAM requires a SigV4-signed request (AWS_IAM authorisation).
	ScrapeAuthIAM = "iam"
	// ScrapeAuthNone lets anyone who knows the URL start a scrape.
	ScrapeAuthNone = "none"
)

// Starting positions of the processor's mapping that the stack accepts.
// AT_TIMESTAMP is left out: it needs a timestamp that makes no sense as a
// standing setting.
var startingPositions = []string{"TRIM_HORIZON", "LATEST"}

// logLevels are the application log levels Lambda accepts. Lambda passes
// the level to the function as AWS_LAMBDA_LOG_LEVEL, which the functions'
// lambdacontext.NewLogger reads, and drops lines below it itself.
var logLevels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}

// logRetentionValues are the retention periods CloudWatch Logs accepts.
var logRetentionValues = []int{
	1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096,
	1827, 2192, 2557, 2922, 3288, 3653,
}

// Limits that Validate enforces (AWS's own limits unless said otherwise).
const (
	MinMemory         = 128
	MaxMemory         = 10240
	MinTimeout        = 10  // seconds; see Validate
	MaxTimeout        = 900 // seconds
	MinRetentionHours = 24
	// MaxRetentionHours is Kinesis's standard 7 days, not its 365: the
	// processor's progress markers outlive the stream's records only then
	// (contract.MaxStreamRetention).
	MaxRetentionHours  = int(contract.MaxStreamRetention / time.Hour)
	MaxShards          = 500 // the default per-account shard quota in most regions
	MaxParallelization = 10
	MaxBatchingWindow  = 300
	MaxThrottleBurst   = 5000
	MaxThrottleRate    = 10000
	// MinSampleSiteDrift is the shortest period of the deployed sample
	// chart (this project's choice, not AWS's): the scraper leases a host
	// for 60 s by default, so a faster chart would move unseen between
	// scrapes. The function itself accepts down to samplesite.MinDrift.
	MinSampleSiteDrift = time.Minute
)

// Config is the stack configuration, loaded once by [LoadConfig].
type Config struct {
	// URL is the page the scraper fetches by default. Required unless
	// SampleSite is true, when it defaults to the deployed sample page.
	URL string
	// Suffix ends every resource name (default: the stack name), so several
	// workshop attendees can share one account.
	Suffix string
	// Profile is the scraper's extraction profile (SCRAPE_PROFILE); empty
	// leaves the scraper's built-in default.
	Profile string
	// Shards and RetentionHours size the Kinesis stream.
	Shards         int
	RetentionHours int
	// Memory (MB) and Timeout (seconds) apply to every function, except
	// that the scraper's timeout is at most ScraperMaxTimeout.
	Memory  int
	Timeout int
	// ScrapeAuth is ScrapeAuthIAM or ScrapeAuthNone.
	ScrapeAuth string
	// ThrottleRate (requests per second) and ThrottleBurst are the API's
	// default route limits; ScrapeThrottleRate and ScrapeThrottleBurst the
	// stricter limits of POST /scrape, which protect the target site.
	ThrottleRate        int
	ThrottleBurst       int
	ScrapeThrottleRate  int
	ScrapeThrottleBurst int
	// SampleSite deploys the sample site behind the same API, and makes it
	// the default page to scrape.
	SampleSite bool
	// SampleSiteDrift is how often the deployed sample chart moves (the
	// function's SAMPLE_SITE_DRIFT): 0 freezes it, else at least
	// MinSampleSiteDrift. Set as a Go duration ("1h", "30m").
	SampleSiteDrift time.Duration
	// ParallelizationFactor, StartingPosition and BatchingWindow (seconds)
	// override the processor mapping's contract defaults.
	ParallelizationFactor int
	StartingPosition      string
	BatchingWindow        int
	// Tracing turns on X-Ray active tracing for every function.
	Tracing bool
	// LogRetentionDays is the retention of every log group.
	LogRetentionDays int
	// LogLevel is every function's application log level (one of
	// logLevels).
	LogLevel string
	// AllowHosts are extra hosts a POST /scrape body may name, besides the
	// host of URL.
	AllowHosts []string
	// CORSOrigins are the origins allowed to read the query API from a
	// browser (the query function's CORS_ORIGINS): each "*" or an origin
	// as a browser sends it (see checkOrigin). Empty allows none.
	CORSOrigins []string
}

// DefaultConfig returns the configuration of a stack that sets nothing.
// Pulumi.yaml declares the same defaults (a test compares them).
func DefaultConfig(stack string) Config {
	return Config{
		Suffix:                stack,
		Shards:                1,
		RetentionHours:        24,
		Memory:                256,
		Timeout:               30,
		ScrapeAuth:            ScrapeAuthIAM,
		ThrottleRate:          20,
		ThrottleBurst:         40,
		ScrapeThrottleRate:    1,
		ScrapeThrottleBurst:   2,
		SampleSiteDrift:       time.Hour,
		ParallelizationFactor: contract.ProcessorMapping.ParallelizationFactor,
		StartingPosition:      contract.ProcessorMapping.StartingPosition,
		BatchingWindow:        contract.ProcessorMapping.MaximumBatchingWindowInSeconds,
		LogRetentionDays:      14,
		LogLevel:              "INFO",
		AllowHosts:            []string{},
		CORSOrigins:           []string{},
	}
}

// LoadConfig reads the configuration through get, which returns the value
// of a key of Keys or "" when it is not set (config.Get in the program, a
// map in tests), over DefaultConfig(stack). The error lists every problem
// at once: values that do not parse and those that Validate rejects.
func LoadConfig(get func(key string) string, stack string) (Config, error) {
	c := DefaultConfig(stack)
	var errs []error
	str := func(key string, dst *string) {
		if v := get(key); v != "" {
			*dst = v
		}
	}
	num := func(key string, dst *int) {
		v := get(key)
		if v == "" {
			return
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not an integer", key, v))
			return
		}
		*dst = n
	}
	flag := func(key string, dst *bool) {
		v := get(key)
		if v == "" {
			return
		}
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a boolean", key, v))
			return
		}
		*dst = b
	}
	str(KeyURL, &c.URL)
	str(KeySuffix, &c.Suffix)
	str(KeyProfile, &c.Profile)
	num(KeyShards, &c.Shards)
	num(KeyRetentionHours, &c.RetentionHours)
	num(KeyMemory, &c.Memory)
	num(KeyTimeout, &c.Timeout)
	str(KeyScrapeAuth, &c.ScrapeAuth)
	num(KeyThrottleRate, &c.ThrottleRate)
	num(KeyThrottleBurst, &c.ThrottleBurst)
	num(KeyScrapeThrottleRate, &c.ScrapeThrottleRate)
	num(KeyScrapeThrottleBurst, &c.ScrapeThrottleBurst)
	flag(KeySampleSite, &c.SampleSite)
	if v := strings.TrimSpace(get(KeySampleSiteDrift)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration (e.g. 1h, 30m, or 0 for a frozen chart)", KeySampleSiteDrift, v))
		} else {
			c.SampleSiteDrift = d
		}
	}
	num(KeyParallelizationFactor, &c.ParallelizationFactor)
	str(KeyStartingPosition, &c.StartingPosition)
	num(KeyBatchingWindow, &c.BatchingWindow)
	flag(KeyTracing, &c.Tracing)
	num(KeyLogRetentionDays, &c.LogRetentionDays)
	str(KeyLogLevel, &c.LogLevel)
	list := func(key string, dst *[]string) {
		v := get(key)
		if v == "" {
			return
		}
		items, err := parseList(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			return
		}
		*dst = items
	}
	list(KeyAllowHosts, &c.AllowHosts)
	list(KeyCORSOrigins, &c.CORSOrigins)
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid stack configuration:\n%w", errors.Join(errs...))
	}
	return c, nil
}

// parseList reads an array value: the JSON array Pulumi stores for a
// config key of type array, or a comma-separated list.
func parseList(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	var items []string
	if strings.HasPrefix(v, "[") {
		if err := json.Unmarshal([]byte(v), &items); err != nil {
			return nil, fmt.Errorf("not a JSON array of strings: %w", err)
		}
	} else {
		for item := range strings.SplitSeq(v, ",") {
			items = append(items, strings.TrimSpace(item))
		}
	}
	if items == nil {
		items = []string{}
	}
	return items, nil
}

// Validate reports every problem of c at once (errors.Join), nil when c
// can be deployed.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	between := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			bad("%s: %d is out of range %d..%d", key, v, lo, hi)
		}
	}

	if err := contract.ValidSuffix(c.Suffix); err != nil {
		bad("%s: %w", KeySuffix, err)
	}
	switch {
	case c.URL == "" && !c.SampleSite:
		bad("%s: required unless %s is true (set one: pulumi config set url https://…, or pulumi config set sampleSite true)", KeyURL, KeySampleSite)
	case c.URL != "":
		if err := checkPageURL(c.URL); err != nil {
			bad("%s: %w", KeyURL, err)
		}
	}
	between(KeyShards, c.Shards, 1, MaxShards)
	between(KeyRetentionHours, c.RetentionHours, MinRetentionHours, MaxRetentionHours)
	between(KeyMemory, c.Memory, MinMemory, MaxMemory)
	// The processor and the error sink stop starting work 2 s before their
	// deadline (DeadlineMargin) and need time for a batch after that.
	between(KeyTimeout, c.Timeout, MinTimeout, MaxTimeout)
	if c.ScrapeAuth != ScrapeAuthIAM && c.ScrapeAuth != ScrapeAuthNone {
		bad("%s: %q is not %q or %q", KeyScrapeAuth, c.ScrapeAuth, ScrapeAuthIAM, ScrapeAuthNone)
	}
	between(KeyThrottleRate, c.ThrottleRate, 1, MaxThrottleRate)
	between(KeyThrottleBurst, c.ThrottleBurst, 1, MaxThrottleBurst)
	between(KeyScrapeThrottleRate, c.ScrapeThrottleRate, 1, c.ThrottleRate)
	between(KeyScrapeThrottleBurst, c.ScrapeThrottleBurst, 1, c.ThrottleBurst)
	if d := c.SampleSiteDrift; d != 0 && d < MinSampleSiteDrift {
		bad("%s: %s: want 0 (a frozen chart) or at least %s", KeySampleSiteDrift, d, MinSampleSiteDrift)
	}
	between(KeyParallelizationFactor, c.ParallelizationFactor, 1, MaxParallelization)
	if !slices.Contains(startingPositions, c.StartingPosition) {
		bad("%s: %q is not one of %s", KeyStartingPosition, c.StartingPosition, strings.Join(startingPositions, ", "))
	}
	between(KeyBatchingWindow, c.BatchingWindow, 0, MaxBatchingWindow)
	if !slices.Contains(logRetentionValues, c.LogRetentionDays) {
		bad("%s: %d is not a retention CloudWatch Logs accepts (%s)", KeyLogRetentionDays, c.LogRetentionDays, joinInts(logRetentionValues))
	}
	if !slices.Contains(logLevels, c.LogLevel) {
		bad("%s: %q is not one of %s", KeyLogLevel, c.LogLevel, strings.Join(logLevels, ", "))
	}
	for i, h := range c.AllowHosts {
		if err := checkHost(h); err != nil {
			bad("%s[%d]: %w", KeyAllowHosts, i, err)
		}
	}
	for i, o := range c.CORSOrigins {
		if err := checkOrigin(o); err != nil {
			bad("%s[%d]: %w", KeyCORSOrigins, i, err)
		}
	}
	return errors.Join(errs...)
}

// checkPageURL accepts an absolute http(s) URL with a host.
func checkPageURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q does not parse: %w", s, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q is not an http or https URL", s)
	}
	if u.Hostname() == "" {
		return fmt.Errorf("%q has no host", s)
	}
	if u.User != nil {
		return fmt.Errorf("%q carries credentials; put none in config", s)
	}
	return nil
}

// checkHost accepts a bare host name or address, optionally with a port.
func checkHost(h string) error {
	if h == "" {
		return errors.New("empty host")
	}
	u, err := url.Parse("http://" + h)
	if err != nil || u.Host != h || u.Hostname() == "" {
		return fmt.Errorf("%q is not a bare host name (no scheme, path or credentials)", h)
	}
	return nil
}

// checkOrigin accepts "*" (any origin) or an origin as a browser sends it
// in an Origin header: scheme://host[:port], scheme http or https, the
// host in lower case, no default port, and nothing else. It refuses at
// least what the query service refuses in CORS_ORIGINS at start
// (services/query checkOrigin; FuzzCORSOriginsAgree in package main
// compares the two), a comma too, since the service splits the variable
// at commas, and also what the service would accept but never match: an
// upper-case host or an explicit default port, which no browser sends.
func checkOrigin(o string) error {
	if o == "*" {
		return nil
	}
	if o == "" {
		return errors.New("empty origin")
	}
	if strings.Contains(o, ",") { // url.Parse allows one in a host
		return fmt.Errorf("%q has a comma, which separates origins in %s", o, contract.EnvCORSOrigins)
	}
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" ||
		u.Scheme+"://"+u.Host != o {
		return fmt.Errorf("%q is not an origin: want scheme://host[:port] with scheme http or https, nothing after it (or *)", o)
	}
	if u.Host != strings.ToLower(u.Host) {
		return fmt.Errorf("%q: the host must be lower case, as browsers send it", o)
	}
	if p := u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
		return fmt.Errorf("%q: leave out the default port %s, as browsers do", o, p)
	}
	return nil
}

// hostOf returns the host (with port, if any) of an already validated URL.
func hostOf(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	return u.Host
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ", ")
}
