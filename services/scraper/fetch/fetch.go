// Package fetch is the scraper's polite HTTP fetcher. By default it:
//
//   - identifies itself with a User-Agent naming the project, and obeys
//     robots.txt (RFC 9309) for that agent, fetched once per origin per run
//     (see Robots);
//   - never connects to loopback, private (RFC 1918, ULA), carrier-grade
//     NAT, link-local (169.254.169.254), unspecified, multicast or other
//     special addresses (see Blocked). AllowPrivate lifts the ban on
//     loopback, private and carrier-grade NAT addresses only (devstack
//     scrapes its own sample site on 127.0.0.1); link-local, unspecified,
//     multicast and reserved addresses stay refused. The check runs in the
//     dialer's Control hook on the address actually dialled, so neither a
//     redirect nor a DNS answer can get around it; proxies from the
//     environment are ignored for the same reason;
//   - bounds the connect, response-header and whole-request time, all
//     inside the caller's context deadline;
//   - caps the body (10 MiB by default, after gzip decoding) and fails with
//     ErrTooLarge beyond it; asks for gzip;
//   - accepts only HTML (text/html, application/xhtml+xml), and hands it
//     over as UTF-8 whatever its encoding: found from a byte order mark,
//     the Content-Type charset, a <meta> declaration or by sniffing, as
//     browsers do, and decoded within the same size cap; a declared
//     encoding it cannot decode fails with ErrCharset, never with
//     mangled text;
//   - follows at most 5 redirects, http and https only, checking robots.txt
//     for each target;
//   - retries 429, 5xx and timeouts with exponential backoff and full
//     jitter, honouring Retry-After, a bounded number of times and never
//     past the deadline;
//   - sends If-None-Match / If-Modified-Since when given the validators of
//     the last fetch, and reports a 304 as NotModified.
package fetch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/backoff"
	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// DefaultUserAgent identifies the scraper; its product token
// ("scrape-pipeline") is what robots.txt groups must name.
const DefaultUserAgent = "scrape-pipeline/1.0 (+https://github.com/scrape-pipeline/scrape-pipeline)"

// Defaults of Options.
const (
	DefaultMaxBytes       = 10 << 20
	DefaultConnectTimeout = 5 * time.Second
	DefaultHeaderTimeout  = 10 * time.Second
	DefaultRequestTimeout = 30 * time.Second
	DefaultMaxRedirects   = 5
	DefaultMaxAttempts    = 3
	DefaultBaseDelay      = 250 * time.Millisecond
	DefaultMaxDelay       = 5 * time.Second
	DefaultMaxRetryAfter  = 30 * time.Second
)

// Options configure a Fetcher; zero values take the defaults.
type Options struct {
	// UserAgent is sent with every request; its first product token is
	// matched against robots.txt groups.
	UserAgent string
	// AllowPrivate lets the fetcher connect to loopback, private and
	// carrier-grade NAT addresses (devstack's own sample site, tests);
	// link-local and the other special addresses stay refused.
	AllowPrivate bool
	// AllowAddrs are loopback or private listeners the fetcher may connect
	// to even without AllowPrivate: exactly these address:port pairs
	// (devstack allows its own sample site and nothing else on the
	// machine). Link-local and other special addresses are never allowed.
	AllowAddrs []netip.AddrPort
	// MaxBytes caps a page's body after decoding.
	MaxBytes int64
	// ConnectTimeout bounds a TCP connect and a TLS handshake;
	// HeaderTimeout the wait for response headers; RequestTimeout one
	// whole attempt, body included.
	ConnectTimeout, HeaderTimeout, RequestTimeout time.Duration
	// MaxRedirects bounds the redirects followed per request.
	MaxRedirects int
	// MaxAttempts bounds the requests per fetch (1 = no retry).
	MaxAttempts int
	// BaseDelay and MaxDelay shape the backoff between attempts.
	BaseDelay, MaxDelay time.Duration
	// MaxRetryAfter is the longest Retry-After waited for; a longer one
	// ends the fetch at once (with the server's value in Error.RetryAfter).
	MaxRetryAfter time.Duration
	// Resolve replaces DNS lookups (tests use it to make a name resolve to
	// 127.0.0.1 without a DNS server); nil uses the system resolver.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	// TLSConfig, if set, configures TLS (tests trust httptest's CA).
	TLSConfig *tls.Config
}

// Fetcher fetches pages politely. It is safe for concurrent use and keeps
// connections alive across fetches.
type Fetcher struct {
	opts   Options
	token  string
	client *http.Client
}

// New returns a Fetcher with opts.
func New(opts Options) (*Fetcher, error) {
	if opts.MaxBytes < 0 || opts.ConnectTimeout < 0 || opts.HeaderTimeout < 0 || opts.RequestTimeout < 0 ||
		opts.MaxRedirects < 0 || opts.MaxAttempts < 0 || opts.BaseDelay < 0 || opts.MaxDelay < 0 || opts.MaxRetryAfter < 0 {
		return nil, errors.New("fetch: negative option")
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	def(&opts.ConnectTimeout, DefaultConnectTimeout)
	def(&opts.HeaderTimeout, DefaultHeaderTimeout)
	def(&opts.RequestTimeout, DefaultRequestTimeout)
	def(&opts.BaseDelay, DefaultBaseDelay)
	def(&opts.MaxDelay, DefaultMaxDelay)
	def(&opts.MaxRetryAfter, DefaultMaxRetryAfter)
	if opts.MaxRedirects == 0 {
		opts.MaxRedirects = DefaultMaxRedirects
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	token := ProductToken(opts.UserAgent)
	if token == "" {
		return nil, fmt.Errorf("fetch: user agent %q has no product token", opts.UserAgent)
	}
	resolve := opts.Resolve
	if resolve == nil {
		resolve = defaultResolve
	}
	d := &dialer{
		net: &net.Dialer{
			Timeout:   opts.ConnectTimeout,
			KeepAlive: 30 * time.Second,
			Control:   control(opts.AllowPrivate, opts.AllowAddrs),
		},
		resolve: resolve,
	}
	transport := &http.Transport{
		Proxy:                  nil, // a proxy would dial for us, around the guard
		DialContext:            d.DialContext,
		TLSClientConfig:        opts.TLSConfig,
		TLSHandshakeTimeout:    opts.ConnectTimeout,
		ResponseHeaderTimeout:  opts.HeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           32,
		MaxIdleConnsPerHost:    16,
		IdleConnTimeout:        30 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		ForceAttemptHTTP2:      true,
	}
	f := &Fetcher{opts: opts, token: token}
	f.client = &http.Client{Transport: transport, CheckRedirect: f.checkRedirect}
	return f, nil
}

// ProductToken returns the robots.txt product token of a User-Agent: its
// first word up to "/", lower-cased ("scrape-pipeline").
func ProductToken(ua string) string {
	tok, _, _ := strings.Cut(strings.TrimSpace(ua), "/")
	if i := strings.IndexAny(tok, " \t"); i >= 0 {
		tok = tok[:i]
	}
	return strings.ToLower(tok)
}

// Request is one page to fetch.
type Request struct {
	URL string
	// ETag and LastModified are the validators of the last fetch of URL;
	// when set, the request is conditional.
	ETag, LastModified string
	// Robots caches robots.txt for the run; nil fetches it for this
	// request alone.
	Robots *Robots
}

// Page is a fetched page.
type Page struct {
	// URL is the page's final URL, after redirects.
	URL string
	// NotModified is set when the server answered 304 to a conditional
	// request: Body is then empty.
	NotModified bool
	Status      int
	ContentType string
	// Body is the page decoded to UTF-8 (see decodeHTML), whatever its
	// encoding on the wire; Charset names that encoding as the Encoding
	// Standard does ("utf-8", "windows-1252", "shift_jis", …).
	Body    []byte
	Charset string
	// ETag and LastModified are the page's validators, for the next
	// conditional request.
	ETag, LastModified string
	// Attempts is the number of requests made.
	Attempts int
}

type ctxKey struct{}

// reqState travels in the request context to CheckRedirect.
type reqState struct {
	robots   *Robots
	isRobots bool
}

// Fetch GETs req.URL. It fails with an *Error whose Kind is one of this
// package's Err* values, or with the context's error when ctx ended first.
func (f *Fetcher) Fetch(ctx context.Context, req Request) (*Page, error) {
	u, err := checkURL(req.URL)
	if err != nil {
		return nil, &Error{Kind: ErrBadURL, URL: req.URL, Err: err}
	}
	robots := req.Robots
	if robots == nil {
		robots = NewRobots()
	}
	if err := f.checkRobots(ctx, robots, u); err != nil {
		return nil, err
	}
	h := http.Header{}
	if req.ETag != "" {
		h.Set("If-None-Match", req.ETag)
	}
	if req.LastModified != "" {
		h.Set("If-Modified-Since", req.LastModified)
	}
	ctx = context.WithValue(ctx, ctxKey{}, &reqState{robots: robots})
	page, err := f.get(ctx, u.String(), h, f.opts.MaxBytes, false)
	if err != nil {
		return nil, err
	}
	if page.Status == http.StatusNotModified {
		if req.ETag == "" && req.LastModified == "" {
			return nil, &Error{Kind: ErrStatus, URL: page.URL, Status: page.Status, Attempts: page.Attempts, Err: errors.New("304 to an unconditional request")}
		}
		page.NotModified = true
		return page, nil
	}
	return page, nil
}

func checkURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, err
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("scheme %q, want http or https", u.Scheme)
	case u.Host == "" || u.Hostname() == "":
		return nil, errors.New("no host")
	case u.User != nil:
		return nil, errors.New("credentials in the URL")
	}
	u.Fragment = ""
	return u, nil
}

func origin(u *url.URL) string { return u.Scheme + "://" + strings.ToLower(u.Host) }

func pathAndQuery(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	if u.RawQuery != "" {
		p += "?" + u.RawQuery
	}
	return p
}

// checkRobots fetches u's robots.txt once per run and checks u against it.
func (f *Fetcher) checkRobots(ctx context.Context, robots *Robots, u *url.URL) error {
	rules, err := robots.get(ctx, origin(u), func() (*RobotsRules, error) { return f.loadRobots(ctx, u) })
	if err != nil {
		return err
	}
	if !rules.Allowed(pathAndQuery(u)) {
		return &Error{Kind: ErrRobots, URL: u.String(), Err: fmt.Errorf("robots.txt of %s disallows %s for %s", u.Host, pathAndQuery(u), f.token)}
	}
	return nil
}

// loadRobots fetches and parses the robots.txt of u's origin: a 4xx means
// no rules; a 5xx (after retries) fails the fetch, as RFC 9309 asks to
// assume a complete disallow when robots.txt is unreachable.
func (f *Fetcher) loadRobots(ctx context.Context, u *url.URL) (*RobotsRules, error) {
	robotsURL := origin(u) + "/robots.txt"
	ctx = context.WithValue(ctx, ctxKey{}, &reqState{isRobots: true})
	page, err := f.get(ctx, robotsURL, nil, maxRobotsSize, true)
	var fe *Error
	switch {
	case err == nil:
		return ParseRobots(page.Body, f.token), nil
	case errors.As(err, &fe) && errors.Is(fe.Kind, ErrStatus) && fe.Status >= 400 && fe.Status < 500 && fe.Status != http.StatusTooManyRequests:
		return AllowAll, nil
	case errors.As(err, &fe) && errors.Is(fe.Kind, ErrStatus):
		fe.Err = fmt.Errorf("robots.txt unavailable, so nothing may be fetched: %w", errOrStatus(fe))
		return nil, fe
	}
	return nil, err
}

func errOrStatus(e *Error) error {
	if e.Err != nil {
		return e.Err
	}
	return fmt.Errorf("status %d", e.Status)
}

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.opts.MaxRedirects {
		return &redirectError{kind: ErrRedirect, msg: fmt.Sprintf("more than %d redirects", f.opts.MaxRedirects)}
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return &redirectError{kind: ErrRedirect, msg: fmt.Sprintf("redirect to scheme %q", req.URL.Scheme)}
	}
	if req.URL.User != nil {
		return &redirectError{kind: ErrRedirect, msg: "redirect to a URL with credentials"}
	}
	st, _ := req.Context().Value(ctxKey{}).(*reqState)
	if st == nil || st.isRobots {
		return nil
	}
	err := f.checkRobots(req.Context(), st.robots, req.URL)
	var fe *Error
	if errors.As(err, &fe) && errors.Is(fe.Kind, ErrRobots) {
		return &redirectError{kind: ErrRobots, msg: fe.Err.Error()}
	}
	return err
}

// get runs the attempts of one GET: it retries 429, 5xx and transport
// failures. A 304 comes back as a page with that status; other non-2xx
// statuses, a body over maxBytes and a non-HTML type are errors, except
// for robots.txt, which may have any type and is cut at maxBytes.
func (f *Fetcher) get(ctx context.Context, rawURL string, h http.Header, maxBytes int64, robots bool) (*Page, error) {
	var last *Error
	for attempt := 1; ; attempt++ {
		page, err := f.attempt(ctx, rawURL, h, maxBytes, robots)
		if err == nil {
			page.Attempts = attempt
			return page, nil
		}
		var fe *Error
		if !errors.As(err, &fe) {
			return nil, err // the context ended
		}
		fe.Attempts = attempt
		last = fe
		if !retryable(fe) || attempt >= f.opts.MaxAttempts {
			return nil, last
		}
		wait := f.backoff(attempt)
		if fe.RetryAfter > 0 {
			if fe.RetryAfter > f.opts.MaxRetryAfter {
				return nil, last
			}
			wait = max64(wait, fe.RetryAfter)
		}
		if !backoff.Sleep(ctx, wait) {
			return nil, last
		}
	}
}

func max64(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// retryable reports whether another attempt may succeed.
func retryable(e *Error) bool {
	switch {
	case errors.Is(e.Kind, ErrStatus):
		return e.Status == http.StatusTooManyRequests || e.Status >= 500
	case errors.Is(e.Kind, ErrUnreachable):
		var dnsErr *net.DNSError
		return !(errors.As(e.Err, &dnsErr) && dnsErr.IsNotFound)
	}
	return false
}

// attempt makes one request.
func (f *Fetcher) attempt(ctx context.Context, rawURL string, h http.Header, maxBytes int64, robots bool) (*Page, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	actx, cancel := context.WithTimeout(ctx, f.opts.RequestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, &Error{Kind: ErrBadURL, URL: rawURL, Err: err}
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", f.opts.UserAgent)
	if robots {
		req.Header.Set("Accept", "text/plain, */*;q=0.5")
	} else {
		req.Header.Set("Accept", "text/html, application/xhtml+xml;q=0.9, */*;q=0.1")
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, f.transportError(ctx, rawURL, err)
	}
	defer resp.Body.Close()
	final := resp.Request.URL.String()
	page := &Page{
		URL:          final,
		Status:       resp.StatusCode,
		ContentType:  resp.Header.Get("Content-Type"),
		ETag:         resp.Header.Get("ETag"),
		LastModified: resp.Header.Get("Last-Modified"),
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return page, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		_, _ = io.CopyN(io.Discard, resp.Body, 64<<10) // let the connection be reused
		return nil, &Error{Kind: ErrStatus, URL: final, Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"), time.Now())}
	}
	if !robots {
		if err := checkHTML(page.ContentType); err != nil {
			return nil, &Error{Kind: ErrContentType, URL: final, Status: resp.StatusCode, Err: err}
		}
	}
	if resp.ContentLength > maxBytes && !robots {
		return nil, &Error{Kind: ErrTooLarge, URL: final, Status: resp.StatusCode,
			Err: fmt.Errorf("Content-Length %d exceeds the %d-byte cap", resp.ContentLength, maxBytes)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBytes+1))
	if err != nil {
		return nil, f.transportError(ctx, final, err)
	}
	if int64(len(body)) > maxBytes {
		if robots { // only its first maxBytes bytes count (RFC 9309)
			page.Body = body[:maxBytes]
			return page, nil
		}
		return nil, &Error{Kind: ErrTooLarge, URL: final, Status: resp.StatusCode, Err: fmt.Errorf("body exceeds the %d-byte cap", maxBytes)}
	}
	if robots {
		page.Body = body
		return page, nil
	}
	if page.Body, page.Charset, err = decodeHTML(body, page.ContentType, maxBytes); err != nil {
		fe := err.(*Error)
		fe.URL, fe.Status = final, resp.StatusCode
		return nil, fe
	}
	return page, nil
}

// transportError classifies a failed request: the guard's refusal, a bad
// redirect, the caller's context ending, or an unreachable server.
func (f *Fetcher) transportError(ctx context.Context, rawURL string, err error) error {
	var be *blockedError
	var re *redirectError
	var fe *Error
	var ue *url.Error
	if errors.As(err, &ue) && ue.URL != "" {
		rawURL = ue.URL
	}
	switch {
	case errors.As(err, &be):
		return &Error{Kind: ErrBlocked, URL: rawURL, Err: be}
	case errors.As(err, &re):
		return &Error{Kind: re.kind, URL: rawURL, Err: re}
	case errors.As(err, &fe):
		return fe // robots.txt of a redirect target failed
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return &Error{Kind: ErrUnreachable, URL: rawURL, Err: err}
}

// checkHTML accepts text/html and application/xhtml+xml.
func checkHTML(ct string) error {
	if ct == "" {
		return errors.New("no Content-Type")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return fmt.Errorf("Content-Type %q: %v", text.Clip(ct, maxQuoted), err)
	}
	if mt != "text/html" && mt != "application/xhtml+xml" {
		return fmt.Errorf("Content-Type %s, want text/html", text.Clip(mt, maxQuoted))
	}
	return nil
}

// maxRetryAfterHeader caps what retryAfter reads: a server's value travels
// on in Error.RetryAfter and the scraper's own Retry-After header.
const maxRetryAfterHeader = 365 * 24 * time.Hour

// retryAfter reads a Retry-After header: seconds or an HTTP date, 0 when
// absent, past or malformed, at most maxRetryAfterHeader.
func retryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0
		}
		return time.Duration(min(secs, int64(maxRetryAfterHeader/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfterHeader)
	}
	return 0
}

// backoff returns the wait before attempt n+1.
func (f *Fetcher) backoff(n int) time.Duration {
	return backoff.Jittered(n, f.opts.BaseDelay, f.opts.MaxDelay)
}

// maxQuoted is the most bytes of a value from outside that a fetch error
// quotes (text.Clip): enough to recognise it, never a whole hostile input.
const maxQuoted = 80
