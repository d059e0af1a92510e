package processor

import (
	"errors"
	"fmt"
	"strings"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// Config is the processor function's configuration, read from its
// environment (names in libs/contract). AWS endpoints and credentials come
// from the SDK's standard settings.
type Config struct {
	MoviesTable string
	RunsTable   string
	ErrorsTable string
}

// LoadConfig reads the configuration through getenv (os.Getenv in main)
// and validates it, reporting every problem at once. (The log level is
// Lambda's own AWS_LAMBDA_LOG_LEVEL, read by lambdacontext.NewLogger.)
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		MoviesTable: getenv(contract.EnvMoviesTable),
		RunsTable:   getenv(contract.EnvRunsTable),
		ErrorsTable: getenv(contract.EnvErrorsTable),
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("processor config: %w", err)
	}
	return c, nil
}

// Validate reports every missing setting.
func (c Config) Validate() error {
	var errs []error
	for _, s := range []struct{ env, v string }{
		{contract.EnvMoviesTable, c.MoviesTable},
		{contract.EnvRunsTable, c.RunsTable},
		{contract.EnvErrorsTable, c.ErrorsTable},
	} {
		if strings.TrimSpace(s.v) == "" {
			errs = append(errs, fmt.Errorf("%s is required", s.env))
		}
	}
	return errors.Join(errs...)
}
