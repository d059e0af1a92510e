package query

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"net/http"
	"sync"

	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// CursorKeySize is the size of the key that signs cursors.
const CursorKeySize = 32

// cursorVersion is the first byte of every cursor; a new layout gets a new
// version so that old cursors fail cleanly.
const cursorVersion = 1

// maxCursorLen caps the cursor text before any decoding; the stores' tokens
// are far shorter.
const maxCursorLen = 4096

var cursorEncoding = base64.RawURLEncoding.Strict()

// cursorSigner seals store page tokens into cursors and opens them again.
//
// A cursor is base64url (no padding) of
//
//	version (1 byte) | token | HMAC-SHA256(key, version | len(listing) | listing | token)
//
// The listing ("GET /movies?year=1994") is bound by the MAC but not carried,
// so a cursor issued for one listing never opens for another.
type cursorSigner struct {
	macs sync.Pool // of hash.Hash
}

func newCursorSigner(key []byte) *cursorSigner {
	key = append([]byte(nil), key...)
	return &cursorSigner{macs: sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

func (c *cursorSigner) mac(dst []byte, listing string, token []byte) []byte {
	m := c.macs.Get().(hash.Hash)
	defer c.macs.Put(m)
	m.Reset()
	var hdr [1 + binary.MaxVarintLen64]byte
	hdr[0] = cursorVersion
	n := binary.PutUvarint(hdr[1:], uint64(len(listing)))
	m.Write(hdr[:1+n])
	m.Write([]byte(listing))
	m.Write(token)
	return m.Sum(dst)
}

// seal returns the cursor of token in listing.
func (c *cursorSigner) seal(listing string, token store.PageToken) string {
	raw := make([]byte, 0, 1+len(token)+sha256.Size)
	raw = append(raw, cursorVersion)
	raw = append(raw, token...)
	raw = c.mac(raw, listing, token)
	return cursorEncoding.EncodeToString(raw)
}

// open returns the token in cursor if it was sealed for listing; "" is the
// first page (nil token). Any other cursor is a 400 bad_cursor.
func (c *cursorSigner) open(listing, cursor string) (store.PageToken, error) {
	if cursor == "" {
		return nil, nil
	}
	if len(cursor) > maxCursorLen {
		return nil, badCursor("too long")
	}
	raw, err := cursorEncoding.DecodeString(cursor)
	if err != nil {
		return nil, badCursor("not a cursor")
	}
	if len(raw) < 1+1+sha256.Size {
		return nil, badCursor("truncated")
	}
	if raw[0] != cursorVersion {
		return nil, badCursor("unknown version")
	}
	token, sum := raw[1:len(raw)-sha256.Size], raw[len(raw)-sha256.Size:]
	var buf [sha256.Size]byte
	if !hmac.Equal(sum, c.mac(buf[:0], listing, token)) {
		return nil, badCursor("not issued for this listing, or altered")
	}
	return store.PageToken(token), nil
}

func badCursor(why string) error {
	return httpx.Errorf(http.StatusBadRequest, httpx.CodeBadCursor, "cursor: "+why)
}
