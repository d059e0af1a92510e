package query

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// Query parameter names.
const (
	paramLimit  = "limit"
	paramCursor = "cursor"
	paramYear   = "year"
	paramStatus = "status"
	paramSince  = "since"
	paramUntil  = "until"
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

// runStatuses are the values of the status filter, in the order the error
// message lists them.
var runStatuses = []store.RunStatus{store.RunRunning, store.RunCompleted, store.RunUnchanged, store.RunFailed}

// status is the run status filter, "" when absent.
func (p params) status() (store.RunStatus, error) {
	s, ok := p[paramStatus]
	if !ok {
		return "", nil
	}
	if st := store.RunStatus(s); slices.Contains(runStatuses, st) {
		return st, nil
	}
	return "", httpx.BadParameter(paramStatus, fmt.Sprintf("must be one of running, completed, unchanged, failed, got %s", quote(s)))
}

// maxTimeLen caps a time parameter before parsing: RFC 3339 with nine
// fractional digits and an offset is 35 bytes.
const maxTimeLen = 40

// time is the time parameter name (RFC 3339), the zero time when absent.
// It must fall within years 1 to 9999 in UTC, what the stores keep.
func (p params) time(name string) (time.Time, error) {
	s, ok := p[name]
	if !ok {
		return time.Time{}, nil
	}
	var t time.Time
	err := fmt.Errorf("too long")
	if len(s) <= maxTimeLen {
		t, err = time.Parse(time.RFC3339, s)
	}
	if err != nil {
		why := "must be an RFC 3339 time such as 2026-03-01T12:00:00Z"
		if strings.Contains(s, " ") {
			// url.ParseQuery turned an unescaped + of an offset into a space.
			why += " (escape + as %2B)"
		}
		return time.Time{}, httpx.BadParameter(name, why+", got "+quote(s))
	}
	if y := t.UTC().Year(); y < minYear || y > maxYear {
		return time.Time{}, httpx.BadParameter(name, fmt.Sprintf("must fall within years %d to %d in UTC, got %s", minYear, maxYear, quote(s)))
	}
	return t.UTC(), nil
}

// historyFilter is the since and until bounds of a history listing.
func (p params) historyFilter() (store.HistoryFilter, error) {
	since, err := p.time(paramSince)
	if err != nil {
		return store.HistoryFilter{}, err
	}
	until, err := p.time(paramUntil)
	if err != nil {
		return store.HistoryFilter{}, err
	}
	if _, given := p[paramUntil]; given && until.IsZero() {
		// The stores read a zero bound as open.
		return store.HistoryFilter{}, httpx.BadParameter(paramUntil, "must be later than 0001-01-01T00:00:00Z")
	}
	if !since.IsZero() && !until.IsZero() && since.After(until) {
		return store.HistoryFilter{}, httpx.BadParameter(paramSince, fmt.Sprintf("%s is after until %s",
			since.Format(time.RFC3339Nano), until.Format(time.RFC3339Nano)))
	}
	return store.HistoryFilter{Since: since, Until: until}, nil
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
	const maxQuoted = 40
	return strconv.Quote(text.Clip(s, maxQuoted))
}
