package mocktest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/archive"
)

func TestPlain(t *testing.T) {
	arch := &archive.Archive{Sig: archive.ArchiveSig, Path: "dist/lambda/query.zip"}
	m := resource.PropertyMap{
		"s":       resource.NewProperty("x"),
		"n":       resource.NewProperty(3.0),
		"b":       resource.NewProperty(true),
		"null":    resource.NewNullProperty(),
		"list":    resource.NewProperty([]resource.PropertyValue{resource.NewProperty("a")}),
		"empty":   resource.NewProperty(resource.PropertyMap{}),
		"secret":  resource.MakeSecret(resource.NewProperty("k")),
		"unknown": resource.MakeComputed(resource.NewProperty("")),
		"output":  resource.NewProperty(resource.Output{Known: false}),
		"code":    resource.NewProperty(arch),
	}
	want := map[string]any{
		"s": "x", "n": 3.0, "b": true, "null": nil, "list": []any{"a"}, "empty": map[string]any{},
		"secret": map[string]any{"[secret]": "k"}, "unknown": Unknown, "output": Unknown,
		"code": map[string]any{"archive": "dist/lambda/query.zip"},
	}
	if diff := cmp.Diff(want, Plain(m)); diff != "" {
		t.Errorf("Plain (-want +got):\n%s", diff)
	}
	if Plain(nil) != nil {
		t.Error("Plain(nil) should be nil")
	}
}
