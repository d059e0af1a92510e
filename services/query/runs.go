package query

import (
	"fmt"
	"net/http"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

var runParams = []string{paramLimit, paramCursor, paramStatus}

// maxRunReads bounds the store calls of one GET /runs page. With a status
// filter each call examines a bounded number of runs and may come back
// short, even empty, while more remain: the handler reads on to fill the
// page, up to this many calls, so that a client rarely sees an empty page
// with a nextCursor (only when runs of that status are that rare).
const maxRunReads = 4

func (h *Handler) listRuns(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r.URL.RawQuery, runParams)
	if err != nil {
		return err
	}
	limit, err := q.limit()
	if err != nil {
		return err
	}
	status, err := q.status()
	if err != nil {
		return err
	}
	listing := "GET /runs"
	if status != "" {
		listing += "?status=" + string(status)
	}
	token, err := h.cursors.open(listing, q.get(paramCursor))
	if err != nil {
		return err
	}
	f := store.RunFilter{Status: status}
	page, err := h.store.ListRuns(r.Context(), f, limit, token)
	if err != nil {
		return fmt.Errorf("list runs: %w", err)
	}
	out := runList{Items: make([]run, 0, len(page.Items))}
	for reads := 1; ; reads++ {
		for _, run := range page.Items {
			out.Items = append(out.Items, toRun(run))
		}
		if len(out.Items) >= limit || page.Next == nil || reads == maxRunReads {
			break
		}
		if page, err = h.store.ListRuns(r.Context(), f, limit-len(out.Items), page.Next); err != nil {
			return fmt.Errorf("list runs: %w", err)
		}
	}
	if page.Next != nil {
		out.NextCursor = h.cursors.seal(listing, page.Next)
	}
	return writeOK(w, r, out)
}
