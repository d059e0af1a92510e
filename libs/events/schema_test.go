package events

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// goTypes maps every published (type, version) to its Go data type.
var goTypes = map[Kind]reflect.Type{
	{TypeMovieObserved, 1}:   reflect.TypeFor[MovieObservedV1](),
	{TypeMovieObserved, 2}:   reflect.TypeFor[MovieObservedV2](),
	{TypeScrapeStarted, 1}:   reflect.TypeFor[ScrapeStartedV1](),
	{TypeScrapeStarted, 2}:   reflect.TypeFor[ScrapeStartedV2](),
	{TypeScrapeCompleted, 1}: reflect.TypeFor[ScrapeCompletedV1](),
}

func schemaPath(k Kind) string {
	return filepath.Join("schema", fmt.Sprintf("%s.v%d.schema.json", k.Type, k.Version))
}

// objectSchema is the part of a JSON Schema the drift test compares.
type objectSchema struct {
	Type       string                  `json:"type"`
	Required   []string                `json:"required"`
	Properties map[string]objectSchema `json:"properties"`
	Items      *objectSchema           `json:"items"`
}

// shape describes a Go type the way objectSchema describes a schema.
func shape(t reflect.Type) objectSchema {
	switch t.Kind() {
	case reflect.Struct:
		s := objectSchema{Type: "object", Properties: map[string]objectSchema{}}
		for f := range t.Fields() {
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(opts, "omitempty") {
				s.Required = append(s.Required, name)
			}
			s.Properties[name] = shape(f.Type)
		}
		slices.Sort(s.Required)
		return s
	case reflect.Slice:
		item := shape(t.Elem())
		return objectSchema{Type: "array", Items: &item}
	case reflect.String:
		return objectSchema{Type: "string"}
	case reflect.Int, reflect.Int64:
		return objectSchema{Type: "integer"}
	case reflect.Float64:
		return objectSchema{Type: "number"}
	case reflect.Bool:
		return objectSchema{Type: "boolean"}
	}
	panic("no schema shape for " + t.String())
}

// TestSchemasMatchGoTypes fails when a committed JSON Schema and the Go type
// of the same (type, version) drift apart: property names, JSON types and
// which properties are required.
func TestSchemasMatchGoTypes(t *testing.T) {
	for _, k := range Published {
		t.Run(fmt.Sprintf("%s.v%d", k.Type, k.Version), func(t *testing.T) {
			raw, err := os.ReadFile(schemaPath(k))
			if err != nil {
				t.Fatalf("schema of published %v is missing: %v", k, err)
			}
			var doc struct {
				Properties struct {
					Data objectSchema `json:"data"`
				} `json:"properties"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			got := normalise(doc.Properties.Data)
			want := shape(goTypes[k])
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("schema data and Go type %v differ (-go +schema):\n%s", goTypes[k], diff)
			}
		})
	}
}

func normalise(s objectSchema) objectSchema {
	slices.Sort(s.Required)
	if len(s.Required) == 0 {
		s.Required = nil
	}
	for k, p := range s.Properties {
		s.Properties[k] = normalise(p)
	}
	if s.Items != nil {
		it := normalise(*s.Items)
		s.Items = &it
	}
	return s
}

func compileSchemas(t *testing.T) map[Kind]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	out := map[Kind]*jsonschema.Schema{}
	for _, k := range Published {
		p := schemaPath(k)
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(p, doc); err != nil {
			t.Fatal(err)
		}
		s, err := c.Compile(p)
		if err != nil {
			t.Fatalf("compile %s: %v", p, err)
		}
		out[k] = s
	}
	return out
}

// TestSchemasAcceptGoldens checks, with an independent JSON Schema
// validator, that what the Go encoder writes is what the schemas describe,
// and that the schemas refuse the recorded invalid events.
func TestSchemasAcceptGoldens(t *testing.T) {
	schemas := compileSchemas(t)
	for _, k := range Published {
		t.Run(fmt.Sprintf("golden %s.v%d", k.Type, k.Version), func(t *testing.T) {
			raw, err := os.ReadFile(goldenPath(k))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if err := schemas[k].Validate(doc); err != nil {
				t.Errorf("golden does not match its schema: %v", err)
			}
		})
	}
	for _, name := range []string{"invalid-year", "invalid-rating", "missing-id"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata", "invalid", name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
			if err != nil {
				t.Fatal(err)
			}
			if err := schemas[Kind{TypeMovieObserved, 2}].Validate(doc); err == nil {
				t.Error("schema accepts an invalid event")
			}
		})
	}
}
