package query

import (
	"fmt"
	"net/http"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/services/query/ui"
)

// mountDashboard serves the dashboard (package ui) on mux beside the API:
// its routes, and its HTML 404 page for any other path under /ui/ (on AWS
// such paths reach this function through the $default route). Its links
// to further pages carry cursors sealed with the API's cursor key, bound
// to the dashboard's own listings.
func (h *Handler) mountDashboard(mux *http.ServeMux, st Store, cfg ui.Config) error {
	dash, err := ui.New(st, ui.Options{Config: cfg, Cursors: dashboardCursors{h.cursors}, Logger: h.log})
	if err != nil {
		return fmt.Errorf("query: dashboard: %w", err)
	}
	for _, r := range contract.DashboardRoutes() {
		mux.Handle(r.Pattern(), dash)
	}
	mux.Handle(ui.Prefix, dash)
	return nil
}

// dashboardCursors are the API's cursors as the dashboard uses them.
type dashboardCursors struct{ c *cursorSigner }

func (d dashboardCursors) Seal(listing string, token store.PageToken) string {
	return d.c.seal(listing, token)
}

func (d dashboardCursors) Open(listing, cursor string) (store.PageToken, error) {
	return d.c.open(listing, cursor)
}
