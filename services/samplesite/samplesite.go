package samplesite

import (
	"net/http"
	"net/url"
	"strconv"
	"sync"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// Routes are the site's routes, as API Gateway route keys and ServeMux
// patterns. The index is listed as "GET /site" because API Gateway route
// paths cannot end in "/" (it routes "/site/" to "/site"); the handler
// serves both.
var Routes = []contract.Route{
	{Method: http.MethodGet, Path: RobotsPath},
	{Method: http.MethodGet, Path: IndexPath},
	{Method: http.MethodGet, Path: ChartPath},
	{Method: http.MethodGet, Path: FilmPathPrefix + "{id}"},
	{Method: http.MethodGet, Path: StylePath},
}

// Options configures New.
type Options struct {
	// Knobs enables the test knobs (query parameters such as slow=,
	// status=, huge=; see the package doc). Devstack and tests turn them
	// on; the deployed Lambda leaves them off, and then the parameters are
	// ignored like any unknown query parameter.
	Knobs bool
}

// site is the handler behind New. Pages are rendered once (detail pages
// on first request, to keep a Lambda cold start short) and never change;
// only the flaky counters are mutable.
type site struct {
	opts      Options
	mux       *http.ServeMux
	robots    *resource
	style     *resource
	index     *resource
	chart     [Pages + 1]*resource // 1-based
	malformed [Pages + 1]*resource // 1-based
	films     map[string]*lazyResource
	notFound  *resource
	huge      hugePage
	flaky     flakyCounter
}

// New returns the sample site's handler. It serves Routes (and "/site/"),
// answers 404 with an HTML page elsewhere and 405 for other methods on the
// routes. It is safe for concurrent use; the dataset is embedded, so New
// cannot fail.
func New(opts Options) http.Handler {
	films := dataset
	s := &site{
		opts:     opts,
		robots:   newResource(typePlain, cacheRobots, robotsTxt()),
		style:    newResource(typeCSS, cacheStatic, styleCSS),
		index:    newResource(typeHTML, cachePage, renderIndex(films)),
		films:    make(map[string]*lazyResource, len(films)),
		notFound: newResource(typeHTML, cacheNoStore, renderNotFound("There is no page at this address.")),
	}
	for p := 1; p <= Pages; p++ {
		s.chart[p] = newResource(typeHTML, cachePage, renderChart(films, p))
		s.malformed[p] = newResource(typeHTML, cacheNoStore, renderMalformed(films, p))
	}
	for i, f := range films {
		s.films[f.ID] = &lazyResource{build: func() *resource {
			return newResource(typeHTML, cachePage, renderFilm(films, i))
		}}
	}
	s.huge = newHugePage(s.chart[1].body)

	s.mux = http.NewServeMux()
	handlers := map[string]http.HandlerFunc{
		RobotsPath:              s.knobbed(false, s.serveRobots),
		IndexPath:               s.knobbed(false, s.serveIndex),
		ChartPath:               s.knobbed(true, s.serveChart),
		FilmPathPrefix + "{id}": s.knobbed(false, s.serveFilm),
		StylePath:               s.knobbed(false, s.serveStyle),
	}
	for _, r := range Routes {
		s.mux.Handle(r.Pattern(), handlers[r.Path])
	}
	s.mux.Handle("GET "+IndexPath+"/{$}", handlers[IndexPath])
	return s
}

// ServeHTTP routes the request; a path that no route knows, whatever the
// method, gets the HTML 404 page rather than the mux's plain one.
func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		get := r.Clone(r.Context())
		get.Method = http.MethodGet
		if _, pattern := s.mux.Handler(get); pattern == "" {
			s.serveNotFound(w, r)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// route picks the resource for a request, or writes an error response
// itself and returns nil.
type route func(w http.ResponseWriter, r *http.Request) *resource

// knobbed wraps a route with the test knobs (when enabled). The order is
// slow, redirects, flaky/status, then the route and the content knobs
// (malformed, huge, ctype, stall).
func (s *site) knobbed(chart bool, rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if !s.opts.Knobs || !hasKnobs(q) {
			if res := rt(w, r); res != nil {
				serveResource(w, r, res, 0)
			}
			return
		}
		k, err := parseKnobs(q, chart, s.huge.min())
		if err != nil {
			plainError(w, http.StatusBadRequest, err.Error())
			return
		}
		if sleep(r.Context(), k.slow) != nil {
			return // the client gave up; nobody reads an answer
		}
		if k.redirects > 0 {
			redirect(w, r, q, k.redirects-1)
			return
		}
		if fail, err := s.shouldFail(r, q, k); err != nil {
			plainError(w, http.StatusBadRequest, err.Error())
			return
		} else if fail {
			status := k.status
			if status == 0 {
				status = http.StatusServiceUnavailable
			}
			if k.hasRetryAfter {
				w.Header().Set("Retry-After", strconv.Itoa(k.retryAfter))
			}
			plainError(w, status, "simulated failure: "+strconv.Itoa(status)+" "+http.StatusText(status))
			return
		}
		res := rt(w, r)
		if res == nil {
			return
		}
		if k.huge > 0 {
			ctype := typeHTML
			if k.ctype != "" {
				ctype = k.ctype
			}
			s.huge.serve(w, r, k.huge, ctype)
			return
		}
		if k.malformed {
			res = s.malformed[chartPage(r)]
		}
		if k.ctype != "" {
			res = newResource(k.ctype, cacheNoStore, res.body)
		}
		serveResource(w, r, res, k.stall)
	}
}

// shouldFail applies status= and flaky=: without flaky, status always
// fails; with flaky=n, the first n requests for this URL fail (with status,
// default 503) and later ones go through.
func (s *site) shouldFail(r *http.Request, q url.Values, k knobs) (bool, error) {
	if k.flaky == 0 {
		return k.status != 0, nil
	}
	n, err := s.flaky.next(r.URL.Path + "?" + q.Encode())
	if err != nil {
		return false, err
	}
	return n <= k.flaky, nil
}

// redirect answers 302 to the same URL with redirects=left (dropped at 0).
func redirect(w http.ResponseWriter, r *http.Request, q url.Values, left int) {
	next := url.Values{}
	for k, v := range q {
		next[k] = v
	}
	if left > 0 {
		next.Set(knobRedirects, strconv.Itoa(left))
	} else {
		next.Del(knobRedirects)
	}
	loc := r.URL.Path
	if enc := next.Encode(); enc != "" {
		loc += "?" + enc
	}
	h := w.Header()
	h.Set("Location", loc)
	h.Set("Cache-Control", cacheNoStore)
	h.Set("Content-Type", typePlain)
	w.WriteHeader(http.StatusFound)
	w.Write([]byte("redirecting to " + loc + "\n"))
}

func (s *site) serveRobots(http.ResponseWriter, *http.Request) *resource { return s.robots }
func (s *site) serveStyle(http.ResponseWriter, *http.Request) *resource  { return s.style }
func (s *site) serveIndex(http.ResponseWriter, *http.Request) *resource  { return s.index }

// chartPage is the validated page number; serveChart has checked it.
func chartPage(r *http.Request) int {
	p, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil {
		return 1
	}
	return p
}

func (s *site) serveChart(w http.ResponseWriter, r *http.Request) *resource {
	q := r.URL.Query()
	vs, ok := q["page"]
	if !ok {
		return s.chart[1]
	}
	p, err := strconv.Atoi(vs[0])
	if len(vs) > 1 || err != nil {
		plainError(w, http.StatusBadRequest, "page: want one integer between 1 and "+strconv.Itoa(Pages))
		return nil
	}
	if p < 1 || p > Pages {
		s.serveNotFound(w, r)
		return nil
	}
	return s.chart[p]
}

func (s *site) serveFilm(w http.ResponseWriter, r *http.Request) *resource {
	if l, ok := s.films[r.PathValue("id")]; ok {
		return l.get()
	}
	s.serveNotFound(w, r)
	return nil
}

func (s *site) serveNotFound(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", s.notFound.contentType)
	h.Set("Cache-Control", cacheNoStore)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(s.notFound.body)))
	w.WriteHeader(http.StatusNotFound)
	w.Write(s.notFound.body)
}

// lazyResource builds its resource on first use, once, for any number of
// concurrent callers.
type lazyResource struct {
	once  sync.Once
	build func() *resource
	res   *resource
}

func (l *lazyResource) get() *resource {
	l.once.Do(func() { l.res = l.build() })
	return l.res
}
