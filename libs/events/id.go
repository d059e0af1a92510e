package events

import (
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// namespace is the UUID namespace of scrape-pipeline event ids (a random
// UUID fixed once; changing it changes every id).
var namespace = [16]byte{0x6b, 0x1f, 0x3a, 0x52, 0x0c, 0x94, 0x4d, 0x1e, 0x9b, 0x7e, 0x2f, 0x41, 0x88, 0xd3, 0x50, 0xa6}

// EventID returns the deterministic id of the event about itemKey (a movie
// id, or the run event's type) seen on source in run runID: a name-based
// UUID (RFC 9562 version 5). The same triple always gives the same id, so a
// duplicate of the same observation is recognisable; another run gives
// another id.
func EventID(runID, source, itemKey string) string {
	h := sha1.New()
	h.Write(namespace[:])
	h.Write([]byte(runID))
	h.Write([]byte{0})
	h.Write([]byte(source))
	h.Write([]byte{0})
	h.Write([]byte(itemKey))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// NewRunID returns a new run id that sorts by start time and reads well in a
// URL: "run-20261127-042000-3f9a2c1b".
func NewRunID(now time.Time) string {
	var r [4]byte
	_, _ = rand.Read(r[:]) // crypto/rand.Read never fails on supported platforms
	return "run-" + now.UTC().Format("20060102-150405") + "-" + hex.EncodeToString(r[:])
}

// MaxMovieIDLen caps a movie id.
const MaxMovieIDLen = 100

// MovieID returns the id of a movie: the site's own id when the extraction
// profile provides one, else its title and year. Either way the result is a
// slug (see Slug), stable across runs and safe in a URL path:
//
//	MovieID("", "The Godfather", 1972)   == "the-godfather-1972"
//	MovieID("", "Amélie", 2001)          == "amelie-2001"
//	MovieID("tt0068646", "", 0)          == "tt0068646"
//
// A title with nothing slug-able left (e.g. only CJK characters) gets a
// short hash instead, so two such titles do not collide. An id never exceeds
// MaxMovieIDLen: a longer title is trimmed, and a site id whose slug is
// longer keeps a trimmed prefix, "-" and a short hash of the whole site id,
// so it stays unique and the same in every run.
func MovieID(siteID, title string, year int) string {
	if siteID != "" {
		s := Slug(siteID)
		if s == "" {
			return "id-" + shortHash(siteID)
		}
		if len(s) > MaxMovieIDLen {
			h := shortHash(siteID)
			s = trimSlug(s, MaxMovieIDLen-len(h)-1) + "-" + h
		}
		return s
	}
	s := Slug(title)
	if s == "" || lossy(title) {
		// Folding dropped letters we cannot spell in ASCII: keep the id
		// unique with a hash of the title.
		h := shortHash(title)
		if s == "" {
			s = h
		} else {
			s = trimSlug(s, MaxMovieIDLen-len(h)-6) + "-" + h
		}
	}
	s = trimSlug(s, MaxMovieIDLen-5)
	return s + "-" + strconv.Itoa(year)
}

// ValidMovieID reports whether s has the shape of a movie id: 1..100 bytes
// of a-z, 0-9 and single hyphens, not starting or ending with a hyphen.
func ValidMovieID(s string) bool {
	if s == "" || len(s) > MaxMovieIDLen || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && s[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// Slug lowercases s, folds common Latin letters with diacritics to ASCII
// ("é" → "e", "ß" → "ss"), turns every other run of characters into one
// hyphen and trims hyphens at both ends.
func Slug(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	dash := false
	for _, r := range s {
		var fold string
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			fold = string(r)
		case r >= 'A' && r <= 'Z':
			fold = string(r + 'a' - 'A')
		case r == '\'' || r == '’':
			continue // "Schindler's" → "schindlers"
		default:
			fold = latin[r]
		}
		if fold == "" {
			dash = b.Len() > 0
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteString(fold)
	}
	return b.String()
}

func trimSlug(s string, maxLen int) string {
	if len(s) <= maxLen {
		return s
	}
	return strings.TrimRight(s[:maxLen], "-")
}

// lossy reports whether slugging s dropped letters or digits (not just
// punctuation and spaces).
func lossy(s string) bool {
	for _, r := range s {
		if r < utf8.RuneSelf {
			continue
		}
		if _, ok := latin[r]; !ok && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			return true
		}
	}
	return false
}

func shortHash(s string) string {
	h := sha1.Sum([]byte(s))
	return hex.EncodeToString(h[:4])
}

// latin folds Latin-1 Supplement and Latin Extended-A letters to ASCII.
var latin = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'ā': "a", 'ă': "a", 'ą': "a",
	'À': "a", 'Á': "a", 'Â': "a", 'Ã': "a", 'Ä': "a", 'Å': "a", 'Ā': "a", 'Ă': "a", 'Ą': "a",
	'æ': "ae", 'Æ': "ae", 'ç': "c", 'Ç': "c", 'ć': "c", 'Ć': "c", 'č': "c", 'Č': "c",
	'ď': "d", 'Ď': "d", 'đ': "d", 'Đ': "d", 'ð': "d", 'Ð': "d",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ē': "e", 'ė': "e", 'ę': "e", 'ě': "e",
	'È': "e", 'É': "e", 'Ê': "e", 'Ë': "e", 'Ē': "e", 'Ė': "e", 'Ę': "e", 'Ě': "e",
	'ğ': "g", 'Ğ': "g", 'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ī': "i", 'į': "i", 'ı': "i",
	'Ì': "i", 'Í': "i", 'Î': "i", 'Ï': "i", 'Ī': "i", 'Į': "i", 'İ': "i",
	'ł': "l", 'Ł': "l", 'ñ': "n", 'Ñ': "n", 'ń': "n", 'Ń': "n", 'ň': "n", 'Ň': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ō': "o", 'ő': "o",
	'Ò': "o", 'Ó': "o", 'Ô': "o", 'Õ': "o", 'Ö': "o", 'Ø': "o", 'Ō': "o", 'Ő': "o",
	'œ': "oe", 'Œ': "oe", 'ř': "r", 'Ř': "r", 'ś': "s", 'Ś': "s", 'š': "s", 'Š': "s", 'ş': "s", 'Ş': "s",
	'ß': "ss", 'ť': "t", 'Ť': "t", 'ţ': "t", 'Ţ': "t", 'þ': "th", 'Þ': "th",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ū': "u", 'ů': "u", 'ű': "u", 'ų': "u",
	'Ù': "u", 'Ú': "u", 'Û': "u", 'Ü': "u", 'Ū': "u", 'Ů': "u", 'Ű': "u", 'Ų': "u",
	'ý': "y", 'ÿ': "y", 'Ý': "y", 'ź': "z", 'Ź': "z", 'ż': "z", 'Ż': "z", 'ž': "z", 'Ž': "z",
}
