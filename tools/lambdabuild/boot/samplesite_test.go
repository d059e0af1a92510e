package boot_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBootSamplesite(t *testing.T) {
	t.Parallel()
	e := boot(t, "samplesite", nil)
	tests := []struct {
		event    string
		want     httpResponse
		contains string
	}{
		{"samplesite-robots.json", httpResponse{Status: 200, ContentType: "text/plain; charset=utf-8"}, "User-agent:"},
		{"samplesite-index.json", httpResponse{Status: 200, ContentType: "text/html; charset=utf-8"}, "</html>"},
	}
	for i, tt := range tests {
		inv := invoke(t, e, tt.event)
		if cold := inv.Init > 0; cold != (i == 0) {
			t.Errorf("%s: init %s; want an init duration on the first invoke only", tt.event, inv.Init)
		}
		got := decodeHTTP(t, inv.Payload)
		if !strings.Contains(got.Body, tt.contains) {
			t.Errorf("%s: body does not contain %q:\n%.500s", tt.event, tt.contains, got.Body)
		}
		got.Body = ""
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: response (-want +got):\n%s", tt.event, diff)
		}
	}
}
