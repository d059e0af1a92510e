package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestWriteError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantCode   string
		wantMsg    string
		wantRetry  string
	}{
		{"client error", BadParameter("limit", "must be 1..100"), 400, CodeBadParameter, "limit: must be 1..100", ""},
		{"wrapped", fmt.Errorf("list: %w", Errorf(404, CodeNotFound, "no movie x")), 404, CodeNotFound, "no movie x", ""},
		{"retry after rounds up", &Error{Status: 429, Code: CodeRateLimited, Message: "slow down", RetryAfter: 1500 * time.Millisecond}, 429, CodeRateLimited, "slow down", "2"},
		{"internal hides text", errors.New("dynamodb: secret table arn"), 500, CodeInternal, "internal error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			WriteError(rec, httptest.NewRequest("GET", "/x", nil), nil, tt.err)
			if rec.Code != tt.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tt.wantStatus)
			}
			if got := rec.Header().Get("Content-Type"); got != "application/json; charset=utf-8" {
				t.Errorf("Content-Type = %q", got)
			}
			if got := rec.Header().Get("Retry-After"); got != tt.wantRetry {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetry)
			}
			var b body
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if b.Error.Code != tt.wantCode || b.Error.Message != tt.wantMsg {
				t.Errorf("body = %+v, want code %q message %q", b.Error, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestJSONErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /movies/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "missing" {
			WriteError(w, r, nil, Errorf(404, CodeNotFound, "no movie missing"))
			return
		}
		WriteJSON(w, 200, map[string]string{"id": r.PathValue("id")})
	})
	h := JSONErrors(mux, nil)
	tests := []struct {
		method, path string
		wantStatus   int
		wantCode     string
		wantAllow    string
	}{
		{"GET", "/movies/a", 200, "", ""},
		{"GET", "/movies/missing", 404, CodeNotFound, ""},
		{"GET", "/nothing", 404, CodeNotFound, ""},
		{"DELETE", "/movies/a", 405, CodeMethodNotAllowed, "GET, HEAD"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", rec.Code, tt.wantStatus, rec.Body)
			}
			if got := rec.Header().Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
			var b body
			if err := json.Unmarshal(rec.Body.Bytes(), &b); err != nil {
				t.Fatalf("body %q is not JSON: %v", rec.Body, err)
			}
			if b.Error.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", b.Error.Code, tt.wantCode)
			}
		})
	}
}

func TestJSONErrorsRecoversPanics(t *testing.T) {
	var logged strings.Builder
	log := slog.New(slog.NewJSONHandler(&logged, nil))
	h := JSONErrors(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("handler bug: secret detail") }), log)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/x", nil))
	var b body
	if rec.Code != 500 || json.Unmarshal(rec.Body.Bytes(), &b) != nil || b.Error.Code != CodeInternal {
		t.Fatalf("panic answered %d %s, want a JSON 500", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "secret") {
		t.Errorf("the panic's text leaked: %s", rec.Body)
	}
	var line struct{ Level, Msg, Method, Path, Panic, Stack string }
	if err := json.Unmarshal([]byte(logged.String()), &line); err != nil {
		t.Fatalf("log %q: %v", logged.String(), err)
	}
	if line.Level != "ERROR" || line.Panic != "handler bug: secret detail" || line.Path != "/x" || !strings.Contains(line.Stack, "TestJSONErrorsRecoversPanics") {
		t.Errorf("panic logged as %+v; want an error line with the panic, the path and the stack", line)
	}
}
