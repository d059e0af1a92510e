package ui

import (
	"cmp"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/libs/events"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// runRow is a run as the pages and the script show it.
type runRow struct {
	ID, Source, Trigger string
	Status              store.RunStatus
	StartedAt           time.Time
	FinishedAt          time.Time
	Completed           bool
	Published           int
	PublishFailed       int
	Skipped             int
	Pages               int
	Unchanged           bool
	Processed, Failed   int
	DurationMs          int64
	Error               string
}

func toRunRow(r store.Run) runRow {
	return runRow{ID: r.ID, Source: r.Source, Trigger: r.Trigger, Status: r.Status(), StartedAt: r.StartedAt,
		FinishedAt: r.FinishedAt, Completed: r.Completed, Published: r.Published, PublishFailed: r.PublishFailed,
		Skipped: r.Skipped, Pages: r.Pages, Unchanged: r.Unchanged, Processed: r.Processed, Failed: r.Failed,
		DurationMs: r.DurationMs, Error: r.Error}
}

// Done is how many of the run's published events are disposed of.
func (r runRow) Done() int { return r.Processed + r.Failed }

// ProgressMax is the progress bar's maximum (a <progress> needs one above 0).
func (r runRow) ProgressMax() int { return max(1, r.Published) }

// Percent is the share of published events disposed of, as text.
func (r runRow) Percent() string {
	if r.Published == 0 {
		return "—"
	}
	return strconv.Itoa(min(100, 100*r.Done()/r.Published)) + " %"
}

// Running reports whether the script should follow the run.
func (r runRow) Running() bool { return r.Status == store.RunRunning }

type overviewView struct {
	Config
	Runs []runRow
	// RunsMore: the runs listing had more than OverviewRuns.
	RunsMore bool
	InFlight int
	// Films is the number of films that the latest completed run,
	// FilmsRun, published ("": no completed run among the latest).
	Films    int
	FilmsRun string
	// Open and Resolved count the failures among the Examined latest
	// ones; ErrorsMore: there are more.
	Open, Resolved, Examined int
	ErrorsMore               bool
	LatestErrors             []errorRow
	// Discover is how many runs the overview's table shows: the script
	// reads as many from GET /runs to add the runs started elsewhere.
	Discover int
	// Template is an empty run row for the script to clone.
	Template runRow
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseParams(r.URL.RawQuery); err != nil {
		return err
	}
	ctx := r.Context()
	runs, err := h.store.ListRuns(ctx, store.RunFilter{}, OverviewRuns, nil)
	if err != nil {
		return storeError("list runs", err)
	}
	errs, err := h.store.ListErrors(ctx, OverviewErrors, nil)
	if err != nil {
		return storeError("list errors", err)
	}
	v := overviewView{Config: h.cfg, RunsMore: runs.Next != nil, ErrorsMore: errs.Next != nil, Examined: len(errs.Items), Discover: OverviewRuns}
	for _, run := range runs.Items {
		row := toRunRow(run)
		v.Runs = append(v.Runs, row)
		if row.Running() {
			v.InFlight++
		}
		if v.FilmsRun == "" && row.Status == store.RunCompleted {
			v.Films, v.FilmsRun = row.Published, row.ID
		}
	}
	for i, e := range errs.Items {
		if e.Resolved.IsZero() {
			v.Open++
		} else {
			v.Resolved++
		}
		if i < 5 {
			v.LatestErrors = append(v.LatestErrors, toErrorRow(e))
		}
	}
	return h.render(w, r, http.StatusOK, "overview", page{Title: "Overview", Nav: OverviewPath, Data: v})
}

type moviesView struct {
	Year   int
	Movies []store.Movie
	// Next is the address of the next page, "" on the last.
	Next string
	// First: this is the first page.
	First bool
}

func (h *Handler) movies(w http.ResponseWriter, r *http.Request) error {
	p, err := parseParams(r.URL.RawQuery, paramYear, paramCursor)
	if err != nil {
		return err
	}
	year, err := p.year()
	if err != nil {
		return err
	}
	listing := "ui movies"
	if year != 0 {
		listing += "?year=" + strconv.Itoa(year)
	}
	token, err := h.token(p, listing)
	if err != nil {
		return err
	}
	page0, err := h.store.ListMovies(r.Context(), store.MovieFilter{Year: year}, MoviesPerPage, token)
	if err != nil {
		return storeError("list movies", err)
	}
	v := moviesView{Year: year, Movies: page0.Items, First: token == nil}
	// The store's order is its own (a Scan page on DynamoDB): sort this
	// page by rank, unranked last, as the page says.
	slices.SortStableFunc(v.Movies, func(a, b store.Movie) int {
		return cmp.Or(cmp.Compare(rankKey(a.Rank), rankKey(b.Rank)), cmp.Compare(a.Title, b.Title), cmp.Compare(a.ID, b.ID))
	})
	if page0.Next != nil {
		v.Next = pageURL(MoviesPath, paramYear, yearText(year), paramCursor, h.cursors.Seal(listing, page0.Next))
	}
	title := "Films"
	if year != 0 {
		title = "Films of " + strconv.Itoa(year)
	}
	return h.render(w, r, http.StatusOK, "movies", page{Title: title, Nav: MoviesPath, Data: v})
}

// rankKey sorts unranked films (rank 0) after the ranked ones.
func rankKey(rank int) int {
	if rank <= 0 {
		return int(^uint(0) >> 1)
	}
	return rank
}

func yearText(y int) string {
	if y == 0 {
		return ""
	}
	return strconv.Itoa(y)
}

// obsRow is a change point in a film's history table.
type obsRow struct {
	store.Observation
	// Changed names what differs from the change point before it.
	Changed string
}

type movieView struct {
	Movie store.Movie
	// History is newest first, as the table shows it.
	History       []obsRow
	Rating, Rank  *chart
	HistoryFailed bool
	// Older is the address of the older change points, "" if none.
	Older string
	// Latest: the page shows the newest change points.
	Latest bool
}

func (h *Handler) movie(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if !events.ValidMovieID(id) {
		return errNotFound("There is no film with this id.")
	}
	p, err := parseParams(r.URL.RawQuery, paramCursor)
	if err != nil {
		return err
	}
	listing := "ui history " + id
	token, err := h.token(p, listing)
	if err != nil {
		return err
	}
	ctx := r.Context()
	m, err := h.store.GetMovie(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("There is no film with this id.")
	}
	if err != nil {
		return storeError("get movie "+id, err)
	}
	v := movieView{Movie: m, Latest: token == nil}
	hist, err := h.store.ListHistory(ctx, id, store.HistoryFilter{}, HistoryPerPage, token)
	switch {
	case errors.Is(err, store.ErrBadToken):
		return storeError("list history", err)
	case err != nil:
		// The film is worth showing without its history; the failure is
		// logged and the page says the history could not be read.
		h.log.LogAttrs(ctx, slog.LevelError, "history unavailable", slog.String("movie_id", id), slog.String("error", err.Error()))
		v.HistoryFailed = true
	default:
		v.History = make([]obsRow, len(hist.Items))
		for i, o := range hist.Items {
			v.History[i] = obsRow{Observation: o}
			if i+1 < len(hist.Items) {
				v.History[i].Changed = changed(hist.Items[i+1], o)
			}
		}
		if hist.Next != nil {
			v.Older = pageURL(MoviesPath+"/"+id, paramCursor, h.cursors.Seal(listing, hist.Next))
		} else if len(hist.Items) > 0 {
			v.History[len(v.History)-1].Changed = "first observation"
		}
		v.Rating, v.Rank = historyCharts(hist.Items, m, token == nil)
	}
	return h.render(w, r, http.StatusOK, "movie", page{Title: m.Title, Nav: MoviesPath, Data: v})
}

// changed names what o changed from prev.
func changed(prev, o store.Observation) string {
	var out []string
	if prev.Rank != o.Rank {
		out = append(out, "rank")
	}
	if prev.Rating != o.Rating {
		out = append(out, "rating")
	}
	if prev.Votes != o.Votes {
		out = append(out, "votes")
	}
	return joinAnd(out)
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	out := s[0]
	for _, x := range s[1 : len(s)-1] {
		out += ", " + x
	}
	return out + " and " + s[len(s)-1]
}

// historyCharts draws the change points (newest first) as a rating and a
// rank chart. On the newest page the last value holds until the film's
// last observation.
func historyCharts(hist []store.Observation, m store.Movie, latest bool) (rating, rank *chart) {
	var rs, ks []sample
	for i := len(hist) - 1; i >= 0; i-- {
		o := hist[i]
		rs = append(rs, sample{At: o.ObservedAt, Value: o.Rating, Label: "rating " + formatRating(o.Rating)})
		if o.Rank > 0 {
			ks = append(ks, sample{At: o.ObservedAt, Value: float64(o.Rank), Label: "rank " + strconv.Itoa(o.Rank)})
		}
	}
	var end time.Time
	if latest {
		end = m.LastSeen
	}
	rating = newChart("rating", "Rating of "+m.Title+" over time", "Rating", rs, end, chartOptions{MinSpan: 0.4})
	rank = newChart("rank", "Rank of "+m.Title+" over time", "Rank", ks, end, chartOptions{Invert: true, Integer: true, MinSpan: 4})
	return rating, rank
}

type runsView struct {
	Status   store.RunStatus
	Statuses []store.RunStatus
	Runs     []runRow
	Next     string
	First    bool
	// Sparse: a filtered listing stopped before the page was full.
	Sparse bool
}

func (h *Handler) runs(w http.ResponseWriter, r *http.Request) error {
	p, err := parseParams(r.URL.RawQuery, paramStatus, paramCursor)
	if err != nil {
		return err
	}
	status, err := p.status()
	if err != nil {
		return err
	}
	listing := "ui runs?status=" + string(status)
	token, err := h.token(p, listing)
	if err != nil {
		return err
	}
	v := runsView{Status: status, Statuses: statuses, First: token == nil}
	// A filtered listing may return short pages: read on, a bounded
	// number of calls, until the page is full.
	for call := 0; ; call++ {
		pg, err := h.store.ListRuns(r.Context(), store.RunFilter{Status: status}, RunsPerPage-len(v.Runs), token)
		if err != nil {
			return storeError("list runs", err)
		}
		for _, run := range pg.Items {
			v.Runs = append(v.Runs, toRunRow(run))
		}
		token = pg.Next
		if token == nil || len(v.Runs) >= RunsPerPage {
			break
		}
		if call+1 == runsCallsPerPage {
			v.Sparse = true
			break
		}
	}
	if token != nil {
		v.Next = pageURL(RunsPath, paramStatus, string(status), paramCursor, h.cursors.Seal(listing, token))
	}
	title := "Runs"
	if status != "" {
		title = "Runs: " + string(status)
	}
	return h.render(w, r, http.StatusOK, "runs", page{Title: title, Nav: RunsPath, Data: v})
}

type runView struct {
	Run runRow
}

func (h *Handler) run(w http.ResponseWriter, r *http.Request) error {
	if _, err := parseParams(r.URL.RawQuery); err != nil {
		return err
	}
	id := r.PathValue("id")
	run, err := h.store.GetRun(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalid) {
		return errNotFound("There is no run with this id.")
	}
	if err != nil {
		return storeError("get run", err)
	}
	return h.render(w, r, http.StatusOK, "run", page{Title: "Run " + id, Nav: RunsPath, Data: runView{Run: toRunRow(run)}})
}

// errorRow is a failed record as the pages show it.
type errorRow struct {
	store.ErrorItem
	Preview preview
}

func toErrorRow(e store.ErrorItem) errorRow {
	return errorRow{ErrorItem: e, Preview: newPreview(e.Payload, max(e.PayloadSize, len(e.Payload)))}
}

type errorsView struct {
	Errors []errorRow
	Next   string
	First  bool
}

func (h *Handler) errorsPage(w http.ResponseWriter, r *http.Request) error {
	p, err := parseParams(r.URL.RawQuery, paramCursor)
	if err != nil {
		return err
	}
	const listing = "ui errors"
	token, err := h.token(p, listing)
	if err != nil {
		return err
	}
	pg, err := h.store.ListErrors(r.Context(), ErrorsPerPage, token)
	if err != nil {
		return storeError("list errors", err)
	}
	v := errorsView{First: token == nil}
	for _, e := range pg.Items {
		v.Errors = append(v.Errors, toErrorRow(e))
	}
	if pg.Next != nil {
		v.Next = pageURL(ErrorsPath, paramCursor, h.cursors.Seal(listing, pg.Next))
	}
	return h.render(w, r, http.StatusOK, "errors", page{Title: "Errors", Nav: ErrorsPath, Data: v})
}
