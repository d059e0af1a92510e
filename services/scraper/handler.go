package scraper

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/fetch"
)

// Error codes of POST /scrape besides libs/httpx's (bad_request,
// bad_parameter, too_large, rate_limited, unavailable, internal).
const (
	// CodeTargetUnreachable (502): the page did not answer (DNS,
	// connection, timeouts).
	CodeTargetUnreachable = "target_unreachable"
	// CodeTargetError (502): the page answered an error status.
	CodeTargetError = "target_error"
	// CodeTargetRateLimited (503): the page kept answering 429.
	CodeTargetRateLimited = "target_rate_limited"
	// CodePageTooLarge (502): the page exceeds the size cap.
	CodePageTooLarge = "page_too_large"
	// CodeNotHTML (502): the page is not HTML.
	CodeNotHTML = "not_html"
	// CodeUnsupportedCharset (502): the page declares a character
	// encoding that cannot be decoded (an unknown label, or one decoded to
	// nothing but U+FFFD); the message names it.
	CodeUnsupportedCharset = "unsupported_charset"
	// CodeBadRedirect (502): too many redirects, or one to another scheme.
	CodeBadRedirect = "bad_redirect"
	// CodeRobotsDisallowed (403): robots.txt disallows the page.
	CodeRobotsDisallowed = "robots_disallowed"
	// CodeTargetForbidden (403): the page's address is loopback, private,
	// link-local or otherwise not allowed.
	CodeTargetForbidden = "target_forbidden"
	// CodeStreamUnavailable (503): the stream did not take the run events.
	CodeStreamUnavailable = "stream_unavailable"
)

// maxBody caps the request body.
const maxBody = 4 << 10

// scrapeRequest is the optional body of POST /scrape.
type scrapeRequest struct {
	URL *string `json:"url"`
}

// Handler serves contract.ScraperRoutes: POST /scrape runs a scrape and
// answers 202 with the Summary. Unknown paths and methods get JSON 404 and
// 405.
func (s *Service) Handler() http.Handler {
	handlers := map[string]http.HandlerFunc{
		contract.ScrapePath: s.handleScrape,
	}
	mux := http.NewServeMux()
	for _, r := range contract.ScraperRoutes() {
		h, ok := handlers[r.Path]
		if !ok { // the contract and this file disagree: TestRoutes fails
			panic("scraper: no handler for route " + r.Key())
		}
		mux.Handle(r.Pattern(), h)
	}
	return httpx.JSONErrors(mux, s.log)
}

func (s *Service) handleScrape(w http.ResponseWriter, r *http.Request) {
	target, err := s.readTarget(w, r)
	if err != nil {
		httpx.WriteError(w, r, s.log, err)
		return
	}
	sum, err := s.Scrape(r.Context(), Request{URL: target, Trigger: events.TriggerAPI})
	if err != nil {
		httpx.WriteError(w, r, s.log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusAccepted, sum)
}

// readTarget reads the optional {"url": …} body: "" means Config.URL. An
// empty (or all white space) body is the default target; anything else must
// be one JSON object.
func (s *Service) readTarget(w http.ResponseWriter, r *http.Request) (string, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return "", httpx.Errorf(http.StatusRequestEntityTooLarge, httpx.CodeTooLarge, fmt.Sprintf("body larger than %d bytes", maxBody))
	case err != nil:
		return "", httpx.Errorf(http.StatusBadRequest, httpx.CodeBadRequest, "body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return "", nil
	}
	// json.Decoder takes null for an empty struct: a body of null (or an
	// array, a string, …) must not scrape the default target as if it
	// were {}.
	if body = bytes.TrimLeft(body, " \t\r\n"); body[0] != '{' {
		return "", httpx.Errorf(http.StatusBadRequest, httpx.CodeBadRequest, "body: want a JSON object {\"url\": \"…\"}")
	}
	var req scrapeRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return "", httpx.Errorf(http.StatusBadRequest, httpx.CodeBadRequest, "body: want a JSON object {\"url\": \"…\"}: "+text.Clip(err.Error(), maxQuoted))
	}
	if _, err := dec.Token(); err != io.EOF {
		return "", httpx.Errorf(http.StatusBadRequest, httpx.CodeBadRequest, "body: data after the JSON object")
	}
	if req.URL == nil {
		return "", nil
	}
	return s.allowedTarget(*req.URL)
}

// allowedTarget checks a URL that a request names instead of Config.URL
// and returns it in the form Scrape takes: an http(s) URL (see
// checkTarget) whose host and port are in the allow-list. A refused host
// gets a 400 whose message ends with Config.AllowHint, how to allow it.
func (s *Service) allowedTarget(raw string) (string, error) {
	u, err := checkTarget(raw)
	if err != nil {
		return "", httpx.BadParameter("url", err.Error())
	}
	if !hostAllowed(s.cfg.AllowHosts, u) {
		return "", httpx.BadParameter("url", fmt.Sprintf("host %s is not in the allow-list; to allow it, %s", text.Clip(u.Host, maxQuoted), s.cfg.AllowHint))
	}
	return u.String(), nil
}

// clientError maps a run's failure to the response the client sees.
// runID, when set, is named in the message: the run exists and its
// scrape.completed carries the error.
func clientError(err error, runID string) error {
	var he *httpx.Error
	if errors.As(err, &he) {
		return err
	}
	prefix := ""
	if runID != "" {
		prefix = "run " + runID + ": "
	}
	e := &httpx.Error{Err: err}
	var fe *fetch.Error
	switch {
	case errors.Is(err, errStream):
		e.Status, e.Code, e.Message = http.StatusServiceUnavailable, CodeStreamUnavailable, "the event stream is unavailable"
	case errors.As(err, &fe):
		e.Status, e.Code, e.Message, e.RetryAfter = fetchStatus(fe)
	case errors.Is(err, context.DeadlineExceeded):
		e.Status, e.Code, e.Message = http.StatusServiceUnavailable, httpx.CodeUnavailable, "the scrape did not finish in time"
		// The run's own words ("deadline: page 2: 3 of 50 detail pages
		// not fetched: context deadline exceeded") say what was left.
		if left, ok := strings.CutPrefix(err.Error(), "deadline: "); ok {
			e.Message += " (" + text.Clip(strings.TrimSuffix(left, ": "+context.DeadlineExceeded.Error()), maxQuoted) + ")"
		}
	default:
		return err // a 500 without internals
	}
	e.Message = prefix + e.Message
	return e
}

// fetchStatus maps a fetch failure to status, code and message.
func fetchStatus(fe *fetch.Error) (status int, code, msg string, retryAfter time.Duration) {
	u := text.Clip(fe.URL, maxQuoted)
	switch {
	case errors.Is(fe, fetch.ErrBlocked):
		return http.StatusForbidden, CodeTargetForbidden, u + ": the address is not one the scraper may connect to", 0
	case errors.Is(fe, fetch.ErrRobots):
		return http.StatusForbidden, CodeRobotsDisallowed, u + ": robots.txt disallows it", 0
	case errors.Is(fe, fetch.ErrTooLarge):
		return http.StatusBadGateway, CodePageTooLarge, u + ": page too large", 0
	case errors.Is(fe, fetch.ErrCharset):
		msg := u + ": the page's character encoding cannot be decoded"
		var ce *fetch.CharsetError
		if errors.As(fe, &ce) {
			msg = u + ": " + ce.Error()
		}
		return http.StatusBadGateway, CodeUnsupportedCharset, msg, 0
	case errors.Is(fe, fetch.ErrContentType):
		return http.StatusBadGateway, CodeNotHTML, u + ": not an HTML page", 0
	case errors.Is(fe, fetch.ErrRedirect):
		return http.StatusBadGateway, CodeBadRedirect, u + ": too many redirects or a redirect to another scheme", 0
	case errors.Is(fe, fetch.ErrStatus) && fe.Status == http.StatusTooManyRequests:
		return http.StatusServiceUnavailable, CodeTargetRateLimited, u + ": the site asks to slow down (429)", fe.RetryAfter
	case errors.Is(fe, fetch.ErrStatus):
		return http.StatusBadGateway, CodeTargetError, fmt.Sprintf("%s: the site answered %d", u, fe.Status), 0
	case errors.Is(fe, fetch.ErrBadURL):
		return http.StatusBadRequest, httpx.CodeBadParameter, u + ": not an http(s) URL", 0
	}
	return http.StatusBadGateway, CodeTargetUnreachable, u + ": the site did not answer", 0
}
