package query

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

var update = flag.Bool("update", false, "rewrite the golden responses under testdata/apigw")

// goldenResponse is a Lambda proxy response in a form that does not depend
// on the store: the cursor in a body is replaced by "<cursor>" (each store
// encodes its positions differently), and the ETag, once checked to be the
// hash of the body, by "<etag of body>" when the body has a cursor.
type goldenResponse struct {
	StatusCode      int               `json:"statusCode"`
	Headers         map[string]string `json:"headers"`
	Body            json.RawMessage   `json:"body,omitempty"`
	IsBase64Encoded bool              `json:"isBase64Encoded"`
}

// runLambdaEvents sends every recorded API Gateway HTTP API (payload 2.0)
// event of testdata/apigw through the api-proxy adapter, as the Lambda
// runtime does, and compares the responses with the golden files next to
// them (NAME.json → NAME.response.json; go test -update rewrites them).
func runLambdaEvents(t *testing.T, st store.Store) {
	seed(t, st)
	// The same adapter as cmd/lambda: the api-proxy behind httpx.LambdaV2.
	proxy := httpx.LambdaV2(newTestHandler(t, st, testOrigin))
	files, err := filepath.Glob(filepath.Join("testdata", "apigw", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for _, file := range files {
		if strings.HasSuffix(file, ".response.json") {
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields() // a typo in a recorded event must not go unnoticed
			if err := dec.Decode(&ev); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			resp, err := proxy(context.Background(), ev)
			if err != nil {
				t.Fatalf("proxy: %v", err)
			}
			got := normalize(t, resp)
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(got); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(file, ".json") + ".response.json"
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantJSON, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			var want goldenResponse
			if err := json.Unmarshal(wantJSON, &want); err != nil {
				t.Fatalf("%s: %v", golden, err)
			}
			// Compare bodies as values, not text.
			var wb, gb any
			_ = json.Unmarshal(want.Body, &wb)
			_ = json.Unmarshal(got.Body, &gb)
			if diff := cmp.Diff(wb, gb); diff != "" {
				t.Errorf("body (-%s +got):\n%s", golden, diff)
			}
			want.Body, got.Body = nil, nil
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("response (-%s +got):\n%s", golden, diff)
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d recorded events under testdata/apigw", n)
	}
}

func normalize(t *testing.T, resp events.APIGatewayV2HTTPResponse) goldenResponse {
	t.Helper()
	g := goldenResponse{StatusCode: resp.StatusCode, Headers: resp.Headers, IsBase64Encoded: resp.IsBase64Encoded}
	if resp.Body == "" {
		return g
	}
	if !json.Valid([]byte(resp.Body)) {
		t.Fatalf("body is not JSON: %q", resp.Body)
	}
	// net/http spells the header "Etag"; look it up as HTTP does.
	etagKey := ""
	for k := range resp.Headers {
		if strings.EqualFold(k, "ETag") {
			etagKey = k
		}
	}
	if tag := resp.Headers[etagKey]; etagKey != "" && tag != etag([]byte(resp.Body)) {
		t.Errorf("ETag %s is not the hash of the body", tag)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err == nil {
		if _, ok := body["nextCursor"]; ok {
			body["nextCursor"] = "<cursor>"
			g.Headers[etagKey] = "<etag of body>"
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		t.Fatal(err)
	}
	g.Body = bytes.TrimSpace(buf.Bytes())
	return g
}
