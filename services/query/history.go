package query

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

var historyParams = []string{paramLimit, paramCursor, paramSince, paramUntil}

func (h *Handler) getHistory(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r.URL.RawQuery, historyParams)
	if err != nil {
		return err
	}
	id, err := movieID(r)
	if err != nil {
		return err
	}
	limit, err := q.limit()
	if err != nil {
		return err
	}
	f, err := q.historyFilter()
	if err != nil {
		return err
	}
	listing := historyListing(id, f)
	token, err := h.cursors.open(listing, q.get(paramCursor))
	if err != nil {
		return err
	}

	// The movie decides between a 404 and a history, empty or not. (Run
	// at once, the two reads would save a DynamoDB round trip but cost
	// about 10 µs of CPU a request in goroutine handoffs.)
	_, err = h.store.GetMovie(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return httpx.Errorf(http.StatusNotFound, httpx.CodeNotFound, "no movie with id "+quote(id))
	}
	if err != nil {
		return fmt.Errorf("get movie %s: %w", id, err)
	}
	page, err := h.store.ListHistory(r.Context(), id, f, limit, token)
	if err != nil {
		return fmt.Errorf("list history of %s: %w", id, err)
	}
	out := historyList{Items: make([]historyPoint, len(page.Items))}
	for i, o := range page.Items {
		out.Items[i] = toHistoryPoint(o)
	}
	if page.Next != nil {
		out.NextCursor = h.cursors.seal(listing, page.Next)
	}
	return writeOK(w, r, out)
}

// historyListing names the listing a history cursor is bound to: the movie
// and the bounds, in one spelling per instant (a client may write a bound
// with another offset from page to page).
func historyListing(id string, f store.HistoryFilter) string {
	v := url.Values{}
	if !f.Since.IsZero() {
		v.Set(paramSince, f.Since.UTC().Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		v.Set(paramUntil, f.Until.UTC().Format(time.RFC3339Nano))
	}
	listing := "GET /movies/" + id + "/history"
	if len(v) > 0 {
		listing += "?" + v.Encode()
	}
	return listing
}
