package samplesite_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"io"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
)

// TestLambdaAdapter serves API Gateway HTTP API (payload 2.0) events
// through the same adapter as cmd/lambda: paths arrive unprefixed, a
// trailing-slash index reaches the handler, gzip comes back base64-encoded.
func TestLambdaAdapter(t *testing.T) {
	adapter := httpadapter.NewV2(samplesite.New(samplesite.Options{}))
	event := func(routeKey, rawPath, query string, headers map[string]string) events.APIGatewayV2HTTPRequest {
		return events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: routeKey, RawPath: rawPath, RawQueryString: query, Headers: headers,
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				DomainName: "abc123.execute-api.eu-west-1.amazonaws.com", Stage: "$default",
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: rawPath},
			},
		}
	}
	tests := []struct {
		name         string
		event        events.APIGatewayV2HTTPRequest
		status       int
		base64       bool
		bodyContains string
	}{
		{"chart page 2", event("GET /site/chart", "/site/chart", "page=2", nil), 200, false, `data-rank="51"`},
		{"chart gzip", event("GET /site/chart", "/site/chart", "page=5", map[string]string{"accept-encoding": "gzip, deflate, br"}), 200, true, `data-rank="250"`},
		{"index with slash", event("GET /site", "/site/", "", nil), 200, false, `class="chart-link button"`},
		{"film", event("GET /site/films/{id}", "/site/films/spirited-away-2001", "", nil), 200, false, "Hayao Miyazaki"},
		{"robots", event("GET /robots.txt", "/robots.txt", "", nil), 200, false, "Disallow: /site/private/"},
		{"knobs are off", event("GET /site/chart", "/site/chart", "status=500", nil), 200, false, `data-rank="1"`},
		{"conditional", event("GET /site/chart", "/site/chart", "", map[string]string{"if-modified-since": "Sat, 01 Mar 2025 00:00:00 GMT"}), 304, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := adapter.ProxyWithContext(context.Background(), tc.event)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if resp.IsBase64Encoded != tc.base64 {
				t.Fatalf("base64 %v, want %v", resp.IsBase64Encoded, tc.base64)
			}
			b := []byte(resp.Body)
			if tc.base64 {
				raw, err := base64.StdEncoding.DecodeString(resp.Body)
				if err != nil {
					t.Fatal(err)
				}
				zr, err := gzip.NewReader(bytes.NewReader(raw))
				if err != nil {
					t.Fatal(err)
				}
				if b, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Contains(b, []byte(tc.bodyContains)) {
				t.Errorf("body lacks %q", tc.bodyContains)
			}
		})
	}
}
