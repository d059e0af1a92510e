package samplesite

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Content types and cache policies of the site's responses.
const (
	typeHTML  = "text/html; charset=utf-8"
	typeCSS   = "text/css; charset=utf-8"
	typePlain = "text/plain; charset=utf-8"

	pageMaxAge   = 300 // seconds, cachePage's max-age
	cachePage    = "public, max-age=300"
	cacheStatic  = "public, max-age=86400"
	cacheRobots  = "public, max-age=3600"
	cacheNoStore = "no-store"
)

// resource is one representation served by the site: its bytes, validators
// and, computed on first use, its gzip encoding.
type resource struct {
	body         []byte
	contentType  string
	cacheControl string
	// etag is the strong validator of the identity encoding, quoted; the
	// gzip encoding is a different representation and gets etag with a
	// "-gzip" suffix inside the quotes. Both validate either.
	etag     string
	gzipETag string
	// modified is the Last-Modified date (whole seconds, as HTTP dates
	// are) and lastModified its header value.
	modified     time.Time
	lastModified string
	// expires, when set, is when the representation stops being current
	// (its period ends): cacheControl's max-age then counts down to it.
	expires time.Time

	gzOnce sync.Once
	gz     []byte
}

// newResource makes a resource last modified on LastModified that does
// not expire: robots.txt, the stylesheet and the pages of a frozen site.
func newResource(contentType, cacheControl string, body []byte) *resource {
	h := sha256.New()
	h.Write([]byte(contentType))
	h.Write([]byte{0})
	h.Write(body)
	sum := hex.EncodeToString(h.Sum(nil)[:16])
	res := &resource{
		body:         body,
		contentType:  contentType,
		cacheControl: cacheControl,
		etag:         `"` + sum + `"`,
		gzipETag:     `"` + sum + `-gzip"`,
	}
	res.setModified(LastModified)
	return res
}

func (r *resource) setModified(t time.Time) {
	r.modified = t.Truncate(time.Second)
	r.lastModified = r.modified.UTC().Format(http.TimeFormat)
}

// withType is the same body served as another content type (the ctype
// knob): another representation, so another ETag, and never cached.
func (r *resource) withType(contentType string) *resource {
	res := newResource(contentType, cacheNoStore, r.body)
	res.modified, res.lastModified = r.modified, r.lastModified
	return res
}

// maxAgeCacheControl holds the Cache-Control values of pages whose period
// ends in s seconds, s = 0..pageMaxAge, built once.
var maxAgeCacheControl = func() []string {
	out := make([]string, pageMaxAge+1)
	for s := range out {
		out[s] = "public, max-age=" + strconv.Itoa(s)
	}
	return out
}()

// cacheControlAt is the Cache-Control of res for a request at now: a
// page that expires may be kept until its period ends, at most
// pageMaxAge seconds, and no longer.
func (r *resource) cacheControlAt(now time.Time) string {
	if r.expires.IsZero() || r.cacheControl != cachePage {
		return r.cacheControl
	}
	left := int64(r.expires.Sub(now) / time.Second)
	return maxAgeCacheControl[min(max(left, 0), pageMaxAge)]
}

// gzipped returns the gzip encoding, compressed once and then shared:
// compress/gzip with a zero header is deterministic, so the bytes (and the
// gzip ETag) are the same in every process.
func (r *resource) gzipped() []byte {
	r.gzOnce.Do(func() {
		var b bytes.Buffer
		zw := gzipWriters.Get().(*gzip.Writer)
		zw.Reset(&b)
		zw.Write(r.body) // writes to a bytes.Buffer cannot fail
		zw.Close()
		gzipWriters.Put(zw)
		r.gz = b.Bytes()
	})
	return r.gz
}

// gzipWriters holds idle gzip writers: a new one allocates and clears
// about a megabyte of compressor state, which cost more than compressing
// a page. BestSpeed, as busy web servers use: it compresses a page in a
// fraction of BestCompression's time, and the 41 kB chart page to 5.1 kB
// instead of 4.2 kB.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // level is valid
	return zw
}}

// serveResource writes res with status 200, or 304 when the request's
// validators match; now is when the request arrived (zero on a frozen
// site). stall > 0 sends the headers and the first half of the body, then
// waits (or gives up when the request's context ends) before the rest.
func serveResource(w http.ResponseWriter, r *http.Request, res *resource, now time.Time, stall time.Duration) {
	gz := acceptsGzip(r.Header.Get("Accept-Encoding"))
	h := w.Header()
	h.Set("Vary", "Accept-Encoding")
	h.Set("Cache-Control", res.cacheControlAt(now))
	h.Set("Last-Modified", res.lastModified)
	if gz {
		h.Set("ETag", res.gzipETag)
	} else {
		h.Set("ETag", res.etag)
	}
	if notModified(r, res) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := res.body
	if gz {
		body = res.gzipped()
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Type", res.contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return // not every ResponseWriter (the Lambda adapter's) drops a HEAD body itself
	}
	if stall <= 0 {
		w.Write(body)
		return
	}
	half := len(body) / 2
	w.Write(body[:half])
	http.NewResponseController(w).Flush() // best effort: some writers (Lambda) cannot flush
	if sleep(r.Context(), stall) != nil {
		return // the client is gone; the short body tells it so
	}
	w.Write(body[half:])
}

// notModified applies RFC 9110 §13.2.2: If-None-Match when present (weak
// comparison, either encoding's tag), otherwise If-Modified-Since.
func notModified(r *http.Request, res *resource) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if inm := r.Header.Values("If-None-Match"); len(inm) > 0 {
		return etagMatch(strings.Join(inm, ","), res.etag, res.gzipETag)
	}
	ims := r.Header.Get("If-Modified-Since")
	if ims == "" {
		return false
	}
	t, err := http.ParseTime(ims)
	if err != nil {
		return false // an invalid date is ignored, as the RFC says
	}
	return !res.modified.After(t)
}

// etagMatch reports whether the If-None-Match list matches one of tags,
// using the weak comparison (a W/ prefix is ignored). "*" matches anything.
func etagMatch(list string, tags ...string) bool {
	for part := range strings.SplitSeq(list, ",") {
		part = strings.TrimSpace(part)
		if part == "*" {
			return true
		}
		part = strings.TrimPrefix(part, "W/")
		for _, t := range tags {
			if part == t {
				return true
			}
		}
	}
	return false
}

// acceptsGzip parses Accept-Encoding: gzip (or x-gzip) with a q-value above
// zero, or "*" with q above zero when gzip is not listed.
func acceptsGzip(header string) bool {
	gzipQ, starQ := -1.0, -1.0
	for part := range strings.SplitSeq(header, ",") {
		name, params, _ := strings.Cut(part, ";")
		name = strings.ToLower(strings.TrimSpace(name))
		q := 1.0
		for p := range strings.SplitSeq(params, ";") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
				continue
			}
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				q = -1 // an invalid q-value makes the entry void
				continue
			}
			q = f
		}
		if q < 0 {
			continue
		}
		switch name {
		case "gzip", "x-gzip":
			gzipQ = max(gzipQ, q)
		case "*":
			starQ = max(starQ, q)
		}
	}
	if gzipQ >= 0 {
		return gzipQ > 0
	}
	return starQ > 0
}

// sleep waits for d or until ctx ends, whichever is first.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// plainError writes a short plain-text response that no cache keeps.
func plainError(w http.ResponseWriter, status int, msg string) {
	h := w.Header()
	h.Set("Content-Type", typePlain)
	h.Set("Cache-Control", cacheNoStore)
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write([]byte(msg + "\n"))
}
