package httpx_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
)

func TestEncodePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/runs/run-20261127-042000-3f9a2c1b", "/runs/run-20261127-042000-3f9a2c1b"},
		{"/movies/The%20Godfather", "/movies/The%20Godfather"}, // already encoded: unchanged
		{"/movies/The Godfather", "/movies/The%20Godfather"},
		{"/runs/50%", "/runs/50%25"},
		{"/runs/a%zz", "/runs/a%25zz"},
		{"/runs/a#b", "/runs/a%23b"},
		{"/runs/a?b=c", "/runs/a%3Fb=c"},
		{"/movies/amélie-2001", "/movies/am%C3%A9lie-2001"},
		{"/x/\x00\x7f", "/x/%00%7F"},
		{"/a:b@c!$&'()*+,;=-._~", "/a:b@c!$&'()*+,;=-._~"},
		{"", ""},
	} {
		if got := httpx.EncodePath(tc.in); got != tc.want {
			t.Errorf("EncodePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzEncodePath: whatever API Gateway hands over, the result is a path
// that parses, encoding it again changes nothing, and, when the input held
// no escapes of its own, it decodes back to the input.
func FuzzEncodePath(f *testing.F) {
	for _, s := range []string{"/runs/50%", "/runs/a#b?c", "/movies/The%20Godfather", "/é/%e9/%", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		enc := httpx.EncodePath(p)
		u, err := url.Parse("https://api.example" + "/" + strings.TrimPrefix(enc, "/"))
		if err != nil {
			t.Fatalf("EncodePath(%q) = %q does not parse: %v", p, enc, err)
		}
		if u.RawQuery != "" || u.Fragment != "" {
			t.Fatalf("EncodePath(%q) = %q leaks into the query or fragment", p, enc)
		}
		if again := httpx.EncodePath(enc); again != enc {
			t.Fatalf("EncodePath is not idempotent: %q → %q → %q", p, enc, again)
		}
		if !strings.Contains(p, "%") {
			if dec, err := url.PathUnescape(enc); err != nil || dec != p {
				t.Fatalf("EncodePath(%q) = %q decodes to %q, %v", p, enc, dec, err)
			}
		}
	})
}

// TestLambdaV2DecodedPath: a path that API Gateway decoded reaches the
// handler whole, as the client wrote it.
func TestLambdaV2DecodedPath(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /runs/{id}", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "query": r.URL.RawQuery})
	})
	h := httpx.LambdaV2(mux)
	for _, tc := range []struct{ rawPath, want string }{
		{"/runs/50%", `{"id":"50%","query":"x=1"}`},
		{"/runs/a#b", `{"id":"a#b","query":"x=1"}`},
		{"/runs/a?b", `{"id":"a?b","query":"x=1"}`},
		{"/runs/run-1", `{"id":"run-1","query":"x=1"}`},
	} {
		resp, err := h(context.Background(), events.APIGatewayV2HTTPRequest{
			Version: "2.0", RawPath: tc.rawPath, RawQueryString: "x=1",
			RequestContext: events.APIGatewayV2HTTPRequestContext{HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: "GET", Path: tc.rawPath}},
		})
		if err != nil {
			t.Fatalf("%s: %v", tc.rawPath, err)
		}
		if resp.StatusCode != http.StatusOK || strings.TrimSpace(resp.Body) != tc.want {
			t.Errorf("%s: %d %s, want 200 %s", tc.rawPath, resp.StatusCode, resp.Body, tc.want)
		}
	}
}
