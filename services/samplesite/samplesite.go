package samplesite

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// Options configures New.
type Options struct {
	// Knobs enables the test knobs (query parameters such as slow=,
	// status=, huge=; see the package doc). Devstack and tests turn them
	// on; the deployed Lambda leaves them off, and then the parameters are
	// ignored like any unknown query parameter.
	Knobs bool
	// Drift is how often the chart moves (see the Drift type): 0 freezes
	// it, so that every page is the same bytes forever; otherwise at least
	// MinDrift (CheckDrift), or New panics.
	Drift time.Duration
	// Seed picks the drifting chart's history (Drift.Seed).
	Seed int64
	// Now is the clock that picks a request's period; nil means time.Now.
	// Tests drive it to cross period boundaries. A frozen site never calls
	// it.
	Now func() time.Time
}

// site is the handler behind New. The static resources are built once;
// the pages of a period live in its view, built on the period's first
// request and rendered page by page on first use. Only the current views
// and the flaky counters are mutable.
type site struct {
	opts   Options
	drift  Drift
	now    func() time.Time
	mux    *http.ServeMux
	robots *resource
	style  *resource
	flaky  flakyCounter
	views  viewCache
}

// New returns the sample site's handler. It serves
// contract.SampleSiteRoutes (and "/site/"), answers 404 with an HTML page
// elsewhere and 405 for other methods on the routes. It is safe for
// concurrent use. The dataset is embedded, so New cannot fail; it panics
// on a Drift that CheckDrift refuses, a programming error
// (Config.Validate and devstack's flags check values from outside).
func New(opts Options) http.Handler {
	if err := CheckDrift(opts.Drift); err != nil {
		panic("samplesite: Options.Drift " + err.Error())
	}
	s := &site{
		opts:   opts,
		drift:  Drift{Every: opts.Drift, Seed: opts.Seed},
		now:    opts.Now,
		robots: newResource(typePlain, cacheRobots, robotsTxt()),
		style:  newResource(typeCSS, cacheStatic, styleCSS),
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.drift.Frozen() {
		s.views.get(s.drift, 0) // the only view, built once
	}

	s.mux = http.NewServeMux()
	handlers := map[string]http.HandlerFunc{
		RobotsPath:              s.knobbed(false, s.serveRobots),
		IndexPath:               s.knobbed(false, s.serveIndex),
		ChartPath:               s.knobbed(true, s.serveChart),
		FilmPathPrefix + "{id}": s.knobbed(false, s.serveFilm),
		StylePath:               s.knobbed(false, s.serveStyle),
	}
	for _, r := range contract.SampleSiteRoutes() {
		h, ok := handlers[r.Path]
		if !ok { // the contract and this file disagree: TestRoutes fails
			panic("samplesite: no handler for route " + r.Key())
		}
		s.mux.Handle(r.Pattern(), h)
	}
	s.mux.Handle("GET "+IndexPath+"/{$}", handlers[IndexPath])
	return s
}

// request is the moment a request arrived and the view of its period:
// every page of one response comes from that one period.
func (s *site) request() (time.Time, *view) {
	if s.drift.Frozen() {
		return time.Time{}, s.views.get(s.drift, 0)
	}
	now := s.now()
	return now, s.views.get(s.drift, s.drift.Period(now))
}

// ServeHTTP routes the request; a path that no route knows, whatever the
// method, gets the HTML 404 page rather than the mux's plain one.
func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		get := r.Clone(r.Context())
		get.Method = http.MethodGet
		if _, pattern := s.mux.Handler(get); pattern == "" {
			_, v := s.request()
			serveNotFound(w, v)
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// route picks the resource for a request from the view of its period, or
// writes an error response itself and returns nil.
type route func(w http.ResponseWriter, r *http.Request, v *view) *resource

// knobbed wraps a route with the test knobs (when enabled). The order is
// slow, redirects, flaky/status, then the route and the content knobs
// (malformed, huge, ctype, stall).
func (s *site) knobbed(chart bool, rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		now, v := s.request()
		q := r.URL.Query()
		if !s.opts.Knobs || !hasKnobs(q) {
			if res := rt(w, r, v); res != nil {
				serveResource(w, r, res, now, 0)
			}
			return
		}
		var hugeMin int64
		if chart && q.Has(knobHuge) {
			hugeMin = v.huge().min() // renders chart page 1: only when asked for
		}
		k, err := parseKnobs(q, chart, hugeMin)
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
		res := rt(w, r, v)
		if res == nil {
			return
		}
		if k.huge > 0 {
			ctype := typeHTML
			if k.ctype != "" {
				ctype = k.ctype
			}
			v.huge().serve(w, r, k.huge, ctype)
			return
		}
		if k.malformed {
			res = v.malformedPage(chartPage(r))
		}
		if k.ctype != "" {
			res = res.withType(k.ctype)
		}
		serveResource(w, r, res, now, k.stall)
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

func (s *site) serveRobots(http.ResponseWriter, *http.Request, *view) *resource { return s.robots }
func (s *site) serveStyle(http.ResponseWriter, *http.Request, *view) *resource  { return s.style }
func (s *site) serveIndex(_ http.ResponseWriter, _ *http.Request, v *view) *resource {
	return v.indexPage()
}

// chartPage is the validated page number; serveChart has checked it.
func chartPage(r *http.Request) int {
	p, err := strconv.Atoi(r.URL.Query().Get("page"))
	if err != nil {
		return 1
	}
	return p
}

func (s *site) serveChart(w http.ResponseWriter, r *http.Request, v *view) *resource {
	q := r.URL.Query()
	vs, ok := q["page"]
	if !ok {
		return v.chartPage(1)
	}
	p, err := strconv.Atoi(vs[0])
	if len(vs) > 1 || err != nil {
		plainError(w, http.StatusBadRequest, "page: want one integer between 1 and "+strconv.Itoa(Pages))
		return nil
	}
	if p < 1 || p > Pages {
		serveNotFound(w, v)
		return nil
	}
	return v.chartPage(p)
}

func (s *site) serveFilm(w http.ResponseWriter, r *http.Request, v *view) *resource {
	if i, ok := datasetIndex[r.PathValue("id")]; ok {
		return v.filmPage(i)
	}
	serveNotFound(w, v)
	return nil
}

func serveNotFound(w http.ResponseWriter, v *view) {
	res := v.notFoundPage()
	h := w.Header()
	h.Set("Content-Type", res.contentType)
	h.Set("Cache-Control", cacheNoStore)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Length", strconv.Itoa(len(res.body)))
	w.WriteHeader(http.StatusNotFound)
	w.Write(res.body)
}
