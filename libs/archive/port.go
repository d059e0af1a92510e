package archive

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// Object is one stored object, as a listing reports it.
type Object struct {
	// Key is the object's key relative to the archive's root.
	Key string
	// Size is the stored (compressed) size in bytes.
	Size int64
}

// ErrNotFound: no object has the key.
var ErrNotFound = errors.New("archive object not found")

// ErrInvalidKey: the key breaks the rules of CheckKey.
var ErrInvalidKey = errors.New("invalid archive key")

// Writer stores objects: the buffering writer (Buffer) and, in devstack,
// the archiver need it.
type Writer interface {
	// Put stores body as the object key, atomically: a reader (List,
	// Open) sees the whole object or no object, never a part of one,
	// whether Put succeeds, fails or is canceled. An existing object of
	// the same key is replaced, and readers see the old or the new one,
	// whole. When Put returns nil the object is durable. It returns an
	// error wrapping ErrInvalidKey for a key CheckKey refuses, and one
	// wrapping ctx's error when ctx ends first; after a failure the object
	// may or may not exist (a request whose answer was lost may have been
	// carried out), so a writer that retries uses the same key. Put does
	// not keep body after it returns. Safe for concurrent use.
	Put(ctx context.Context, key string, body []byte) error
}

// Lister lists objects.
type Lister interface {
	// List calls fn with each object whose key begins with prefix and
	// sorts after startAfter ("" for no bound; a key equal to startAfter
	// is not listed), in ascending byte-wise key order, as S3 lists them.
	// Resuming an interrupted listing from the last key seen lists the
	// rest of it. An object is listed only once it is complete; one that
	// is Put while List runs may or may not be listed. List stops at the
	// end, at fn's first error, which it returns, or when ctx ends (an
	// error wrapping ctx's). Safe for concurrent use.
	List(ctx context.Context, prefix, startAfter string, fn func(Object) error) error
}

// Opener reads objects.
type Opener interface {
	// Open returns the body of the object key as it was stored (gzip
	// bytes for the archive's objects); the caller closes it. It returns an
	// error wrapping ErrNotFound when no object has the key, ErrInvalidKey
	// for a key CheckKey refuses, and one wrapping ctx's error when ctx
	// ends first. The body is the one object that was complete when Open
	// was called, even if a Put replaces it while it is read; ctx may
	// also end the reading (S3). Safe for concurrent use.
	Open(ctx context.Context, key string) (io.ReadCloser, error)
}

// Reader is an archive to read: replay lists and opens objects.
type Reader interface {
	Lister
	Opener
}

// Store is an archive to write and read; the adapters (dir.Store and
// s3.Store) are Stores.
type Store interface {
	Writer
	Reader
}

// MaxKeyLen is the most bytes of a key: S3's limit.
const MaxKeyLen = 1024

// CheckKey reports whether key is a valid object key for every adapter: 1
// to MaxKeyLen bytes of UTF-8, segments separated by single '/', none
// empty, none starting with '.' (so no "." or "..", and a directory adapter
// keeps its temporary files apart), no '\', no control characters. The
// error wraps ErrInvalidKey.
func CheckKey(key string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w %q: %s", ErrInvalidKey, text.Clip(key, maxQuoted), why)
	}
	switch {
	case key == "":
		return bad("empty")
	case len(key) > MaxKeyLen:
		return bad(fmt.Sprintf("%d bytes, more than %d", len(key), MaxKeyLen))
	case !utf8.ValidString(key):
		return bad("not valid UTF-8")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return bad(fmt.Sprintf("character %q is not allowed", r))
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return bad("empty path segment")
		case seg[0] == '.':
			return bad("a path segment starts with '.'")
		}
	}
	return nil
}
