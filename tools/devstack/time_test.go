package main

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/scrape-pipeline/scrape-pipeline/services/samplesite"
)

// filmValues are what a history point records of a film: what moves with
// the chart.
type filmValues struct {
	Rank   int
	Rating float64
	Votes  int
}

// chartRead is a run that read the sample site's chart (one that found it
// unchanged read nothing): its pages were fetched between its start and
// its end, so in the drift periods First to Last.
type chartRead struct {
	Run         apiRun
	First, Last int64
}

// chartReads returns the runs that read the chart, oldest first.
func chartReads(d samplesite.Drift, runs []apiRun) []chartRead {
	var out []chartRead
	for _, r := range runs {
		if r.Published == 0 {
			continue
		}
		out = append(out, chartRead{Run: r, First: d.Period(r.StartedAt), Last: d.Period(r.FinishedAt)})
	}
	slices.SortFunc(out, func(a, b chartRead) int { return a.Run.StartedAt.Compare(b.Run.StartedAt) })
	return out
}

// chartCache is the drifting chart of each period, by film id.
type chartCache struct {
	d      samplesite.Drift
	charts map[int64]map[string]filmValues
}

func newChartCache(d samplesite.Drift) *chartCache {
	return &chartCache{d: d, charts: map[int64]map[string]filmValues{}}
}

// at is what the chart of period p shows of film id.
func (c *chartCache) at(p int64, id string) (filmValues, bool) {
	chart, ok := c.charts[p]
	if !ok {
		chart = map[string]filmValues{}
		for _, f := range c.d.Films(p) {
			chart[f.ID] = filmValues{Rank: f.Rank, Rating: f.Rating(), Votes: f.Votes}
		}
		c.charts[p] = chart
	}
	v, ok := chart[id]
	return v, ok
}

// historyProblems compares film id's history (GET /movies/{id}/history,
// newest first) with what the drift predicts for reads, the runs that read
// the chart, oldest first. It returns every problem found.
//
// A point records a run's observation that differs from the point before
// it. So each point belongs to one of reads, in their order; its values
// are those of the chart in a period its run read the chart in; they
// differ from the point before. A run that read the chart within one
// period read every film as that period's chart shows it: it has a point
// exactly when that differs from the point before. A run whose pages
// straddle a period boundary may have read a film in either period, or
// missed it (the film moved to a page already read): only its points are
// checked.
func historyProblems(charts *chartCache, reads []chartRead, id string, newestFirst []apiPoint) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, id+": "+fmt.Sprintf(format, args...)) }
	index := map[string]int{}
	for i, r := range reads {
		index[r.Run.ID] = i
	}
	points := slices.Clone(newestFirst)
	slices.Reverse(points)
	byRun := map[string]apiPoint{}
	last := -1
	for _, p := range points {
		i, ok := index[p.RunID]
		switch {
		case !ok:
			bad("a point of run %q, which did not read the chart: %+v", p.RunID, p)
		case i <= last:
			bad("a point of run %s after one of a later run, or twice: want oldest last, one per run", p.RunID)
		default:
			last = i
			byRun[p.RunID] = p
		}
	}
	var prev *filmValues
	for _, r := range reads {
		var shown []filmValues
		for p := r.First; p <= r.Last; p++ {
			if v, ok := charts.at(p, id); ok && !slices.Contains(shown, v) {
				shown = append(shown, v)
			}
		}
		p, ok := byRun[r.Run.ID]
		if ok {
			got := filmValues{Rank: p.Rank, Rating: p.Rating, Votes: p.Votes}
			if !slices.Contains(shown, got) {
				bad("run %s (periods %d..%d) recorded %+v; the chart showed %+v", r.Run.ID, r.First, r.Last, got, shown)
			}
			if prev != nil && *prev == got {
				bad("run %s recorded %+v, the same as the point before: not a change", r.Run.ID, got)
			}
			if p.ObservedAt.Before(r.Run.StartedAt) || p.ObservedAt.After(r.Run.FinishedAt) {
				bad("run %s's point observed at %s, outside the run (%s to %s)", r.Run.ID, p.ObservedAt, r.Run.StartedAt, r.Run.FinishedAt)
			}
			prev = &got
			continue
		}
		if r.First == r.Last {
			switch {
			case len(shown) == 0:
				bad("not on the chart of period %d", r.First)
			case prev == nil:
				bad("no point of run %s (period %d), the first to read the chart: it showed %+v", r.Run.ID, r.First, shown[0])
			case *prev != shown[0]:
				bad("no point of run %s (period %d): the chart showed %+v, the point before is %+v", r.Run.ID, r.First, shown[0], *prev)
			}
		}
	}
	return problems
}

// TestHistoryProblems: the history check finds every way a history can
// differ from the drift's prediction, and passes the predicted one.
func TestHistoryProblems(t *testing.T) {
	d := samplesite.Drift{Every: 2 * time.Second}
	charts := newChartCache(d)
	at := func(p int64, id string) filmValues {
		v, ok := charts.at(p, id)
		if !ok {
			t.Fatalf("%s not on the chart of period %d", id, p)
		}
		return v
	}
	// A film that changes from period p to p+1 and not from p+1 to p+2.
	var id string
	var p int64
	for p = d.Period(time.Date(2026, time.May, 4, 12, 0, 0, 0, time.UTC)); id == ""; p++ {
		for _, f := range d.Films(p) {
			if a, b, c := at(p, f.ID), at(p+1, f.ID), at(p+2, f.ID); a != b && b == c {
				id = f.ID
				break
			}
		}
	}
	p-- // the loop's increment ran once more
	read := func(name string, first, last int64) chartRead {
		start := d.Start(first).Add(100 * time.Millisecond)
		end := d.Start(last).Add(900 * time.Millisecond)
		return chartRead{Run: apiRun{ID: name, StartedAt: start, FinishedAt: end}, First: first, Last: last}
	}
	point := func(r chartRead, v filmValues) apiPoint {
		return apiPoint{ObservedAt: r.Run.StartedAt.Add(300 * time.Millisecond), RunID: r.Run.ID, EventID: "e-" + r.Run.ID,
			Rank: v.Rank, Rating: v.Rating, Votes: v.Votes}
	}
	r1, r2, r3 := read("r1", p, p), read("r2", p+1, p+1), read("r3", p+2, p+2)
	reads := []chartRead{r1, r2, r3}
	good := []apiPoint{point(r2, at(p+1, id)), point(r1, at(p, id))} // newest first
	wrong := at(p+1, id)
	wrong.Votes++
	late := point(r2, at(p+1, id))
	late.ObservedAt = r2.Run.FinishedAt.Add(time.Millisecond)
	straddling := read("r2", p+1, p+2)

	tests := []struct {
		name        string
		reads       []chartRead
		points      []apiPoint
		wantProblem bool
	}{
		{"as predicted", reads, good, false},
		{"a run across a boundary may miss the film", []chartRead{r1, straddling, read("r3", p+2, p+2)},
			[]apiPoint{point(r3, at(p+2, id)), point(r1, at(p, id))}, false},
		{"the change missing", reads, good[1:], true},
		{"no point at all", reads, nil, true},
		{"a point that is no change", reads, append([]apiPoint{point(r3, at(p+2, id))}, good...), true},
		{"values the chart never showed", reads, []apiPoint{point(r2, wrong), good[1]}, true},
		{"oldest first", reads, []apiPoint{good[1], good[0]}, true},
		{"a run's point twice", reads, []apiPoint{good[0], good[0], good[1]}, true},
		{"a point of another run", reads, append([]apiPoint{point(read("other", p+2, p+2), at(p+2, id))}, good...), true},
		{"observed after its run ended", reads, []apiPoint{late, good[1]}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			problems := historyProblems(charts, tc.reads, id, tc.points)
			if got := len(problems) > 0; got != tc.wantProblem {
				t.Errorf("problems %q, want some: %v", problems, tc.wantProblem)
			}
		})
	}
}
