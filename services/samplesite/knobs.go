package samplesite

import (
	"errors"
	"fmt"
	"mime"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Limits of the test knobs; values outside them are rejected with 400.
const (
	// MaxSlow bounds slow= and stall=.
	MaxSlow = 5 * time.Minute
	// MaxHuge bounds huge= (bytes).
	MaxHuge = 64 << 20
	// MaxRedirects bounds redirects=.
	MaxRedirects = 20
	// MaxFlaky bounds flaky=.
	MaxFlaky = 1000
	// MaxRetryAfter bounds retryAfter= (seconds).
	MaxRetryAfter = 86400
	// MaxFlakyKeys bounds the number of distinct URLs that flaky= counts;
	// a new key past it is rejected with 400 (restart the site to reset).
	MaxFlakyKeys = 10000
)

// Knob query parameter names.
const (
	knobSlow       = "slow"
	knobStall      = "stall"
	knobStatus     = "status"
	knobRetryAfter = "retryAfter"
	knobFlaky      = "flaky"
	knobHuge       = "huge"
	knobCtype      = "ctype"
	knobRedirects  = "redirects"
	knobMalformed  = "malformed"
)

var knobNames = []string{knobSlow, knobStall, knobStatus, knobRetryAfter, knobFlaky,
	knobHuge, knobCtype, knobRedirects, knobMalformed}

// knobs is one request's parsed test knobs; the zero value is "none".
type knobs struct {
	slow, stall   time.Duration
	status        int
	retryAfter    int
	hasRetryAfter bool
	flaky         int
	huge          int64
	ctype         string
	redirects     int
	malformed     bool
}

// parseKnobs validates every knob of q and reports all problems at once.
// chart tells whether the route is the chart, the only one that takes huge
// and malformed; hugeMin is the smallest huge page the site can build.
func parseKnobs(q url.Values, chart bool, hugeMin int64) (knobs, error) {
	var k knobs
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("knob %s: "+format, append([]any{name}, args...)...))
	}
	get := func(name string) (string, bool) {
		vs, ok := q[name]
		if !ok {
			return "", false
		}
		if len(vs) > 1 {
			bad(name, "given %d times, want once", len(vs))
			return "", false
		}
		return vs[0], true
	}
	duration := func(name string) time.Duration {
		v, ok := get(name)
		if !ok {
			return 0
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 || d > MaxSlow {
			bad(name, "%q is not a duration between 0s and %s (e.g. 250ms, 2s)", v, MaxSlow)
			return 0
		}
		return d
	}
	integer := func(name string, lo, hi int64) (int64, bool) {
		v, ok := get(name)
		if !ok {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			bad(name, "%q is not an integer between %d and %d", v, lo, hi)
			return 0, false
		}
		return n, true
	}

	k.slow = duration(knobSlow)
	k.stall = duration(knobStall)
	if n, ok := integer(knobStatus, 400, 599); ok {
		k.status = int(n)
	}
	if n, ok := integer(knobRetryAfter, 0, MaxRetryAfter); ok {
		k.retryAfter, k.hasRetryAfter = int(n), true
	}
	if n, ok := integer(knobFlaky, 1, MaxFlaky); ok {
		k.flaky = int(n)
	}
	if n, ok := integer(knobRedirects, 0, MaxRedirects); ok {
		k.redirects = int(n)
	}
	if v, ok := get(knobCtype); ok {
		if len(v) > 200 || !printableASCII(v) {
			bad(knobCtype, "want a printable media type of at most 200 characters")
		} else if _, _, err := mime.ParseMediaType(v); err != nil {
			bad(knobCtype, "%q is not a media type: %v", v, err)
		} else {
			k.ctype = v
		}
	}
	if v, ok := get(knobMalformed); ok {
		switch v {
		case "1", "true":
			k.malformed = true
		case "0", "false":
		default:
			bad(knobMalformed, "%q is not 1, true, 0 or false", v)
		}
	}
	// The smallest huge page is the chart page plus the filler's wrapper.
	if n, ok := integer(knobHuge, hugeMin, MaxHuge); ok {
		k.huge = n
	}

	if k.hasRetryAfter && k.status == 0 && k.flaky == 0 {
		bad(knobRetryAfter, "needs status or flaky: it sets the failure's Retry-After")
	}
	if !chart && (k.huge > 0 || k.malformed) {
		errs = append(errs, fmt.Errorf("knobs huge and malformed apply only to %s", ChartPath))
	}
	if k.huge > 0 && (k.malformed || k.stall > 0) {
		errs = append(errs, errors.New("knob huge cannot be combined with malformed or stall"))
	}
	return k, errors.Join(errs...)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// hasKnobs reports whether q names any knob, so that plain requests skip
// parsing altogether.
func hasKnobs(q url.Values) bool {
	for _, n := range knobNames {
		if _, ok := q[n]; ok {
			return true
		}
	}
	return false
}

// errTooManyFlakyKeys is returned once MaxFlakyKeys distinct URLs are counted.
var errTooManyFlakyKeys = fmt.Errorf("knob flaky: more than %d distinct URLs counted; restart the site to reset", MaxFlakyKeys)

// flakyCounter counts requests per key for flaky=: request number n (from
// 1) of a key fails while n <= the knob's value. Safe for concurrent use;
// the counts live as long as the handler.
type flakyCounter struct {
	mu    sync.Mutex
	count map[string]int
}

// next counts one more request for key and returns its number (1-based).
func (c *flakyCounter) next(key string) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.count == nil {
		c.count = map[string]int{}
	}
	n, seen := c.count[key]
	if !seen && len(c.count) >= MaxFlakyKeys {
		return 0, errTooManyFlakyKeys
	}
	if n < MaxFlaky+1 { // past the largest knob value the number no longer matters
		n++
	}
	c.count[key] = n
	return n, nil
}
