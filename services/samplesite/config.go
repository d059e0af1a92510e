package samplesite

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// MinDrift is the shortest period a drifting site accepts. HTTP dates
// count whole seconds: with shorter periods two of them could share a
// Last-Modified, and If-Modified-Since could not tell them apart.
const MinDrift = time.Second

// CheckDrift reports whether d is a drift New accepts: 0 (frozen) or at
// least MinDrift. Callers prefix the error with the setting's name.
func CheckDrift(d time.Duration) error {
	if d != 0 && d < MinDrift {
		return fmt.Errorf("%s: want 0 (a frozen chart) or at least %s", d, MinDrift)
	}
	return nil
}

// Config is the sample site's configuration in Lambda, read once from the
// environment by LoadConfig. The test knobs are not configurable: the
// deployed site never has them.
type Config struct {
	// Drift is SAMPLE_SITE_DRIFT, a Go duration ("1h", "30m"): how often
	// the chart moves. Unset, empty or "0" freezes it.
	Drift time.Duration
}

// LoadConfig reads the configuration through getenv (os.Getenv in main)
// and validates it; the error lists every problem at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	var c Config
	var errs []error
	if v := strings.TrimSpace(getenv(contract.EnvSampleSiteDrift)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration (e.g. 1h, 30m, or 0 for a frozen chart)", contract.EnvSampleSiteDrift, text.Clip(v, maxQuoted)))
		}
		c.Drift = d
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	return c, errors.Join(errs...)
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	if err := CheckDrift(c.Drift); err != nil {
		return fmt.Errorf("%s: %w", contract.EnvSampleSiteDrift, err)
	}
	return nil
}

// Options returns the handler's options for c: no knobs, seed 0 (every
// instance and every deployment serve the same history), the real clock.
func (c Config) Options() Options { return Options{Drift: c.Drift} }

// maxQuoted is the most bytes of a value from outside that an error message
// quotes (text.Clip): enough to recognise it, never a whole hostile input.
const maxQuoted = 64
