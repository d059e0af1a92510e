// Package httpx holds the HTTP conventions of the pipeline's APIs: every
// error is JSON {"error":{"code":"…","message":"…"}} with the right status,
// mapped in one place from an *Error; success bodies are JSON too.
//
// Handlers return errors; only the edge (WriteError) turns them into
// responses, so an internal error never leaks its text to a client.
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"
)

// Error codes shared by the services. A code is stable and machine-readable;
// the message is for people.
const (
	CodeBadRequest       = "bad_request"
	CodeBadParameter     = "bad_parameter"
	CodeBadCursor        = "bad_cursor"
	CodeNotFound         = "not_found"
	CodeMethodNotAllowed = "method_not_allowed"
	CodeConflict         = "conflict"
	CodeTooLarge         = "too_large"
	CodeRateLimited      = "rate_limited"
	CodeUnavailable      = "unavailable"
	CodeInternal         = "internal"
)

// Error is an error meant for the client: its Status, Code and Message are
// sent as they are.
type Error struct {
	Status  int
	Code    string
	Message string
	// RetryAfter, when positive, is sent as the Retry-After header (whole
	// seconds, rounded up).
	RetryAfter time.Duration
	// Err is the cause, logged but never sent.
	Err error
}

// Error returns the code and message, and the cause for logs; clients get only Code and Message.
func (e *Error) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the cause, so errors.Is and errors.As see through to it.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with status, code and message.
func Errorf(status int, code, message string) *Error {
	return &Error{Status: status, Code: code, Message: message}
}

// BadParameter is a 400 naming the parameter and why it was refused.
func BadParameter(name, why string) *Error {
	return &Error{Status: http.StatusBadRequest, Code: CodeBadParameter, Message: name + ": " + why}
}

// body is the JSON shape of an error response.
type body struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// WriteError writes err as a JSON error response. An *Error anywhere in
// err's chain is sent as it is; anything else is a 500 whose text is logged
// to log (if not nil) but not sent.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var he *Error
	if !errors.As(err, &he) {
		he = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error", Err: err}
	}
	if log != nil {
		level := slog.LevelInfo
		if he.Status >= 500 {
			level = slog.LevelError
		}
		log.LogAttrs(r.Context(), level, "request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", he.Status), slog.String("code", he.Code), slog.String("error", err.Error()))
	}
	if he.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(he.RetryAfter.Seconds()))))
	}
	var b body
	b.Error.Code, b.Error.Message = he.Code, he.Message
	WriteJSON(w, he.Status, b)
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"code":"internal","message":"internal error"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// JSONErrors wraps a ServeMux-based handler so that the plain-text 404 and
// 405 answers of net/http become JSON errors (the 405 keeps its Allow
// header), and a panic becomes a JSON 500 instead of a dropped connection
// (or API Gateway's own 502 body in Lambda). The panic, with its stack, is
// logged to log (if not nil): recovering it keeps it from the runtime's
// own report.
func JSONErrors(next http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		jw := &jsonErrorWriter{ResponseWriter: w, r: r}
		defer func() {
			p := recover()
			if p == nil {
				return
			}
			if p == http.ErrAbortHandler {
				panic(p) // net/http's own way to abort a response
			}
			if log != nil {
				log.LogAttrs(r.Context(), slog.LevelError, "panic serving a request",
					slog.String("method", r.Method), slog.String("path", r.URL.Path),
					slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
			}
			if !jw.wrote {
				WriteError(w, r, nil, fmt.Errorf("panic: %v", p))
			}
		}()
		next.ServeHTTP(jw, r)
	})
}

type jsonErrorWriter struct {
	http.ResponseWriter
	r        *http.Request
	hijacked bool
	wrote    bool // the status line is out: a panic can no longer answer
}

func (j *jsonErrorWriter) WriteHeader(status int) {
	j.wrote = true
	ct := j.Header().Get("Content-Type")
	if (status == http.StatusNotFound || status == http.StatusMethodNotAllowed) && (ct == "" || ct == "text/plain; charset=utf-8") {
		j.hijacked = true
		j.Header().Del("X-Content-Type-Options")
		code, msg := CodeNotFound, "no route for "+j.r.Method+" "+j.r.URL.Path
		if status == http.StatusMethodNotAllowed {
			code, msg = CodeMethodNotAllowed, "method "+j.r.Method+" not allowed on "+j.r.URL.Path
		}
		var b body
		b.Error.Code, b.Error.Message = code, msg
		WriteJSON(j.ResponseWriter, status, b)
		return
	}
	j.ResponseWriter.WriteHeader(status)
}

func (j *jsonErrorWriter) Write(p []byte) (int, error) {
	j.wrote = true
	if j.hijacked {
		return len(p), nil // drop net/http's plain-text body
	}
	return j.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (j *jsonErrorWriter) Unwrap() http.ResponseWriter { return j.ResponseWriter }
