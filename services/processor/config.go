package processor

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// LimitMaxClockSkew is the largest MaxClockSkew a Config accepts: a clock
// a day off is broken, not skewed, and a larger allowance would let
// misdated events pin their movies for as long.
const LimitMaxClockSkew = 24 * time.Hour

// Config is the processor function's configuration, read from its
// environment (names in libs/contract). AWS endpoints and credentials come
// from the SDK's standard settings.
type Config struct {
	MoviesTable  string
	RunsTable    string
	ErrorsTable  string
	HistoryTable string
	// MaxClockSkew is Options.MaxClockSkew (contract.EnvMaxClockSkew, a Go
	// duration; default DefaultMaxClockSkew).
	MaxClockSkew time.Duration
}

// LoadConfig reads the configuration through getenv (os.Getenv in main)
// and validates it, reporting every problem at once. (The log level is
// Lambda's own AWS_LAMBDA_LOG_LEVEL, read by lambdacontext.NewLogger.)
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		MoviesTable:  getenv(contract.EnvMoviesTable),
		RunsTable:    getenv(contract.EnvRunsTable),
		ErrorsTable:  getenv(contract.EnvErrorsTable),
		HistoryTable: getenv(contract.EnvHistoryTable),
		MaxClockSkew: DefaultMaxClockSkew,
	}
	var errs []error
	if v := strings.TrimSpace(getenv(contract.EnvMaxClockSkew)); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not a duration (e.g. 5m)", contract.EnvMaxClockSkew, v))
		} else {
			c.MaxClockSkew = d
		}
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("processor config: %w", err)
	}
	return c, nil
}

// Validate reports every missing or out-of-range setting.
func (c Config) Validate() error {
	var errs []error
	for _, s := range []struct{ env, v string }{
		{contract.EnvMoviesTable, c.MoviesTable},
		{contract.EnvRunsTable, c.RunsTable},
		{contract.EnvErrorsTable, c.ErrorsTable},
		{contract.EnvHistoryTable, c.HistoryTable},
	} {
		if strings.TrimSpace(s.v) == "" {
			errs = append(errs, fmt.Errorf("%s is required", s.env))
		}
	}
	if c.MaxClockSkew <= 0 || c.MaxClockSkew > LimitMaxClockSkew {
		errs = append(errs, fmt.Errorf("%s %s not in (0, %s]", contract.EnvMaxClockSkew, c.MaxClockSkew, LimitMaxClockSkew))
	}
	return errors.Join(errs...)
}
