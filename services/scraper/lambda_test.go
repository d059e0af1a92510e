package scraper_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// TestAPIGatewayEvents runs recorded API Gateway HTTP API (payload 2.0)
// events through the api-proxy adapter, as the Lambda does. "${SITE}" in a
// body stands for the test's sample site.
func TestAPIGatewayEvents(t *testing.T) {
	tests := []struct {
		file       string
		wantStatus int
		wantCode   string
		check      func(t *testing.T, r response)
	}{
		{"post-scrape.json", http.StatusAccepted, "", func(t *testing.T, r response) {
			if r.Summary.Published != 250 || r.Summary.Pages != 5 {
				t.Errorf("summary %+v; want 250 published over 5 pages", r.Summary)
			}
		}},
		{"post-scrape-url.json", http.StatusAccepted, "", func(t *testing.T, r response) {
			if r.Summary.Published != 150 || r.Summary.Skipped != 100 {
				t.Errorf("summary %+v; want 150 published, 100 skipped", r.Summary)
			}
		}},
		{"post-scrape-base64.json", http.StatusBadRequest, "bad_parameter", nil},
		{"post-scrape-bad-json.json", http.StatusBadRequest, "bad_request", nil},
		{"get-scrape.json", http.StatusMethodNotAllowed, "method_not_allowed", nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			e := newEnv(t, envOpts{})
			raw, err := os.ReadFile(filepath.Join("testdata", "apigw", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			raw = []byte(strings.ReplaceAll(string(raw), "${SITE}", e.site.URL))
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(raw, &ev); err != nil {
				t.Fatal(err)
			}
			resp, err := httpadapter.NewV2(e.h).ProxyWithContext(t.Context(), ev)
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			for k, v := range resp.Headers {
				h.Set(k, v)
			}
			got := decodeResponse(t, resp.StatusCode, h, []byte(resp.Body))
			if got.Status != tc.wantStatus || got.Error.Code != tc.wantCode {
				t.Fatalf("got %d %q (%s); want %d %q", got.Status, got.Error.Code, got.Error.Message, tc.wantStatus, tc.wantCode)
			}
			if tc.check != nil {
				tc.check(t, got)
			}
		})
	}
}
