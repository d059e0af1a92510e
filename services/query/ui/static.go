package ui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed static
var staticFS embed.FS

// asset is one static file.
type asset struct {
	name  string // "app.js"
	hash  string // first 8 bytes of its SHA-256, hex
	body  []byte
	ctype string
}

// URL is the asset's fingerprinted address, cached for a year.
func (a *asset) URL() string {
	ext := path.Ext(a.name)
	return StaticPrefix + strings.TrimSuffix(a.name, ext) + "." + a.hash + ext
}

// assets are the static files by name, read once.
var assets = mustLoadAssets()

var contentTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".svg": "image/svg+xml",
}

func mustLoadAssets() map[string]*asset {
	out := map[string]*asset{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		ctype, ok := contentTypes[path.Ext(p)]
		if !ok {
			return fmt.Errorf("%s: no content type for its extension", p)
		}
		sum := sha256.Sum256(b)
		out[path.Base(p)] = &asset{name: path.Base(p), hash: hex.EncodeToString(sum[:8]), body: b, ctype: ctype}
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("ui: static files: %v", err)) // the files are embedded: a build error
	}
	return out
}

// assetURL is the template function asset: the address of a static file.
func assetURL(name string) (string, error) {
	a, ok := assets[name]
	if !ok {
		return "", fmt.Errorf("no static file %q", name)
	}
	return a.URL(), nil
}

// static serves GET /ui/static/{file}: "app.<hash>.js" with a year of
// caching when the hash is the file's, the plain name ("app.js") to be
// revalidated; anything else is the 404 page.
func (h *Handler) static(w http.ResponseWriter, r *http.Request) error {
	if r.URL.RawQuery != "" {
		return errBadParameter(r.URL.RawQuery, "is not known here")
	}
	file := r.PathValue("file")
	name, hash := file, ""
	ext := path.Ext(file)
	if stem := strings.TrimSuffix(file, ext); path.Ext(stem) != "" {
		name, hash = strings.TrimSuffix(stem, path.Ext(stem))+ext, path.Ext(stem)[1:]
	}
	a, ok := assets[name]
	if !ok || (hash != "" && hash != a.hash) {
		return errNotFound("No such file.")
	}
	hdr := w.Header()
	hdr.Set("Content-Type", a.ctype)
	hdr.Set("Content-Length", strconv.Itoa(len(a.body)))
	hdr.Set("ETag", `"`+a.hash+`"`)
	if hash != "" {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		hdr.Set("Cache-Control", "no-cache")
	}
	if inm := r.Header.Get("If-None-Match"); inm == `"`+a.hash+`"` || inm == `W/"`+a.hash+`"` {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(a.body)
	}
	return nil
}
