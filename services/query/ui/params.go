package ui

import (
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// Query parameters of the pages.
const (
	paramCursor = "cursor"
	paramYear   = "year"
	paramStatus = "status"
)

// params are a page's query parameters, each given at most once. An empty
// value is the same as no value: a filter form submitted with an empty
// field (?year=) means "no filter".
type params map[string]string

// parseParams parses raw and refuses a malformed query string, a parameter
// not in allowed and a parameter given twice with a *pageError naming it:
// a typo in a bookmark (?yaer=1994) must not silently show the unfiltered
// list.
func parseParams(raw string, allowed ...string) (params, error) {
	if raw == "" {
		return nil, nil
	}
	vs, err := url.ParseQuery(raw)
	if err != nil {
		return nil, &pageError{Status: 400, Title: "Bad link", Message: "The address's query string is malformed."}
	}
	names := make([]string, 0, len(vs))
	for name := range vs {
		names = append(names, name)
	}
	slices.Sort(names) // the same parameter is named whatever the map order
	p := params{}
	for _, name := range names {
		v := vs[name]
		switch {
		case !slices.Contains(allowed, name):
			why := "is not known on this page"
			if len(allowed) > 0 {
				why += " (it takes " + strings.Join(allowed, ", ") + ")"
			}
			return nil, errBadParameter(text.Clip(name, maxQuoted), why)
		case len(v) > 1:
			return nil, errBadParameter(name, "is given more than once")
		}
		if v[0] != "" {
			p[name] = v[0]
		}
	}
	return p, nil
}

// year is the year filter, 0 when absent.
func (p params) year() (int, error) {
	s, ok := p[paramYear]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || len(s) > 4 || s[0] < '0' || s[0] > '9' || n < 1 {
		return 0, errBadParameter(paramYear, "must be a year from 1 to 9999, not "+strconv.Quote(text.Clip(s, maxQuoted)))
	}
	return n, nil
}

// statuses are the run statuses a runs page filters on.
var statuses = []store.RunStatus{store.RunRunning, store.RunCompleted, store.RunUnchanged, store.RunFailed}

// status is the run status filter, "" when absent.
func (p params) status() (store.RunStatus, error) {
	s, ok := p[paramStatus]
	if !ok {
		return "", nil
	}
	if !slices.Contains(statuses, store.RunStatus(s)) {
		return "", errBadParameter(paramStatus, "must be running, completed, unchanged or failed, not "+strconv.Quote(text.Clip(s, maxQuoted)))
	}
	return store.RunStatus(s), nil
}

// token opens the cursor parameter for listing: nil for the first page.
func (h *Handler) token(p params, listing string) (store.PageToken, error) {
	c, ok := p[paramCursor]
	if !ok {
		return nil, nil
	}
	t, err := h.cursors.Open(listing, c)
	if err != nil {
		return nil, &pageError{Status: 400, Title: "Bad link",
			Message: "This page's cursor is not valid for this list (altered, cut, or from another list). Start again from the first page.", Err: err}
	}
	return t, nil
}

// pageURL is the address of path with the non-empty parameters in kv
// (name, value pairs), in a stable order.
func pageURL(path string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// maxQuoted is the most bytes of a value from outside that a message
// quotes (text.Clip): enough to recognise it, never a whole hostile input.
const maxQuoted = 40
