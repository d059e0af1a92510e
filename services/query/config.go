package query

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/services/query/ui"
)

// Config is the query function's configuration, read once from the
// environment by LoadConfig.
type Config struct {
	// MoviesTable, RunsTable, ErrorsTable and HistoryTable name the
	// DynamoDB tables (required).
	MoviesTable, RunsTable, ErrorsTable, HistoryTable string
	// CursorKey is CURSOR_KEY: the standard base64 of 32 random bytes, or
	// empty for a random key per process (fine for devstack, not for
	// Lambda, where each instance would refuse the others' cursors).
	CursorKey Secret
	// CORSOrigins is CORS_ORIGINS split at commas (default none).
	CORSOrigins []string
	// ScrapeCommand is SCRAPE_COMMAND: the line the dashboard shows to
	// start a scrape where POST /scrape needs a signature (empty: a
	// button).
	ScrapeCommand string
}

// Secret is a configuration value that must not appear in logs.
type Secret string

// LogValue hides the secret.
func (Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// String hides the secret from fmt too.
func (Secret) String() string { return "REDACTED" }

// LoadConfig reads the configuration through getenv (os.Getenv in main).
// It does not fail: Validate reports every problem at once. (The log level
// is Lambda's own AWS_LAMBDA_LOG_LEVEL, read by lambdacontext.NewLogger.)
func LoadConfig(getenv func(string) string) Config {
	c := Config{
		MoviesTable:  getenv(contract.EnvMoviesTable),
		RunsTable:    getenv(contract.EnvRunsTable),
		ErrorsTable:  getenv(contract.EnvErrorsTable),
		HistoryTable: getenv(contract.EnvHistoryTable),
		CursorKey:    Secret(strings.TrimSpace(getenv(contract.EnvCursorKey))),
	}
	for o := range strings.SplitSeq(getenv(contract.EnvCORSOrigins), ",") {
		if o = strings.TrimSpace(o); o != "" {
			c.CORSOrigins = append(c.CORSOrigins, o)
		}
	}
	c.ScrapeCommand = strings.TrimSpace(getenv(contract.EnvScrapeCommand))
	return c
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	for _, t := range []struct{ env, v string }{
		{contract.EnvMoviesTable, c.MoviesTable},
		{contract.EnvRunsTable, c.RunsTable},
		{contract.EnvErrorsTable, c.ErrorsTable},
		{contract.EnvHistoryTable, c.HistoryTable},
	} {
		if t.v == "" {
			errs = append(errs, fmt.Errorf("%s: required", t.env))
		}
	}
	if _, err := c.cursorKey(); err != nil {
		errs = append(errs, err)
	}
	if _, err := newCORS(c.CORSOrigins); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", contract.EnvCORSOrigins, err))
	}
	if err := c.dashboard().Validate(); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", contract.EnvScrapeCommand, err))
	}
	return errors.Join(errs...)
}

// cursorKey decodes CursorKey; empty gives nil.
func (c Config) cursorKey() ([]byte, error) {
	if c.CursorKey == "" {
		return nil, nil
	}
	key, err := base64.StdEncoding.DecodeString(string(c.CursorKey))
	if err != nil {
		key, err = base64.RawURLEncoding.DecodeString(string(c.CursorKey))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: not base64", contract.EnvCursorKey)
	}
	if len(key) != CursorKeySize {
		return nil, fmt.Errorf("%s: %d bytes, want %d (e.g. openssl rand -base64 32)", contract.EnvCursorKey, len(key), CursorKeySize)
	}
	return key, nil
}

// Options returns the handler options of a valid c.
func (c Config) Options(log *slog.Logger) (Options, error) {
	if err := c.Validate(); err != nil {
		return Options{}, err
	}
	key, _ := c.cursorKey()
	return Options{CursorKey: key, CORSOrigins: c.CORSOrigins, Logger: log, Dashboard: c.dashboard()}, nil
}

// dashboard is the dashboard's configuration.
func (c Config) dashboard() ui.Config { return ui.Config{ScrapeCommand: c.ScrapeCommand} }
