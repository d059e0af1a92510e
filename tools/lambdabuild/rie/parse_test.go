package rie

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseLine(t *testing.T) {
	tests := []struct {
		name string
		line string
		want logLine
	}{
		{"start", "START RequestId: abc-1 Version: $LATEST", logLine{Kind: lineStart, RequestID: "abc-1"}},
		{"init report", "27 Nov 2026 04:26:45,570 [INFO] (rapid) INIT REPORT(durationMs: 8.553000)", logLine{Kind: lineInitReport, Duration: 8553 * time.Microsecond}},
		{"cold report", "REPORT RequestId: abc-1\tInit Duration: 1.27 ms\tDuration: 11.59 ms\tBilled Duration: 12 ms\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t", logLine{Kind: lineReport, RequestID: "abc-1", Duration: 11590 * time.Microsecond}},
		{"warm report", "REPORT RequestId: abc-2\tDuration: 0.87 ms\tBilled Duration: 1 ms\t", logLine{Kind: lineReport, RequestID: "abc-2", Duration: 870 * time.Microsecond}},
		{"report with CRLF", "REPORT RequestId: abc-2\tDuration: 2 ms\r\n", logLine{Kind: lineReport, RequestID: "abc-2", Duration: 2 * time.Millisecond}},
		{"report without duration", "REPORT RequestId: abc-3\tBilled Duration: 1 ms", logLine{}},
		{"report with a negative duration", "REPORT RequestId: abc-3\tDuration: -1 ms", logLine{}},
		{"report with NaN", "REPORT RequestId: abc-3\tDuration: NaN ms", logLine{}},
		{"report with a huge duration", "REPORT RequestId: abc-3\tDuration: 1e300 ms", logLine{}},
		{"report without unit", "REPORT RequestId: abc-3\tDuration: 5", logLine{}},
		{"report without id", "REPORT RequestId: \tDuration: 5 ms", logLine{}},
		{"start without id", "START RequestId:  Version: 1", logLine{}},
		{"init report unterminated", "INIT REPORT(durationMs: 8.5", logLine{}},
		{"function output", `2026/11/27 04:26:45 {"errorMessage":"name is required"}`, logLine{}},
		{"empty", "", logLine{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, parseLine(tt.line), cmp.AllowUnexported(logLine{})); diff != "" {
				t.Errorf("parseLine(%q) (-want +got):\n%s", tt.line, diff)
			}
		})
	}
}

// TestOutputStateRecorded feeds output recorded from the pinned emulator.
func TestOutputStateRecorded(t *testing.T) {
	ms := func(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }
	tests := []struct {
		file    string
		inits   map[string]time.Duration
		reports map[string]time.Duration
	}{
		{
			// Two good invokes, then a handler error and a bad event.
			file:  "output-ok.txt",
			inits: map[string]time.Duration{"d86d21a6-8de1-4329-b6a7-56dbe531f5c4": ms(8.553)},
			reports: map[string]time.Duration{
				"d86d21a6-8de1-4329-b6a7-56dbe531f5c4": ms(11.59),
				"d1833cea-67d7-4faf-8615-e4a9fcd4385f": ms(1.16),
				"a7a1dcbc-15f2-4e47-bec7-3a190c2c4145": ms(1.92),
				"799a567b-b533-42e6-89a5-326d9284ebe4": ms(0.87),
			},
		},
		{
			// A bootstrap that exits during init, invoked twice: no REPORT.
			file: "output-initfail.txt",
			inits: map[string]time.Duration{
				"bd75876d-6a30-431b-a0d5-7df0260ce2f6": ms(3.035),
				"29b84641-3b47-478d-a3f1-47c67a9109e9": ms(1.22),
			},
			reports: map[string]time.Duration{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s := newOutputState()
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				s.add(sc.Text())
			}
			if diff := cmp.Diff(tt.inits, s.inits); diff != "" {
				t.Errorf("inits (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.reports, s.reports); diff != "" {
				t.Errorf("reports (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseLine(f *testing.F) {
	for _, file := range []string{"output-ok.txt", "output-initfail.txt"} {
		b, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			f.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f.Add(sc.Text())
		}
	}
	f.Fuzz(func(t *testing.T, line string) {
		l := parseLine(line)
		switch l.Kind {
		case lineOther:
			if l != (logLine{}) {
				t.Errorf("unknown line with data: %+v", l)
			}
		case lineStart, lineReport:
			if l.RequestID == "" {
				t.Errorf("%v line without request id", l.Kind)
			}
		}
		if l.Duration < 0 || l.Duration > time.Duration(maxMillis)*time.Millisecond {
			t.Errorf("duration %s out of range", l.Duration)
		}
	})
}

func TestParseFunctionError(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		want   *FunctionError
		wantOK bool
	}{
		{"aws-lambda-go error", `{"errorMessage":"name is required","errorType":"errorString"}`, &FunctionError{Type: "errorString", Message: "name is required"}, true},
		{"panic with stack", `{"errorMessage":"boom","errorType":"string","stackTrace":[{"path":"x.go","line":3,"label":"f"}]}`, &FunctionError{Type: "string", Message: "boom", StackTrace: json.RawMessage(`[{"path":"x.go","line":3,"label":"f"}]`)}, true},
		{"with requestId", `{"errorMessage":"","errorType":"Runtime.ExitError","requestId":"r1","stackTrace":null}`, &FunctionError{Type: "Runtime.ExitError"}, true},
		{"success payload", `{"greeting":"hi"}`, nil, false},
		{"result with an errorType field among others", `{"errorType":"x","errorMessage":"y","items":[]}`, nil, false},
		{"empty errorType", `{"errorMessage":"y","errorType":""}`, nil, false},
		{"no errorMessage", `{"errorType":"x"}`, nil, false},
		{"errorType not a string", `{"errorMessage":"y","errorType":1}`, nil, false},
		{"errorMessage not a string", `{"errorMessage":{},"errorType":"x"}`, nil, false},
		{"not an object", `["errorType"]`, nil, false},
		{"timeout text", `Task timed out after 1.00 seconds`, nil, false},
		{"empty", ``, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseFunctionError([]byte(tt.body))
			if ok != tt.wantOK {
				t.Errorf("ok = %t, want %t", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseFunctionError(f *testing.F) {
	f.Add([]byte(`{"errorMessage":"name is required","errorType":"errorString"}`))
	f.Add([]byte(`{"errorMessage":"boom","errorType":"string","stackTrace":[{"path":"x.go"}]}`))
	f.Add([]byte(`{"greeting":"hi"}`))
	f.Add([]byte(`Task timed out after 1.00 seconds`))
	f.Fuzz(func(t *testing.T, body []byte) {
		fe, ok := parseFunctionError(body)
		if !ok {
			if fe != nil {
				t.Fatal("not an error document, but a FunctionError returned")
			}
			return
		}
		if fe.Type == "" {
			t.Fatal("error document without a type accepted")
		}
		// What was parsed survives a round trip.
		b, err := json.Marshal(fe)
		if err != nil {
			t.Fatalf("marshal %+v: %v", fe, err)
		}
		again, ok := parseFunctionError(b)
		if !ok {
			t.Fatalf("re-encoded %s is not an error document", b)
		}
		if again.Type != fe.Type || again.Message != fe.Message {
			t.Fatalf("round trip: got %+v, want %+v", again, fe)
		}
	})
}
