package rie

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// FunctionError is a handler's error as the runtime reported it: the
// emulator answers HTTP 200 with this document as the body.
type FunctionError struct {
	// Type is errorType: the Go error's type name for aws-lambda-go
	// (errorString, *fmt.wrapError, …), or Runtime.* for runtime failures.
	Type string `json:"errorType"`
	// Message is errorMessage.
	Message string `json:"errorMessage"`
	// StackTrace is the stackTrace of a panic, as sent; nil without one.
	StackTrace json.RawMessage `json:"stackTrace,omitempty"`
}

// Error implements error.
func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// errorDocKeys are the keys a Lambda error document may have.
var errorDocKeys = map[string]bool{"errorType": true, "errorMessage": true, "stackTrace": true, "requestId": true}

// parseFunctionError reports whether body is a Lambda error document: a
// JSON object with a non-empty string errorType, a string errorMessage and
// no keys but those in errorDocKeys. A successful response that happens to
// have an errorType field among others is therefore not taken for an error.
func parseFunctionError(body []byte) (*FunctionError, bool) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, false
	}
	for k := range doc {
		if !errorDocKeys[k] {
			return nil, false
		}
	}
	var fe FunctionError
	rawType, okType := doc["errorType"]
	rawMsg, okMsg := doc["errorMessage"]
	if !okType || !okMsg {
		return nil, false
	}
	if json.Unmarshal(rawType, &fe.Type) != nil || fe.Type == "" {
		return nil, false
	}
	if json.Unmarshal(rawMsg, &fe.Message) != nil {
		return nil, false
	}
	if st, ok := doc["stackTrace"]; ok && string(st) != "null" {
		fe.StackTrace = st
	}
	return &fe, true
}

// lineKind says which emulator log line parseLine saw.
type lineKind int

const (
	lineOther      lineKind = iota
	lineStart               // START RequestId: <id> Version: …
	lineInitReport          // … INIT REPORT(durationMs: <ms>)
	lineReport              // REPORT RequestId: <id>\t…Duration: <ms> ms\t…
)

// logLine is what one emulator log line says.
type logLine struct {
	Kind      lineKind
	RequestID string
	// Duration is the REPORT's Duration or the INIT REPORT's durationMs.
	Duration time.Duration
}

// parseLine reads one line of the emulator's output. Lines it does not
// know, and known lines with a malformed figure, are lineOther.
func parseLine(line string) logLine {
	line = strings.TrimRight(line, "\r\n")
	switch {
	case strings.HasPrefix(line, "START RequestId: "):
		id, _, _ := strings.Cut(strings.TrimPrefix(line, "START RequestId: "), " ")
		if id == "" {
			return logLine{}
		}
		return logLine{Kind: lineStart, RequestID: id}
	case strings.HasPrefix(line, "REPORT RequestId: "):
		fields := strings.Split(strings.TrimPrefix(line, "REPORT RequestId: "), "\t")
		id := strings.TrimSpace(fields[0])
		if id == "" {
			return logLine{}
		}
		for _, f := range fields[1:] {
			v, ok := strings.CutPrefix(f, "Duration: ")
			if !ok {
				continue
			}
			v, ok = strings.CutSuffix(v, " ms")
			if !ok {
				return logLine{}
			}
			d, ok := parseMillis(v)
			if !ok {
				return logLine{}
			}
			return logLine{Kind: lineReport, RequestID: id, Duration: d}
		}
		return logLine{}
	default:
		_, rest, ok := strings.Cut(line, "INIT REPORT(durationMs: ")
		if !ok {
			return logLine{}
		}
		v, _, ok := strings.Cut(rest, ")")
		if !ok {
			return logLine{}
		}
		d, ok := parseMillis(v)
		if !ok {
			return logLine{}
		}
		return logLine{Kind: lineInitReport, Duration: d}
	}
}

// maxMillis bounds a parsed figure well inside time.Duration's range.
const maxMillis = 1e9 // about 11.6 days

// parseMillis parses a decimal number of milliseconds.
func parseMillis(s string) (time.Duration, bool) {
	ms, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(ms) || ms < 0 || ms > maxMillis {
		return 0, false
	}
	return time.Duration(math.Round(ms * float64(time.Millisecond))), true
}

// outputState follows the emulator's output: which request each INIT
// REPORT belongs to (the last START line before it) and each request's
// REPORT Duration.
type outputState struct {
	current string                   // request id of the last START line
	inits   map[string]time.Duration // request id → INIT REPORT, first one only
	reports map[string]time.Duration // request id → REPORT Duration
}

func newOutputState() outputState {
	return outputState{inits: make(map[string]time.Duration), reports: make(map[string]time.Duration)}
}

// add takes one output line and reports whether it was a REPORT line.
func (s *outputState) add(line string) bool {
	switch l := parseLine(line); l.Kind {
	case lineStart:
		s.current = l.RequestID
	case lineInitReport:
		if _, seen := s.inits[s.current]; s.current != "" && !seen {
			s.inits[s.current] = l.Duration
		}
	case lineReport:
		s.reports[l.RequestID] = l.Duration
		return true
	}
	return false
}
