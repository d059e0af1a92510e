package query

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// writeOK writes v as a 200 JSON body with a strong ETag, or a 304 without
// a body when the request's If-None-Match matches that ETag.
func writeOK(w http.ResponseWriter, r *http.Request, v any) error {
	buf := bodies.Get().(*bytes.Buffer)
	defer putBody(buf)
	buf.Reset()
	// Encode ends the body with a newline: the same framing as
	// httpx.WriteJSON.
	if a, ok := v.(jsonAppender); ok {
		buf.Write(append(a.appendJSON(buf.AvailableBuffer()), '\n'))
	} else if err := json.NewEncoder(buf).Encode(v); err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	b := buf.Bytes()
	tag := etag(b)
	hdr := w.Header()
	hdr.Set("ETag", tag)
	hdr.Set("Cache-Control", "no-cache")
	if noneMatch(r.Header.Values("If-None-Match"), tag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	hdr.Set("Content-Type", "application/json; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	return nil
}

// bodies recycles response buffers: a page of 100 movies is tens of KB.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBody(b *bytes.Buffer) {
	if b.Cap() <= 1<<20 { // let a rare huge body go to the collector
		bodies.Put(b)
	}
}

// etag is a strong entity tag of body: 128 bits of its SHA-256.
func etag(body []byte) string {
	sum := sha256.Sum256(body)
	var b [2 + 22]byte
	b[0], b[len(b)-1] = '"', '"'
	base64.RawURLEncoding.Encode(b[1:len(b)-1], sum[:16])
	return string(b[:])
}

// noneMatch reports whether the If-None-Match header values match tag
// (RFC 9110 13.1.2: "*" or any listed tag, compared weakly).
func noneMatch(values []string, tag string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == tag {
				return true
			}
		}
	}
	return false
}

// Headers of the CORS answers.
const (
	corsAllowMethods  = "GET, HEAD"
	corsAllowHeaders  = "If-None-Match"
	corsExposeHeaders = "ETag, Retry-After"
	corsMaxAge        = "600"
)

// cors is the CORS policy: which origins may read the API from a browser.
type cors struct {
	any     bool
	origins []string
}

// newCORS checks origins: each is "*" or a scheme://host[:port] origin with
// scheme http or https and nothing else.
func newCORS(origins []string) (cors, error) {
	var c cors
	for _, o := range origins {
		if o == "*" {
			c.any = true
			continue
		}
		if err := checkOrigin(o); err != nil {
			return cors{}, err
		}
		c.origins = append(c.origins, o)
	}
	return c, nil
}

// checkOrigin accepts an origin as browsers send it (RFC 6454 serialised):
// scheme://host[:port] in lower case, without the scheme's default port.
// Any other spelling could never equal an Origin header, so the setting
// would silently allow nothing.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#") ||
		u.Scheme+"://"+u.Host != o {
		return fmt.Errorf("CORS origin %q: want scheme://host[:port] with scheme http or https (or *)", o)
	}
	if strings.ToLower(o) != o {
		return fmt.Errorf("CORS origin %q: write it in lower case, as browsers send it", o)
	}
	if p := u.Port(); (u.Scheme == "http" && p == "80") || (u.Scheme == "https" && p == "443") {
		return fmt.Errorf("CORS origin %q: leave out the default port %s, as browsers do", o, p)
	}
	return nil
}

func (c cors) enabled() bool { return c.any || len(c.origins) > 0 }

func (c cors) allows(origin string) bool {
	return origin != "" && (c.any || slices.Contains(c.origins, origin))
}

// wrap answers preflight requests of allowed origins for paths that mux
// routes, and adds the CORS headers to every other answer to an allowed
// origin; next serves the requests themselves.
func (c cors) wrap(mux *http.ServeMux, next http.Handler) http.Handler {
	if !c.enabled() {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if !c.allows(origin) {
			next.ServeHTTP(w, r)
			return
		}
		allow := origin
		if c.any {
			allow = "*"
		}
		hdr.Set("Access-Control-Allow-Origin", allow)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" && routed(mux, r) {
			hdr.Add("Vary", "Access-Control-Request-Method")
			hdr.Add("Vary", "Access-Control-Request-Headers")
			hdr.Set("Access-Control-Allow-Methods", corsAllowMethods)
			hdr.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			hdr.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		hdr.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		next.ServeHTTP(w, r)
	})
}

// routed reports whether mux has a GET route for r's path.
func routed(mux *http.ServeMux, r *http.Request) bool {
	probe := r.Clone(r.Context())
	probe.Method = http.MethodGet
	_, pattern := mux.Handler(probe)
	return pattern != ""
}
