package query

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
)

// Query parameter names.
const (
	paramLimit  = "limit"
	paramCursor = "cursor"
	paramYear   = "year"
)

// Bounds of the year filter.
const (
	minYear = 1
	maxYear = 9999
)

// params are the query parameters of one request, each given once.
type params map[string]string

// parseQuery parses raw and refuses a malformed query string, a parameter
// not in allowed, a parameter given twice and an empty value.
func parseQuery(raw string, allowed []string) (params, error) {
	if raw == "" {
		return nil, nil
	}
	vs, err := url.ParseQuery(raw)
	if err != nil {
		return nil, httpx.Errorf(http.StatusBadRequest, httpx.CodeBadRequest,
			"malformed query string (bad %-escape or ';')")
	}
	names := make([]string, 0, len(vs))
	for name := range vs {
		names = append(names, name)
	}
	slices.Sort(names) // report the same parameter whatever the map order
	p := make(params, len(vs))
	for _, name := range names {
		v := vs[name]
		switch {
		case !slices.Contains(allowed, name):
			why := "unknown parameter"
			if len(allowed) == 0 {
				why += "; this route takes none"
			} else {
				why += "; allowed: " + strings.Join(allowed, ", ")
			}
			return nil, httpx.BadParameter(quote(name), why)
		case len(v) > 1:
			return nil, httpx.BadParameter(name, "given more than once")
		case v[0] == "":
			return nil, httpx.BadParameter(name, "must not be empty")
		}
		p[name] = v[0]
	}
	return p, nil
}

func (p params) get(name string) string { return p[name] }

// limit is the limit parameter, DefaultLimit when absent.
func (p params) limit() (int, error) {
	s, ok := p[paramLimit]
	if !ok {
		return DefaultLimit, nil
	}
	n, ok := smallUint(s)
	if !ok || n < 1 || n > MaxLimit {
		return 0, httpx.BadParameter(paramLimit, fmt.Sprintf("must be an integer from 1 to %d, got %s", MaxLimit, quote(s)))
	}
	return n, nil
}

// year is the year filter, 0 when absent.
func (p params) year() (int, error) {
	s, ok := p[paramYear]
	if !ok {
		return 0, nil
	}
	n, ok := smallUint(s)
	if !ok || n < minYear || n > maxYear {
		return 0, httpx.BadParameter(paramYear, fmt.Sprintf("must be an integer from %d to %d, got %s", minYear, maxYear, quote(s)))
	}
	return n, nil
}

// smallUint parses 1 to 6 decimal digits: no sign, no spaces, no
// exponent, nothing that could overflow.
func smallUint(s string) (int, bool) {
	if len(s) == 0 || len(s) > 6 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// quote quotes client-supplied text for an error message, cut to a length
// that keeps the message readable.
func quote(s string) string {
	const max = 40
	if len(s) > max {
		s = s[:max] + "…"
	}
	return strconv.Quote(strings.ToValidUTF8(s, "\uFFFD"))
}
