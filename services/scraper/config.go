package scraper

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/fetch"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/profile"
)

// DefaultInterval is the least time between two scrapes of one host.
const DefaultInterval = 60 * time.Second

// MaxDetailConcurrency bounds Config.DetailConcurrency, as it bounds a
// profile's.
const MaxDetailConcurrency = contract.MaxDetailConcurrency

// Config is the scraper's configuration. LoadConfig reads it from the
// environment; devstack and tests fill it in directly.
type Config struct {
	// URL is the page a POST /scrape without a body scrapes
	// (SCRAPE_URL, required).
	URL string
	// Profile is the extraction profile: the name of a built-in one
	// ("movies", the default) or a profile's JSON (SCRAPE_PROFILE).
	Profile string
	// AllowHosts are the hosts a POST /scrape body (or the schedule's
	// input) may name in {"url": …} (SCRAPE_ALLOW_HOSTS, comma-separated):
	// "host" allows the host on its scheme's default port (80 for http,
	// 443 for https), "host:port" on that port only. Empty: only URL is
	// scraped.
	AllowHosts []string
	// AllowHint ends the message of the 400 that refuses a host outside
	// AllowHosts ("…; to allow it, " + AllowHint): how to allow one where
	// this scraper was configured (SCRAPE_ALLOW_HINT; devstack names its
	// flag, the stack its config command). Default: DefaultAllowHint. One
	// line, at most 256 bytes.
	AllowHint string
	// AllowPrivate lets the fetcher connect to loopback and private
	// addresses (SCRAPE_ALLOW_PRIVATE=true; devstack only).
	AllowPrivate bool
	// AllowAddrs are loopback or private listeners the fetcher may reach
	// without AllowPrivate: exactly these address:port pairs (devstack's
	// own sample site). Not read from the environment.
	AllowAddrs []netip.AddrPort
	// UserAgent identifies the scraper (SCRAPE_USER_AGENT; default
	// fetch.DefaultUserAgent).
	UserAgent string
	// Interval is the least time between two scrapes of one host
	// (SCRAPE_INTERVAL, a Go duration; default 60s).
	Interval time.Duration
	// DetailConcurrency is the most detail pages fetched at once
	// (SCRAPE_DETAIL_CONCURRENCY, 1..MaxDetailConcurrency). 0 keeps the
	// profile's detail.concurrency (8 for "movies").
	DetailConcurrency int
	// StreamName and RunsTable name the Lambda's stream and runs table
	// (STREAM_NAME, RUNS_TABLE). The service itself does not use them: its
	// Deps carry the adapters. Validate requires them; New does not.
	StreamName string
	RunsTable  string
}

// LoadConfig reads the configuration through getenv (os.Getenv in main)
// and validates it, listing every problem at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		URL:        strings.TrimSpace(getenv(contract.EnvScrapeURL)),
		Profile:    strings.TrimSpace(getenv(contract.EnvScrapeProfile)),
		UserAgent:  strings.TrimSpace(getenv(contract.EnvScrapeUserAgent)),
		AllowHint:  strings.TrimSpace(getenv(contract.EnvScrapeAllowHint)),
		StreamName: strings.TrimSpace(getenv(contract.EnvStreamName)),
		RunsTable:  strings.TrimSpace(getenv(contract.EnvRunsTable)),
	}
	var errs []error
	for _, h := range strings.Split(getenv(contract.EnvScrapeAllowHosts), ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.AllowHosts = append(c.AllowHosts, h)
		}
	}
	if v := strings.TrimSpace(getenv(contract.EnvScrapeAllowPrivate)); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a boolean", contract.EnvScrapeAllowPrivate, v))
		}
		c.AllowPrivate = b
	}
	if v := strings.TrimSpace(getenv(contract.EnvScrapeInterval)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration (e.g. 60s)", contract.EnvScrapeInterval, v))
		}
		c.Interval = d
	}
	if v := strings.TrimSpace(getenv(contract.EnvScrapeDetailConcurrency)); v != "" {
		n, err := strconv.Atoi(v)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %q is not a whole number (1..%d)", contract.EnvScrapeDetailConcurrency, v, MaxDetailConcurrency))
		case n == 0:
			// 0 would silently mean "the profile's": a value set in the
			// environment is a choice, so it must be one.
			errs = append(errs, fmt.Errorf("%s: 0 not in 1..%d (leave it unset for the profile's)", contract.EnvScrapeDetailConcurrency, MaxDetailConcurrency))
		default:
			c.DetailConcurrency = n // range checked by Validate
		}
	}
	c.applyDefaults()
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

func (c *Config) applyDefaults() {
	if c.Profile == "" {
		c.Profile = profile.Default
	}
	if c.UserAgent == "" {
		c.UserAgent = fetch.DefaultUserAgent
	}
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.AllowHint == "" {
		c.AllowHint = DefaultAllowHint
	}
}

// DefaultAllowHint is Config.AllowHint when none is configured.
const DefaultAllowHint = "add it to " + contract.EnvScrapeAllowHosts + " (host or host:port, comma-separated)"

// maxAllowHint bounds Config.AllowHint.
const maxAllowHint = 256

// Validate reports every problem of the configuration, the Lambda's stream
// and table names included.
func (c Config) Validate() error {
	errs := []error{c.validateService()}
	if c.StreamName == "" {
		errs = append(errs, fmt.Errorf("%s: required", contract.EnvStreamName))
	}
	if c.RunsTable == "" {
		errs = append(errs, fmt.Errorf("%s: required", contract.EnvRunsTable))
	}
	return errors.Join(errs...)
}

// validateService checks what the service itself uses.
func (c Config) validateService() error {
	var errs []error
	if c.URL == "" {
		errs = append(errs, fmt.Errorf("%s: required", contract.EnvScrapeURL))
	} else if _, err := checkTarget(c.URL); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", contract.EnvScrapeURL, err))
	}
	for _, h := range c.AllowHosts {
		if err := checkHostPattern(h); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", contract.EnvScrapeAllowHosts, err))
		}
	}
	if c.Interval < 0 {
		errs = append(errs, fmt.Errorf("%s: %v is negative", contract.EnvScrapeInterval, c.Interval))
	}
	if c.DetailConcurrency < 0 || c.DetailConcurrency > MaxDetailConcurrency {
		errs = append(errs, fmt.Errorf("%s: %d not in 1..%d", contract.EnvScrapeDetailConcurrency, c.DetailConcurrency, MaxDetailConcurrency))
	}
	if len(c.AllowHint) > maxAllowHint {
		errs = append(errs, fmt.Errorf("%s: longer than %d bytes", contract.EnvScrapeAllowHint, maxAllowHint))
	}
	if !utf8.ValidString(c.AllowHint) || strings.ContainsFunc(c.AllowHint, unicode.IsControl) {
		errs = append(errs, fmt.Errorf("%s: want one line of text", contract.EnvScrapeAllowHint))
	}
	if c.UserAgent != "" && fetch.ProductToken(c.UserAgent) == "" {
		errs = append(errs, fmt.Errorf("%s: %q has no product token (want e.g. name/1.0)", contract.EnvScrapeUserAgent, c.UserAgent))
	}
	if strings.ContainsAny(c.UserAgent, "\r\n") {
		errs = append(errs, fmt.Errorf("%s: contains a line break", contract.EnvScrapeUserAgent))
	}
	if _, err := loadProfile(c.Profile); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", contract.EnvScrapeProfile, err))
	}
	return errors.Join(errs...)
}

// loadProfile returns a built-in profile by name, or parses JSON.
func loadProfile(p string) (*profile.Profile, error) {
	switch {
	case p == "":
		return profile.Builtin(profile.Default)
	case strings.HasPrefix(strings.TrimSpace(p), "{"):
		return profile.Parse([]byte(p))
	}
	return profile.Builtin(p)
}

// checkTarget accepts an absolute http(s) URL with a host and no
// credentials, of at most 2048 bytes as written and as escaped by
// u.String(), the form readTarget hands on and Scrape checks again.
func checkTarget(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, fmt.Errorf("%q is not a URL", text.Clip(raw, maxQuoted))
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("%q: want an http or https URL", text.Clip(raw, maxQuoted))
	case u.Hostname() == "":
		return nil, fmt.Errorf("%q has no host", text.Clip(raw, maxQuoted))
	case u.User != nil:
		return nil, fmt.Errorf("%q carries credentials", text.Clip(raw, maxQuoted))
	case len(raw) > 2048:
		return nil, errors.New("URL longer than 2048 bytes")
	case len(u.String()) > 2048:
		return nil, errors.New("URL longer than 2048 bytes once escaped")
	}
	return u, nil
}

func checkHostPattern(h string) error {
	host := h
	if hp, port, err := net.SplitHostPort(h); err == nil {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("%q: bad port", h)
		}
		host = hp
	}
	if host == "" || strings.ContainsAny(host, "/@?#* ") {
		return fmt.Errorf("%q is not a host or host:port", h)
	}
	return nil
}

// defaultPorts are the ports of URLs that name none.
var defaultPorts = map[string]string{"http": "80", "https": "443"}

// origin is u's host and port in one canonical form: the host name in
// lower case, the scheme's default port when u names none
// ("films.test:443"). "films.test", "FILMS.test:443" and "films.test:443"
// are one origin under https.
func origin(u *url.URL) string {
	return net.JoinHostPort(strings.ToLower(u.Hostname()), cmp.Or(u.Port(), defaultPorts[u.Scheme]))
}

// hostAllowed reports whether u's host and port match an allow-list
// entry. An entry without a port stands for the default port of u's
// scheme: allowing a web site does not open its other services (an admin
// port, a database) to POST /scrape.
func hostAllowed(allow []string, u *url.URL) bool {
	want := origin(u)
	for _, a := range allow {
		h, p, err := net.SplitHostPort(a)
		if err != nil {
			h, p = strings.Trim(a, "[]"), defaultPorts[u.Scheme]
		}
		if net.JoinHostPort(strings.ToLower(h), p) == want {
			return true
		}
	}
	return false
}

// maxQuoted is the most bytes of a value from outside that a message
// quotes (text.Clip): enough to recognise it, never a whole hostile input.
const maxQuoted = 120
