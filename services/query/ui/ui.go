package ui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// Paths of the dashboard, as its links name them: the paths of
// contract.DashboardRoutes.
const (
	OverviewPath = "/"
	MoviesPath   = "/ui/movies"
	RunsPath     = "/ui/runs"
	ErrorsPath   = "/ui/errors"
	StaticPrefix = "/ui/static/"
	// Prefix is where every dashboard path but the overview lives; the
	// handler answers unknown paths under it with its HTML 404.
	Prefix = "/ui/"
)

// Movies reads the movie projection and the films' history.
type Movies interface {
	// GetMovie returns the movie or an error wrapping store.ErrNotFound.
	GetMovie(ctx context.Context, id string) (store.Movie, error)
	// ListMovies returns up to limit movies of f after token (nil: the
	// first page) in the store's stable order; Next is nil on the last
	// page. A token not issued for this filter is store.ErrBadToken.
	ListMovies(ctx context.Context, f store.MovieFilter, limit int, token store.PageToken) (store.Page[store.Movie], error)
	// ListHistory returns the change points of a movie's history, newest
	// first; a movie without history is an empty page.
	ListHistory(ctx context.Context, movieID string, f store.HistoryFilter, limit int, token store.PageToken) (store.Page[store.Observation], error)
}

// Runs reads the runs projection.
type Runs interface {
	// GetRun returns the run or an error wrapping store.ErrNotFound.
	GetRun(ctx context.Context, id string) (store.Run, error)
	// ListRuns returns up to limit runs, newest first, of f's status when
	// set; with a status, a page may hold fewer runs (even none) while
	// Next is not nil.
	ListRuns(ctx context.Context, f store.RunFilter, limit int, token store.PageToken) (store.Page[store.Run], error)
}

// Errors reads the failed records.
type Errors interface {
	// ListErrors returns up to limit items, newest first failure first,
	// each with the first store.PreviewBytes bytes of its payload.
	ListErrors(ctx context.Context, limit int, token store.PageToken) (store.Page[store.ErrorItem], error)
}

// Store is what the pages read. Every method must be safe for concurrent
// use and honour ctx; a failure worth retrying later wraps
// store.ErrTransient and is answered 503 with Retry-After.
type Store interface {
	Movies
	Runs
	Errors
}

var _ Store = store.Store(nil)

// Cursors seal store page tokens into the text of a link and open them
// again, so that a "next page" link cannot be forged into a read of
// another listing. The query service passes its own signer.
type Cursors interface {
	// Seal returns the cursor of token in listing.
	Seal(listing string, token store.PageToken) string
	// Open returns the token that cursor holds if it was sealed for
	// listing, and an error for any other text.
	Open(listing, cursor string) (store.PageToken, error)
}

// Config is what the pages say about the deployment that serves them.
type Config struct {
	// ScrapeCommand, when set, is the shell line that starts a scrape
	// (contract.EnvScrapeCommand): the overview shows it where a browser
	// could not start one (POST /scrape needs a SigV4 signature). Empty:
	// the overview has a button that posts to /scrape.
	ScrapeCommand string
	// StatusPath, when set, is the same-origin path of devstack's status
	// (GET /_devstack/status): the overview shows each shard's latest
	// sequence number, checkpoint and iterator age and the queue depths
	// from it. Empty (on AWS, where no such path exists): no such panel.
	StatusPath string
}

// Options configure a Handler.
type Options struct {
	Config
	// Cursors seal the links to further pages (required).
	Cursors Cursors
	// Logger gets the requests that failed (5xx at error level). Nil:
	// slog.Default().
	Logger *slog.Logger
}

// Sizes of what one page reads.
const (
	// MoviesPerPage films on a page of the films list: with the stylesheet
	// and script, a page stays well under 150 KB.
	MoviesPerPage = 50
	// RunsPerPage runs on a page of the runs list.
	RunsPerPage = 25
	// ErrorsPerPage failures on a page of the errors list.
	ErrorsPerPage = 25
	// HistoryPerPage change points in a film's charts and table.
	HistoryPerPage = 100
	// OverviewRuns and OverviewErrors are how many runs and failures the
	// overview reads; its totals count what these listings return.
	OverviewRuns   = 10
	OverviewErrors = 50
	// runsCallsPerPage bounds the store calls of one filtered runs page
	// (a filtered listing may return short pages).
	runsCallsPerPage = 4
)

// RetryAfter is the Retry-After of a 503 when the store is busy.
const RetryAfter = time.Second

// Handler serves the dashboard. It is safe for concurrent use.
type Handler struct {
	store   Store
	cursors Cursors
	cfg     Config
	log     *slog.Logger
	pages   map[string]*template.Template
	mux     *http.ServeMux
}

// New returns the dashboard over st.
func New(st Store, opts Options) (*Handler, error) {
	if st == nil {
		return nil, errors.New("ui: nil store")
	}
	if opts.Cursors == nil {
		return nil, errors.New("ui: nil Cursors")
	}
	if err := opts.Config.Validate(); err != nil {
		return nil, fmt.Errorf("ui: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	pages, err := parsePages()
	if err != nil {
		return nil, fmt.Errorf("ui: %w", err)
	}
	h := &Handler{store: st, cursors: opts.Cursors, cfg: opts.Config, log: log, pages: pages}
	handlers := map[string]func(http.ResponseWriter, *http.Request) error{
		OverviewPath:            h.overview,
		MoviesPath:              h.movies,
		MoviesPath + "/{id}":    h.movie,
		RunsPath:                h.runs,
		RunsPath + "/{id}":      h.run,
		ErrorsPath:              h.errorsPage,
		StaticPrefix + "{file}": h.static,
	}
	h.mux = http.NewServeMux()
	for _, r := range contract.DashboardRoutes() {
		f, ok := handlers[r.Path]
		if !ok {
			return nil, fmt.Errorf("ui: no handler for route %s", r.Key())
		}
		h.mux.Handle(r.Pattern(), h.handle(f))
	}
	h.mux.Handle("/", h.handle(func(http.ResponseWriter, *http.Request) error { return errNotFound("No such page.") }))
	return h, nil
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	if len(c.ScrapeCommand) > 2000 {
		errs = append(errs, fmt.Errorf("scrape command: %d bytes, want at most 2000", len(c.ScrapeCommand)))
	}
	for _, r := range c.ScrapeCommand {
		if r < ' ' || r == 0x7f {
			errs = append(errs, errors.New("scrape command: contains a control character (one line of shell)"))
			break
		}
	}
	if c.StatusPath != "" && (c.StatusPath[0] != '/' || len(c.StatusPath) > 1 && c.StatusPath[1] == '/') {
		errs = append(errs, fmt.Errorf("status path %q: want a path of this origin, starting with a single /", c.StatusPath))
	}
	return errors.Join(errs...)
}

// ServeHTTP serves one request. Every answer carries the security headers;
// a path the dashboard does not know under /ui/ is its HTML 404, a method
// other than GET or HEAD its 405.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	setSecurityHeaders(w.Header())
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.writeError(w, r, &pageError{Status: http.StatusMethodNotAllowed, Title: "Method not allowed",
			Message: "These pages only answer GET."})
		return
	}
	h.mux.ServeHTTP(w, r)
}

// ContentSecurityPolicy is the policy of every answer: nothing but this
// origin's own script, stylesheet and images, no inline script or style,
// no eval, no frames, no <base>, forms only to this origin.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

func setSecurityHeaders(hdr http.Header) {
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY") // frame-ancestors for browsers without CSP 2
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// handle turns a page function into a handler that answers its error as an
// HTML page. (ServeHTTP has set the security headers.)
func (h *Handler) handle(f func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
}

// pageError is an error meant for the reader of the page.
type pageError struct {
	Status     int
	Title      string
	Message    string
	RetryAfter time.Duration
	Err        error // logged, never shown
}

func (e *pageError) Error() string {
	if e.Err != nil {
		return e.Title + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Title + ": " + e.Message
}

func (e *pageError) Unwrap() error { return e.Err }

func errNotFound(msg string) *pageError {
	return &pageError{Status: http.StatusNotFound, Title: "Not found", Message: msg}
}

func errBadParameter(name, why string) *pageError {
	return &pageError{Status: http.StatusBadRequest, Title: "Bad link",
		Message: "The parameter " + strconv.Quote(name) + " of this address " + why + "."}
}

// storeError maps a store failure to the page the reader sees.
func storeError(what string, err error) error {
	switch {
	case errors.Is(err, store.ErrBadToken):
		return &pageError{Status: http.StatusBadRequest, Title: "Bad link",
			Message: "This page's cursor does not belong to this list. Start again from the first page.", Err: err}
	case errors.Is(err, store.ErrTransient), errors.Is(err, context.DeadlineExceeded):
		return &pageError{Status: http.StatusServiceUnavailable, Title: "Busy",
			Message: "The store is busy. Try again in a moment.", RetryAfter: RetryAfter, Err: err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// writeError answers err as an HTML page: a *pageError as it says, anything
// else as a 500 whose text stays in the log.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var pe *pageError
	if !errors.As(err, &pe) {
		pe = &pageError{Status: http.StatusInternalServerError, Title: "Something went wrong",
			Message: "The page could not be made. The error is in the service's log.", Err: err}
	}
	level := slog.LevelInfo
	if pe.Status >= 500 {
		level = slog.LevelError
	}
	h.log.LogAttrs(r.Context(), level, "page failed", slog.String("method", r.Method), slog.String("path", r.URL.Path),
		slog.Int("status", pe.Status), slog.String("error", err.Error()))
	if pe.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(pe.RetryAfter.Seconds()))))
	}
	if err := h.render(w, r, pe.Status, "error", page{Title: pe.Title, Data: pe}); err != nil {
		// The error page itself failed: plain text, still not the cause.
		h.log.LogAttrs(r.Context(), slog.LevelError, "error page failed", slog.String("error", err.Error()))
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(pe.Status)
		_, _ = w.Write([]byte(pe.Title + "\n"))
	}
}

// page is what the layout renders around a page's own content.
type page struct {
	Title string
	// Nav is the path of the section the page belongs to.
	Nav  string
	Data any
}

// render executes the named page into a buffer, then writes it with
// status: a template that fails leaves nothing half written.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) error {
	t, ok := h.pages[name]
	if !ok {
		return fmt.Errorf("no page template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		return fmt.Errorf("render %s: %w", name, err)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
	return nil
}
