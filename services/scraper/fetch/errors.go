package fetch

import (
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// The kinds of fetch failure; test with errors.Is. Every error Fetch
// returns is an *Error of one of these kinds (or the context's error).
var (
	// ErrBadURL: not an absolute http(s) URL without credentials.
	ErrBadURL = errors.New("bad URL")
	// ErrBlocked: the host resolves to an address the guard refuses
	// (loopback, private, link-local, …) and private addresses are not
	// allowed.
	ErrBlocked = errors.New("address not allowed")
	// ErrRobots: robots.txt disallows the URL for our user agent.
	ErrRobots = errors.New("disallowed by robots.txt")
	// ErrTooLarge: the body exceeds the size cap.
	ErrTooLarge = errors.New("page too large")
	// ErrContentType: the response is not HTML.
	ErrContentType = errors.New("not an HTML page")
	// ErrRedirect: too many redirects, or one to a scheme other than http(s).
	ErrRedirect = errors.New("bad redirect")
	// ErrStatus: the server answered an error status (a 4xx, or a 429 or
	// 5xx that persisted through the retries).
	ErrStatus = errors.New("error status")
	// ErrUnreachable: no answer (DNS, connection, timeouts), also after the
	// retries.
	ErrUnreachable = errors.New("unreachable")
	// ErrCharset: the page declares a character encoding that cannot be
	// decoded to UTF-8 (an unknown label, or one the Encoding Standard
	// decodes to nothing but U+FFFD); the Err is a *CharsetError.
	ErrCharset = errors.New("unsupported charset")
)

// Error is a failed fetch.
type Error struct {
	// Kind is one of the Err* values of this package.
	Kind error
	// URL is the URL that failed (after redirects, when there were some).
	URL string
	// Status is the last HTTP status received, 0 if none.
	Status int
	// RetryAfter is the server's Retry-After on the last 429 or 503.
	RetryAfter time.Duration
	// Attempts is the number of requests made.
	Attempts int
	// Err is the detail.
	Err error
}

// Error names the URL and kind, then the status, the attempts and the detail when known.
func (e *Error) Error() string {
	s := fmt.Sprintf("fetch %s: %v", e.URL, e.Kind)
	if e.Status != 0 {
		s += fmt.Sprintf(" (status %d)", e.Status)
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap lets errors.Is match the kind and the detail.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// blockedError is returned by the dialer's guard.
type blockedError struct {
	addr netip.Addr
	why  string
}

func (e *blockedError) Error() string {
	return fmt.Sprintf("refusing to connect to %s (%s address)", e.addr, e.why)
}

// redirectError is returned by CheckRedirect.
type redirectError struct {
	kind error
	msg  string
}

func (e *redirectError) Error() string { return e.msg }
