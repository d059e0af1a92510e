package errorsink

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// Config is the errorsink function's configuration, read from its
// environment (names in libs/contract). The stream is named by each
// message; AWS endpoints and credentials come from the SDK's standard
// settings.
type Config struct {
	// RunsTable and ErrorsTable are required: the handler stores error
	// items and counts failed events. MoviesTable is optional (the
	// handler never writes movies).
	MoviesTable string
	RunsTable   string
	ErrorsTable string
	// LogLevel defaults to info.
	LogLevel slog.Level
}

// LoadConfig reads the configuration through getenv (os.Getenv in main)
// and validates it, reporting every problem at once.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		MoviesTable: getenv(contract.EnvMoviesTable),
		RunsTable:   getenv(contract.EnvRunsTable),
		ErrorsTable: getenv(contract.EnvErrorsTable),
	}
	var errs []error
	if lv := strings.TrimSpace(getenv(contract.EnvLogLevel)); lv != "" {
		if err := c.LogLevel.UnmarshalText([]byte(lv)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %q is not debug, info, warn or error", contract.EnvLogLevel, lv))
		}
	}
	errs = append(errs, c.Validate())
	if err := errors.Join(errs...); err != nil {
		return Config{}, fmt.Errorf("errorsink config: %w", err)
	}
	return c, nil
}

// Validate reports every missing setting.
func (c Config) Validate() error {
	var errs []error
	for _, s := range []struct{ env, v string }{
		{contract.EnvRunsTable, c.RunsTable},
		{contract.EnvErrorsTable, c.ErrorsTable},
	} {
		if strings.TrimSpace(s.v) == "" {
			errs = append(errs, fmt.Errorf("%s is required", s.env))
		}
	}
	return errors.Join(errs...)
}
