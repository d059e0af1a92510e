package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// Stack configuration keys, as declared in Pulumi.yaml (project namespace
// scrape-pipeline, so `pulumi config set url …` sets scrape-pipeline:url).
const (
	KeyURL                     = "url"
	KeySuffix                  = "suffix"
	KeyProfile                 = "profile"
	KeyShards                  = "shards"
	KeyRetentionHours          = "retentionHours"
	KeyMemory                  = "memory"
	KeyTimeout                 = "timeout"
	KeyScrapeAuth              = "scrapeAuth"
	KeyThrottleRate            = "throttleRate"
	KeyThrottleBurst           = "throttleBurst"
	KeyScrapeThrottleRate      = "scrapeThrottleRate"
	KeyScrapeThrottleBurst     = "scrapeThrottleBurst"
	KeySampleSite              = "sampleSite"
	KeySampleSiteDrift         = "sampleSiteDrift"
	KeyParallelizationFactor   = "parallelizationFactor"
	KeyStartingPosition        = "startingPosition"
	KeyBatchingWindow          = "batchingWindow"
	KeyTracing                 = "tracing"
	KeyLogRetentionDays        = "logRetentionDays"
	KeyLogLevel                = "logLevel"
	KeyAllowHosts              = "allowHosts"
	KeyCORSOrigins             = "corsOrigins"
	KeyArchiveDays             = "archiveDays"
	KeyArchiveForceDestroy     = "archiveForceDestroy"
	KeySchedule                = "schedule"
	KeyReservedConcurrency     = "reservedConcurrency"
	KeyErrorsinkMaxConcurrency = "errorsinkMaxConcurrency"
	KeyScrapeDetailConcurrency = "scrapeDetailConcurrency"
	KeyAlarmEmail              = "alarmEmail"
)

// Keys lists every configuration key the program reads, in declaration
// order. A test checks that Pulumi.yaml declares exactly these.
var Keys = []string{
	KeyURL, KeySuffix, KeyProfile, KeyShards, KeyRetentionHours, KeyMemory,
	KeyTimeout, KeyScrapeAuth, KeyThrottleRate, KeyThrottleBurst,
	KeyScrapeThrottleRate, KeyScrapeThrottleBurst, KeySampleSite,
	KeySampleSiteDrift, KeyParallelizationFactor, KeyStartingPosition, KeyBatchingWindow,
	KeyTracing, KeyLogRetentionDays, KeyLogLevel, KeyAllowHosts,
	KeyCORSOrigins, KeyArchiveDays, KeyArchiveForceDestroy, KeySchedule,
	KeyReservedConcurrency, KeyErrorsinkMaxConcurrency, KeyScrapeDetailConcurrency,
	KeyAlarmEmail,
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
	// MaxArchiveDays bounds archiveDays (100 years): a larger number is a
	// typo; 0 keeps the archive forever.
	MaxArchiveDays = 36500
	// MinScheduleMinutes is the shortest schedule period (this project's
	// choice): the scraper leases a host for 60 s, so a faster schedule
	// would mostly be refused with 429, and each scrape costs writes.
	MinScheduleMinutes = 5
	// UnreservedMinimum is the concurrency Lambda keeps unreserved in
	// every account: reservations may only take what lies above it
	// (UnreservedConcurrentExecutions, at least 100).
	UnreservedMinimum = 100
	// DefaultAccountConcurrency is Lambda's default account quota
	// (ConcurrentExecutions, L-B99A9384). New accounts often start with
	// far less, 10, and then cannot reserve any concurrency at all.
	DefaultAccountConcurrency = 1000
	// MaxReservedConcurrency is the most one stack may reserve in all, on
	// an account with the default quota.
	MaxReservedConcurrency = DefaultAccountConcurrency - UnreservedMinimum
	// MinSQSMaxConcurrency and MaxSQSMaxConcurrency bound an SQS mapping's
	// ScalingConfig.MaximumConcurrency (Lambda's own limits; above 1000
	// takes a quota increase).
	MinSQSMaxConcurrency = 2
	MaxSQSMaxConcurrency = 1000
	// MaxDetailConcurrency is the most detail pages the scraper fetches at
	// once.
	MaxDetailConcurrency = contract.MaxDetailConcurrency
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
	// ArchiveDays is how long the archive bucket keeps an object: 0 keeps
	// it forever.
	ArchiveDays int
	// ArchiveForceDestroy lets `pulumi destroy` delete the archive bucket
	// with its objects; off, a bucket that holds objects stops the
	// destroy (and stays).
	ArchiveForceDestroy bool
	// Schedule is an EventBridge Scheduler expression, "rate(1 hour)" or
	// "cron(0 * * * ? *)", on which the scraper scrapes its default page;
	// empty schedules nothing.
	Schedule string
	// ReservedConcurrency reserves, by function (service name), that many
	// concurrent executions; a function not in it is unreserved. Set as
	// "function=N" items ("processor=2,errorsink=1").
	ReservedConcurrency map[string]int
	// ErrorsinkMaxConcurrency caps the concurrent invocations of the error
	// sink's SQS mapping (ScalingConfig.MaximumConcurrency).
	ErrorsinkMaxConcurrency int
	// ScrapeDetailConcurrency is the most detail pages the scraper fetches
	// at once; 0 keeps its profile's own.
	ScrapeDetailConcurrency int
	// AlarmEmail, when set, receives every alarm's state changes through
	// an encrypted SNS topic (the address must confirm the subscription).
	AlarmEmail string
}

// DefaultConfig returns the configuration of a stack that sets nothing.
// Pulumi.yaml declares the same defaults (a test compares them).
func DefaultConfig(stack string) Config {
	return Config{
		Suffix:                  stack,
		Shards:                  1,
		RetentionHours:          24,
		Memory:                  256,
		Timeout:                 30,
		ScrapeAuth:              ScrapeAuthIAM,
		ThrottleRate:            20,
		ThrottleBurst:           40,
		ScrapeThrottleRate:      1,
		ScrapeThrottleBurst:     2,
		SampleSiteDrift:         time.Hour,
		ParallelizationFactor:   contract.ProcessorMapping.ParallelizationFactor,
		StartingPosition:        contract.ProcessorMapping.StartingPosition,
		BatchingWindow:          contract.ProcessorMapping.MaximumBatchingWindowInSeconds,
		LogRetentionDays:        14,
		LogLevel:                "INFO",
		AllowHosts:              []string{},
		CORSOrigins:             []string{},
		ArchiveDays:             365,
		ArchiveForceDestroy:     true,
		ReservedConcurrency:     map[string]int{},
		ErrorsinkMaxConcurrency: MinSQSMaxConcurrency,
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
	num(KeyArchiveDays, &c.ArchiveDays)
	flag(KeyArchiveForceDestroy, &c.ArchiveForceDestroy)
	if v := get(KeySchedule); v != "" {
		c.Schedule = strings.TrimSpace(v)
	}
	var reserved []string
	list(KeyReservedConcurrency, &reserved)
	for _, item := range reserved {
		name, n, ok := strings.Cut(item, "=")
		name = strings.TrimSpace(name)
		count, err := strconv.Atoi(strings.TrimSpace(n))
		switch {
		case !ok || name == "" || err != nil:
			errs = append(errs, fmt.Errorf("%s: %q is not function=N (e.g. processor=2)", KeyReservedConcurrency, item))
		default:
			if _, dup := c.ReservedConcurrency[name]; dup {
				errs = append(errs, fmt.Errorf("%s: %s is given twice", KeyReservedConcurrency, name))
			}
			c.ReservedConcurrency[name] = count
		}
	}
	num(KeyErrorsinkMaxConcurrency, &c.ErrorsinkMaxConcurrency)
	num(KeyScrapeDetailConcurrency, &c.ScrapeDetailConcurrency)
	str(KeyAlarmEmail, &c.AlarmEmail)
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
	between(KeyArchiveDays, c.ArchiveDays, 0, MaxArchiveDays)
	if c.Schedule != "" {
		if err := CheckSchedule(c.Schedule); err != nil {
			bad("%s: %w", KeySchedule, err)
		}
	}
	reserved := 0
	for _, name := range slices.Sorted(maps.Keys(c.ReservedConcurrency)) {
		n := c.ReservedConcurrency[name]
		switch {
		case !slices.Contains(Services, name):
			bad("%s: %q is not a function of the stack (%s)", KeyReservedConcurrency, name, strings.Join(Services, ", "))
		case name == SampleSite && !c.SampleSite:
			bad("%s: %s is reserved but %s is off, so there is no such function", KeyReservedConcurrency, name, KeySampleSite)
		case n < 1:
			// 0 would stop the function altogether (every invocation
			// throttled): leave it out to keep it unreserved.
			bad("%s: %s=%d: want at least 1 (leave the function out to keep it unreserved)", KeyReservedConcurrency, name, n)
		default:
			reserved += n
		}
	}
	if reserved > MaxReservedConcurrency {
		bad("%s: %d reserved in all, more than the %d an account with the default quota of %d can reserve (%d stay unreserved)",
			KeyReservedConcurrency, reserved, MaxReservedConcurrency, DefaultAccountConcurrency, UnreservedMinimum)
	}
	between(KeyErrorsinkMaxConcurrency, c.ErrorsinkMaxConcurrency, MinSQSMaxConcurrency, MaxSQSMaxConcurrency)
	between(KeyScrapeDetailConcurrency, c.ScrapeDetailConcurrency, 0, MaxDetailConcurrency)
	if c.AlarmEmail != "" {
		if err := checkEmail(c.AlarmEmail); err != nil {
			bad("%s: %w", KeyAlarmEmail, err)
		}
	}
	return errors.Join(errs...)
}

// Shapes of an EventBridge Scheduler expression.
var (
	rateRE      = regexp.MustCompile(`^rate\(([0-9]+) (minute|minutes|hour|hours|day|days)\)$`)
	cronRE      = regexp.MustCompile(`^cron\(([^()]*)\)$`)
	cronFieldRE = regexp.MustCompile(`^[0-9A-Za-z*?,/#-]+$`)
	cronStepRE  = regexp.MustCompile(`^(\*|[0-9]+)/([0-9]+)$`)
)

// CheckSchedule accepts the recurring EventBridge Scheduler expressions
// by shape: "rate(N unit)" with unit minute(s), hour(s) or day(s), the
// singular form for 1 and the plural otherwise, as Scheduler requires; or
// "cron(minutes hours day-of-month month day-of-week year)", six fields of
// cron characters with "?" in exactly one of day-of-month and
// day-of-week. One-time "at(…)" schedules are refused: a standing stack
// setting should recur. So are schedules that fire more often than every
// MinScheduleMinutes: a rate below it, or a cron whose minutes field is
// "*" or a step below it. Scheduler itself checks the rest (value ranges,
// month and day names) when the stack is deployed.
func CheckSchedule(expr string) error {
	if m := rateRE.FindStringSubmatch(expr); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil || n < 1 {
			return fmt.Errorf("%q: the rate must be a positive whole number", expr)
		}
		unit := m[2]
		if plural := strings.HasSuffix(unit, "s"); plural != (n != 1) {
			return fmt.Errorf("%q: write the unit %s for %d (Scheduler wants rate(1 hour), rate(2 hours))", expr,
				map[bool]string{true: "in the singular", false: "in the plural"}[n == 1], n)
		}
		if strings.HasPrefix(unit, "minute") && n < MinScheduleMinutes {
			return fmt.Errorf("%q: at most one scrape every %d minutes", expr, MinScheduleMinutes)
		}
		return nil
	}
	if m := cronRE.FindStringSubmatch(expr); m != nil {
		fields := strings.Split(m[1], " ")
		if len(fields) != 6 {
			return fmt.Errorf("%q: want six fields separated by single spaces: minutes hours day-of-month month day-of-week year", expr)
		}
		for _, f := range fields {
			if !cronFieldRE.MatchString(f) {
				return fmt.Errorf("%q: field %q has characters cron does not use", expr, f)
			}
		}
		if (fields[2] == "?") == (fields[4] == "?") {
			return fmt.Errorf("%q: put ? in exactly one of day-of-month and day-of-week", expr)
		}
		if minutes := fields[0]; minutes == "*" {
			return fmt.Errorf("%q: fires every minute; at most one scrape every %d minutes", expr, MinScheduleMinutes)
		} else if s := cronStepRE.FindStringSubmatch(minutes); s != nil {
			if step, err := strconv.Atoi(s[2]); err != nil || step < MinScheduleMinutes {
				return fmt.Errorf("%q: fires every %s minutes; at most one scrape every %d minutes", expr, s[2], MinScheduleMinutes)
			}
		}
		return nil
	}
	return fmt.Errorf("%q is not rate(N unit) or cron(six fields), e.g. rate(1 hour) or cron(0 8 * * ? *)", expr)
}

// checkEmail accepts a bare e-mail address (no display name), as an SNS
// email subscription takes it.
func checkEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return fmt.Errorf("%q is not a bare e-mail address like someone@example.org", s)
	}
	_, domain, _ := strings.Cut(a.Address, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, "[") {
		return fmt.Errorf("%q: the domain %q is not a DNS name", s, domain)
	}
	return nil
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
