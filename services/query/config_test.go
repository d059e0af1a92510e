package query

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadConfig(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(testKey)
	got := LoadConfig(envOf(map[string]string{
		contract.EnvMoviesTable: "movies-x", contract.EnvRunsTable: "runs-x", contract.EnvErrorsTable: "errors-x",
		contract.EnvHistoryTable: "history-x",
		contract.EnvCursorKey:    key + "\n",
		contract.EnvCORSOrigins:  " https://a.example , ,http://localhost:8080",
	}))
	want := Config{
		MoviesTable: "movies-x", RunsTable: "runs-x", ErrorsTable: "errors-x", HistoryTable: "history-x", CursorKey: Secret(key),
		CORSOrigins: []string{"https://a.example", "http://localhost:8080"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("LoadConfig (-want +got):\n%s", diff)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	opts, err := got.Options(nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Options{CursorKey: testKey, CORSOrigins: want.CORSOrigins}, opts); diff != "" {
		t.Errorf("Options (-want +got):\n%s", diff)
	}
}

func TestConfigValidate(t *testing.T) {
	tables := map[string]string{contract.EnvMoviesTable: "m", contract.EnvRunsTable: "r", contract.EnvErrorsTable: "e",
		contract.EnvHistoryTable: "h"}
	with := func(k, v string) map[string]string {
		m := map[string]string{}
		for a, b := range tables {
			m[a] = b
		}
		m[k] = v
		return m
	}
	tests := []struct {
		name string
		env  map[string]string
		want []string // substrings of the error, all of them; none: valid
	}{
		{"minimal, random cursor key", tables, nil},
		{"url-safe key", with(contract.EnvCursorKey, base64.RawURLEncoding.EncodeToString(testKey)), nil},
		{"wildcard origin", with(contract.EnvCORSOrigins, "*"), nil},
		{"everything missing", map[string]string{}, []string{"MOVIES_TABLE: required", "RUNS_TABLE: required", "ERRORS_TABLE: required",
			"HISTORY_TABLE: required"}},
		{"short key", with(contract.EnvCursorKey, base64.StdEncoding.EncodeToString(testKey[:16])), []string{"CURSOR_KEY: 16 bytes, want 32"}},
		{"long key", with(contract.EnvCursorKey, base64.StdEncoding.EncodeToString(append(testKey, 1))), []string{"CURSOR_KEY: 33 bytes"}},
		{"key not base64", with(contract.EnvCursorKey, "not a key!"), []string{"CURSOR_KEY: not base64"}},
		{"origin with path", with(contract.EnvCORSOrigins, "https://a.example/app"), []string{"CORS_ORIGINS", "https://a.example/app"}},
		{"origin without scheme", with(contract.EnvCORSOrigins, "a.example"), []string{"CORS_ORIGINS"}},
		{"origin with trailing slash", with(contract.EnvCORSOrigins, "https://a.example/"), []string{"CORS_ORIGINS"}},
		{"ftp origin", with(contract.EnvCORSOrigins, "ftp://a.example"), []string{"CORS_ORIGINS"}},
		// Browsers send origins in lower case, without the default port:
		// these could never match an Origin header.
		{"origin in upper case", with(contract.EnvCORSOrigins, "https://App.Example"), []string{"CORS_ORIGINS", "lower case"}},
		{"origin with the default port", with(contract.EnvCORSOrigins, "https://a.example:443"), []string{"CORS_ORIGINS", "default port 443"}},
		{"http origin with port 80", with(contract.EnvCORSOrigins, "http://a.example:80"), []string{"CORS_ORIGINS", "default port 80"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := LoadConfig(envOf(tt.env)).Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate = nil, want an error mentioning %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate = %v, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestSecretIsNotLogged(t *testing.T) {
	var b strings.Builder
	s := Secret("c2VjcmV0")
	slog.New(slog.NewTextHandler(&b, nil)).Info("config", "key", s)
	fmt.Fprint(&b, s, Config{CursorKey: s})
	if strings.Contains(b.String(), string(s)) {
		t.Errorf("secret leaked: %s", b.String())
	}
}
