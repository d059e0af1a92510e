package query

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/httpx"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/services/query/ui"
)

// Movies reads the movie projection.
type Movies interface {
	// GetMovie returns the movie or an error wrapping store.ErrNotFound.
	GetMovie(ctx context.Context, id string) (store.Movie, error)
	// ListMovies returns up to limit movies of f after token (nil: the
	// first page), in a stable order; Next is nil on the last page. A
	// token this store did not issue for this filter is store.ErrBadToken.
	ListMovies(ctx context.Context, f store.MovieFilter, limit int, token store.PageToken) (store.Page[store.Movie], error)
}

// History reads the movies' histories.
type History interface {
	// ListHistory returns up to limit change points of movieID's history
	// within f's inclusive bounds, newest first, after token (nil: the
	// first page). A movie without history is an empty page. A token this
	// store did not issue for this movie and filter is store.ErrBadToken.
	ListHistory(ctx context.Context, movieID string, f store.HistoryFilter, limit int, token store.PageToken) (store.Page[store.Observation], error)
}

// Runs reads the runs projection.
type Runs interface {
	// GetRun returns the run or an error wrapping store.ErrNotFound.
	GetRun(ctx context.Context, id string) (store.Run, error)
	// ListRuns returns up to limit runs, newest first, after token (nil:
	// the first page), only those of f.Status when it is set. With a
	// status, a page may hold fewer runs than limit, even none, while Next
	// is set. A token this store did not issue for this status is
	// store.ErrBadToken.
	ListRuns(ctx context.Context, f store.RunFilter, limit int, token store.PageToken) (store.Page[store.Run], error)
}

// Errors reads the failed records.
type Errors interface {
	// ListErrors returns up to limit items, newest FirstFailure first,
	// after token (nil: the first page), each with only the first
	// store.PreviewBytes bytes of its payload. A token this store did not
	// issue for this listing is store.ErrBadToken.
	ListErrors(ctx context.Context, limit int, token store.PageToken) (store.Page[store.ErrorItem], error)
	// GetError returns the item with its whole payload, or an error
	// wrapping store.ErrNotFound.
	GetError(ctx context.Context, id string) (store.ErrorItem, error)
}

// Store is what the handler reads. Every method must be safe for concurrent
// use and honour ctx; a failure worth retrying later (throttling) wraps
// store.ErrTransient and is answered 503 with Retry-After.
type Store interface {
	ui.Store // what the dashboard reads
	Movies
	History
	Runs
	Errors
}

var _ Store = store.Store(nil)

// Limits of the listings.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// PreviewBytes is how many bytes of an error item's raw payload GET /errors
// returns. The store's listing holds store.PreviewBytes of them, which must
// be more: the preview of a text payload needs the bytes past its cut to
// tell a character split by the cut from binary data.
const PreviewBytes = 256

// The preview must fit in what ListErrors returns, with room to look past
// its cut (this fails to compile otherwise).
const _ = uint(store.PreviewBytes - PreviewBytes - utf8.UTFMax)

// RetryAfter is the Retry-After sent with a 503 when the store is throttled.
const RetryAfter = time.Second

// Options configure a Handler.
type Options struct {
	// CursorKey signs the cursors (32 bytes). Empty: a random key for this
	// process, with a warning (cursors then do not survive a restart and
	// are not accepted by another instance).
	CursorKey []byte
	// CORSOrigins are the origins allowed to read the API from a browser
	// ("https://example.org", or "*" for any). Empty: none.
	CORSOrigins []string
	// Logger gets the requests that failed (5xx at error level, others at
	// info). Nil: slog.Default().
	Logger *slog.Logger
	// Dashboard is what the dashboard's pages say about the deployment
	// (the scrape command, devstack's status path).
	Dashboard ui.Config
}

// Handler serves the query API. It is safe for concurrent use.
type Handler struct {
	store   Store
	cursors *cursorSigner
	log     *slog.Logger
	mux     *http.ServeMux // the routes, for the preflight check and tests
	next    http.Handler
}

// New returns the handler over st. It fails if a CursorKey is given that is
// not 32 bytes or an origin is not an http(s) origin.
func New(st Store, opts Options) (*Handler, error) {
	if st == nil {
		return nil, errors.New("query: nil store")
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	key := opts.CursorKey
	if len(key) == 0 {
		key = make([]byte, CursorKeySize)
		_, _ = rand.Read(key) // crypto/rand.Read never fails on supported platforms
		log.Warn("no cursor key configured: using a random key for this process; cursors will not survive a restart",
			slog.String("env", contract.EnvCursorKey))
	}
	if len(key) != CursorKeySize {
		return nil, fmt.Errorf("query: cursor key has %d bytes, want %d", len(key), CursorKeySize)
	}
	cors, err := newCORS(opts.CORSOrigins)
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	h := &Handler{store: st, cursors: newCursorSigner(key), log: log}
	handlers := map[string]func(http.ResponseWriter, *http.Request) error{
		"GET /movies":              h.listMovies,
		"GET /movies/{id}":         h.getMovie,
		"GET /movies/{id}/history": h.getHistory,
		"GET /runs":                h.listRuns,
		"GET /runs/{id}":           h.getRun,
		"GET /errors":              h.listErrors,
		"GET /errors/{id}":         h.getError,
	}
	mux := http.NewServeMux()
	for _, r := range contract.QueryAPIRoutes() {
		f, ok := handlers[r.Key()]
		if !ok {
			return nil, fmt.Errorf("query: no handler for route %s", r.Key())
		}
		mux.Handle(r.Pattern(), h.handle(f))
	}
	if err := h.mountDashboard(mux, st, opts.Dashboard); err != nil {
		return nil, err
	}
	h.mux = mux
	h.next = cors.wrap(mux, httpx.JSONErrors(mux, h.log))
	return h, nil
}

// ServeHTTP serves one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.next.ServeHTTP(w, r) }

// handle turns a handler returning an error into an http.Handler that
// answers the error as JSON.
func (h *Handler) handle(f func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := f(w, r); err != nil {
			h.writeError(w, r, err)
		}
	})
}

// writeError maps the store's sentinel errors to HTTP ones; anything else
// that is not already an *httpx.Error is a 500 whose text stays in the log.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpx.Error
	switch {
	case errors.As(err, &he):
	case errors.Is(err, store.ErrBadToken):
		err = &httpx.Error{Status: http.StatusBadRequest, Code: httpx.CodeBadCursor,
			Message: "cursor: not valid for this listing", Err: err}
	case errors.Is(err, store.ErrTransient), errors.Is(err, context.DeadlineExceeded):
		err = &httpx.Error{Status: http.StatusServiceUnavailable, Code: httpx.CodeUnavailable,
			Message: "the store is busy; retry later", RetryAfter: RetryAfter, Err: err}
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteError(w, r, h.log, err)
}

var (
	movieParams = []string{paramLimit, paramCursor, paramYear}
	errorParams = []string{paramLimit, paramCursor}
)

func (h *Handler) listMovies(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r.URL.RawQuery, movieParams)
	if err != nil {
		return err
	}
	limit, err := q.limit()
	if err != nil {
		return err
	}
	year, err := q.year()
	if err != nil {
		return err
	}
	listing := "GET /movies"
	if year != 0 {
		listing += "?year=" + strconv.Itoa(year)
	}
	token, err := h.cursors.open(listing, q.get(paramCursor))
	if err != nil {
		return err
	}
	page, err := h.store.ListMovies(r.Context(), store.MovieFilter{Year: year}, limit, token)
	if err != nil {
		return fmt.Errorf("list movies: %w", err)
	}
	out := movieList{Items: make([]movie, len(page.Items))}
	for i, m := range page.Items {
		out.Items[i] = toMovie(m)
	}
	if page.Next != nil {
		out.NextCursor = h.cursors.seal(listing, page.Next)
	}
	return writeOK(w, r, out)
}

func (h *Handler) getMovie(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r.URL.RawQuery, nil); err != nil {
		return err
	}
	id, err := movieID(r)
	if err != nil {
		return err
	}
	m, err := h.store.GetMovie(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return httpx.Errorf(http.StatusNotFound, httpx.CodeNotFound, "no movie with id "+quote(id))
	}
	if err != nil {
		return fmt.Errorf("get movie %s: %w", id, err)
	}
	return writeOK(w, r, toMovie(m))
}

func (h *Handler) getRun(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseQuery(r.URL.RawQuery, nil); err != nil {
		return err
	}
	id := r.PathValue("id")
	if why := checkRunID(id); why != "" {
		return httpx.BadParameter("id", why)
	}
	run, err := h.store.GetRun(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return httpx.Errorf(http.StatusNotFound, httpx.CodeNotFound, "no run with id "+quote(id))
	}
	if err != nil {
		return fmt.Errorf("get run %s: %w", id, err)
	}
	return writeOK(w, r, toRun(run))
}

// movieID is the movie id of r's path, or a 400 naming what events
// accept as one.
func movieID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !events.ValidMovieID(id) {
		return "", httpx.BadParameter("id", fmt.Sprintf("%s is not a movie id (1 to %d characters of a-z, 0-9 and single hyphens)",
			quote(id), events.MaxMovieIDLen))
	}
	return id, nil
}

// checkRunID accepts what the event schema accepts as a run id: printable
// text without spaces, at most events.MaxRunIDLen bytes. It returns why id
// is refused, or "".
func checkRunID(id string) string {
	if len(id) > events.MaxRunIDLen {
		return fmt.Sprintf("longer than %d bytes", events.MaxRunIDLen)
	}
	if !utf8.ValidString(id) {
		return "not valid UTF-8"
	}
	for _, c := range id {
		if !unicode.IsPrint(c) || unicode.IsSpace(c) {
			return quote(id) + " contains a space or control character"
		}
	}
	return ""
}

func (h *Handler) listErrors(w http.ResponseWriter, r *http.Request) error {
	q, err := parseQuery(r.URL.RawQuery, errorParams)
	if err != nil {
		return err
	}
	limit, err := q.limit()
	if err != nil {
		return err
	}
	const listing = "GET /errors"
	token, err := h.cursors.open(listing, q.get(paramCursor))
	if err != nil {
		return err
	}
	page, err := h.store.ListErrors(r.Context(), limit, token)
	if err != nil {
		return fmt.Errorf("list errors: %w", err)
	}
	out := errorList{Items: make([]errorItem, len(page.Items))}
	for i, e := range page.Items {
		out.Items[i] = toErrorItem(e)
	}
	if page.Next != nil {
		out.NextCursor = h.cursors.seal(listing, page.Next)
	}
	return writeOK(w, r, out)
}
