package query

import (
	"testing"
)

func TestNoneMatch(t *testing.T) {
	tag := etag([]byte("body\n"))
	tests := []struct {
		name   string
		values []string
		want   bool
	}{
		{"absent", nil, false},
		{"same", []string{tag}, true},
		{"weak form", []string{"W/" + tag}, true},
		{"star", []string{"*"}, true},
		{"in a list", []string{`"x", ` + tag}, true},
		{"split by the api proxy", []string{`"x"`, tag}, true},
		{"other", []string{`"x"`}, false},
		{"unquoted", []string{tag[1 : len(tag)-1]}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := noneMatch(tt.values, tag); got != tt.want {
				t.Errorf("noneMatch(%q, %s) = %v, want %v", tt.values, tag, got, tt.want)
			}
		})
	}
	if etag([]byte("a")) == etag([]byte("b")) {
		t.Error("different bodies, same ETag")
	}
}
