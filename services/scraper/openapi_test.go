package scraper_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/services/scraper"
)

// TestSummaryIsDocumented: the OpenAPI document's ScrapeResult has exactly
// the Summary's JSON fields, and requires exactly those always sent (no
// omitempty). services/query validates a whole 202 body against it; this
// catches a field added to one and not the other.
func TestSummaryIsDocumented(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "api", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Required   []string                   `json:"required"`
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	schema, ok := doc.Components.Schemas["ScrapeResult"]
	if !ok {
		t.Fatal("no ScrapeResult schema")
	}
	type fields struct{ All, Required []string }
	var documented fields
	for k := range schema.Properties {
		documented.All = append(documented.All, k)
	}
	documented.Required = slices.Clone(schema.Required)
	var sent fields
	st := reflect.TypeFor[scraper.Summary]()
	for f := range st.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		sent.All = append(sent.All, name)
		if !strings.Contains(opts, "omitempty") {
			sent.Required = append(sent.Required, name)
		}
	}
	for _, f := range []*fields{&documented, &sent} {
		slices.Sort(f.All)
		slices.Sort(f.Required)
	}
	if diff := cmp.Diff(sent, documented); diff != "" {
		t.Errorf("ScrapeResult against scraper.Summary (-Summary +documented):\n%s", diff)
	}
}
