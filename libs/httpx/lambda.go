package httpx

import (
	"context"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// LambdaV2 serves h to API Gateway HTTP API events (payload format 2.0)
// through aws-lambda-go-api-proxy, after making the event's path an
// encoded URL path again (see EncodePath): HTTP APIs hand the function
// rawPath percent-decoded, and the adapter parses it as an encoded path,
// so a client's /runs/50%25 (arriving as /runs/50%) failed the request
// with a 5xx and /runs/a%23b (arriving as /runs/a#b) was read as /runs/a.
func LambdaV2(h http.Handler) func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
	adapter := httpadapter.NewV2(h)
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		ev.RawPath = EncodePath(ev.RawPath)
		return adapter.ProxyWithContext(ctx, ev)
	}
}

// EncodePath percent-encodes every byte of p that cannot stand literally
// in an encoded URL path (RFC 3986 pchar and '/'), and every '%' that does
// not start an escape: a decoded path becomes a valid encoded one, and an
// encoded path (REST APIs and function URLs keep the encoding) comes back
// unchanged. A decoded path holding a literal "%41" reads as "A"
// afterwards; no rule can tell the two apart.
func EncodePath(p string) string {
	if !needsEncoding(p) {
		return p
	}
	var b strings.Builder
	b.Grow(len(p) + 16)
	for i := 0; i < len(p); i++ {
		c := p[i]
		if pathByte(c) || (c == '%' && isEscape(p, i)) {
			b.WriteByte(c)
			continue
		}
		const hex = "0123456789ABCDEF"
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func needsEncoding(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; !pathByte(c) && (c != '%' || !isEscape(p, i)) {
			return true
		}
	}
	return false
}

// pathByte reports whether c stands for itself in a path: unreserved,
// sub-delims, ':', '@' and '/'.
func pathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}

// isEscape reports whether p[i] ('%') starts a "%XX" escape.
func isEscape(p string, i int) bool {
	return i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2])
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
