package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// ErrDiffer: Verify found differences between the rebuilt and the live
// tables.
var ErrDiffer = errors.New("the rebuilt tables differ from the live ones")

// Kinds of items Verify compares.
const (
	KindMovie   = "movie"
	KindRun     = "run"
	KindHistory = "history"
	KindError   = "error"
)

// Difference is one item that is not the same on both sides.
type Difference struct {
	// Kind is KindMovie, KindRun, KindHistory (a movie's history) or
	// KindError; ID the movie, run or error item id.
	Kind, ID string
	// Only is "live" or "rebuilt" when the item is on that side only;
	// empty when both have it.
	Only string
	// Diff is the difference (-live +rebuilt), or the item when it is on
	// one side only.
	Diff string
}

// Counts are the items of one kind Verify compared.
type Counts struct {
	Live, Rebuilt                 int
	Differ, OnlyLive, OnlyRebuilt int
}

// VerifyReport is what Verify found.
type VerifyReport struct {
	// Movies, Runs, History (movies whose history was compared) and
	// Errors (open error items) count the items of each kind.
	Movies, Runs, History, Errors Counts
	// Differences lists every difference, in kind order, then id order.
	Differences []Difference
}

// Same reports whether no difference was found.
func (v VerifyReport) Same() bool { return len(v.Differences) == 0 }

// What Verify compares: only what the events decide. Processing leaves
// marks too — an error item's times and attempts, progress markers,
// leases, page states, a run's start time and trigger as the scraper
// wrote them before publishing anything — and those are not in the
// archive.

// runFacts are the fields of a run that its events decide: its trigger
// (scrape.started), scrape.completed's counts and the processor's
// counters. StartedAt is left out: the scraper writes it itself when the
// run starts (its own clock, before scrape.started is published), so a
// live run's start time is not its event's.
type runFacts struct {
	Source        string
	Trigger       string
	FinishedAt    time.Time
	Completed     bool
	Published     int
	PublishFailed int
	Skipped       int
	Pages         int
	Unchanged     bool
	DurationMs    int64
	Error         string
	Processed     int
	Failed        int
	Status        store.RunStatus
}

func factsOfRun(r store.Run) runFacts {
	return runFacts{
		Source: r.Source, Trigger: r.Trigger, FinishedAt: r.FinishedAt, Completed: r.Completed, Published: r.Published,
		PublishFailed: r.PublishFailed, Skipped: r.Skipped, Pages: r.Pages, Unchanged: r.Unchanged,
		DurationMs: r.DurationMs, Error: r.Error, Processed: r.Processed, Failed: r.Failed, Status: r.Status(),
	}
}

// errorFacts are the fields of an open error item that its record
// decides: where and why it failed, and the record. Its times, attempts
// and the stream's ARN (not in the archive) are left out.
type errorFacts struct {
	Stage          store.Stage
	Reason         string
	EventID        string
	RunID          string
	ShardID        string
	SequenceNumber string
	PartitionKey   string
	PayloadSize    int
	// Payload is text when it is valid UTF-8, so that a diff reads.
	Payload string
}

func factsOfError(e store.ErrorItem) errorFacts {
	return errorFacts{
		Stage: e.Stage, Reason: e.Reason, EventID: e.EventID, RunID: e.RunID, ShardID: e.ShardID,
		SequenceNumber: e.SequenceNumber, PartitionKey: e.PartitionKey, PayloadSize: e.PayloadSize,
		Payload: string(e.Payload),
	}
}

// pageLimit is the page size of every listing Verify reads.
const pageLimit = 1000

// verify compares rebuilt with live.
func verify(ctx context.Context, live, rebuilt store.Store) (VerifyReport, error) {
	var rep VerifyReport

	// Movies, and the set of movies whose history to compare.
	lm, err := allMovies(ctx, live)
	if err != nil {
		return rep, fmt.Errorf("live: %w", err)
	}
	rm, err := allMovies(ctx, rebuilt)
	if err != nil {
		return rep, fmt.Errorf("rebuilt: %w", err)
	}
	rep.Movies = compare(&rep, KindMovie, lm, rm, func(m store.Movie) any { return m })

	// History of every movie either side has, one movie at a time (a
	// movie's history is all its change points: thousands, for a chart
	// scraped all year).
	for _, id := range slices.Sorted(maps.Keys(union(lm, rm))) {
		l, err := allHistory(ctx, live, id)
		if err != nil {
			return rep, fmt.Errorf("live: %w", err)
		}
		r, err := allHistory(ctx, rebuilt, id)
		if err != nil {
			return rep, fmt.Errorf("rebuilt: %w", err)
		}
		lh, rh := map[string][]store.Observation{}, map[string][]store.Observation{}
		if len(l) > 0 {
			lh[id] = l
		}
		if len(r) > 0 {
			rh[id] = r
		}
		c := compare(&rep, KindHistory, lh, rh, func(o []store.Observation) any { return o })
		rep.History.Live += c.Live
		rep.History.Rebuilt += c.Rebuilt
		rep.History.Differ += c.Differ
		rep.History.OnlyLive += c.OnlyLive
		rep.History.OnlyRebuilt += c.OnlyRebuilt
	}

	// Runs: those listed (a start time) on either side, each looked up on
	// the other side too (a run the processor counted events for but
	// never saw start is not listed).
	lr, err := allRuns(ctx, live)
	if err != nil {
		return rep, fmt.Errorf("live: %w", err)
	}
	rr, err := allRuns(ctx, rebuilt)
	if err != nil {
		return rep, fmt.Errorf("rebuilt: %w", err)
	}
	if err := lookUpMissing(ctx, live, lr, rr); err != nil {
		return rep, fmt.Errorf("live: %w", err)
	}
	if err := lookUpMissing(ctx, rebuilt, rr, lr); err != nil {
		return rep, fmt.Errorf("rebuilt: %w", err)
	}
	rep.Runs = compare(&rep, KindRun, lr, rr, func(r store.Run) any { return factsOfRun(r) })

	// Open error items, with their whole payloads.
	le, err := openErrors(ctx, live)
	if err != nil {
		return rep, fmt.Errorf("live: %w", err)
	}
	re, err := openErrors(ctx, rebuilt)
	if err != nil {
		return rep, fmt.Errorf("rebuilt: %w", err)
	}
	rep.Errors = compare(&rep, KindError, le, re, func(e store.ErrorItem) any { return factsOfError(e) })
	return rep, nil
}

// compare adds the differences between the items of one kind to rep, in
// id order, and returns the counts. facts gives what is compared of an
// item.
func compare[T any](rep *VerifyReport, kind string, live, rebuilt map[string]T, facts func(T) any) Counts {
	c := Counts{Live: len(live), Rebuilt: len(rebuilt)}
	for _, id := range slices.Sorted(maps.Keys(union(live, rebuilt))) {
		l, inLive := live[id]
		r, inRebuilt := rebuilt[id]
		switch {
		case !inRebuilt:
			c.OnlyLive++
			rep.Differences = append(rep.Differences, Difference{Kind: kind, ID: id, Only: "live", Diff: cmp.Diff(facts(l), nil)})
		case !inLive:
			c.OnlyRebuilt++
			rep.Differences = append(rep.Differences, Difference{Kind: kind, ID: id, Only: "rebuilt", Diff: cmp.Diff(nil, facts(r))})
		default:
			if d := cmp.Diff(facts(l), facts(r)); d != "" {
				c.Differ++
				rep.Differences = append(rep.Differences, Difference{Kind: kind, ID: id, Diff: d})
			}
		}
	}
	return c
}

func union[T any](a, b map[string]T) map[string]bool {
	u := make(map[string]bool, len(a)+len(b))
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

func allMovies(ctx context.Context, s store.Store) (map[string]store.Movie, error) {
	out := map[string]store.Movie{}
	var token store.PageToken
	for {
		page, err := s.ListMovies(ctx, store.MovieFilter{}, pageLimit, token)
		if err != nil {
			return nil, err
		}
		for _, m := range page.Items {
			out[m.ID] = m
		}
		if token = page.Next; token == nil {
			return out, nil
		}
	}
}

func allHistory(ctx context.Context, s store.Store, movieID string) ([]store.Observation, error) {
	var out []store.Observation
	var token store.PageToken
	for {
		page, err := s.ListHistory(ctx, movieID, store.HistoryFilter{}, pageLimit, token)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Items...)
		if token = page.Next; token == nil {
			return out, nil
		}
	}
}

func allRuns(ctx context.Context, s store.Store) (map[string]store.Run, error) {
	out := map[string]store.Run{}
	var token store.PageToken
	for {
		page, err := s.ListRuns(ctx, store.RunFilter{}, pageLimit, token)
		if err != nil {
			return nil, err
		}
		for _, r := range page.Items {
			out[r.ID] = r
		}
		if token = page.Next; token == nil {
			return out, nil
		}
	}
}

// lookUpMissing adds to runs those of other that s has but does not list.
func lookUpMissing(ctx context.Context, s store.Store, runs, other map[string]store.Run) error {
	for id := range other {
		if _, ok := runs[id]; ok {
			continue
		}
		r, err := s.GetRun(ctx, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			runs[id] = r
		}
	}
	return nil
}

// openErrors returns the unresolved error items with their whole
// payloads. Resolved items are left out: a redrive fixed their records,
// which a replay with today's code projects without an error.
func openErrors(ctx context.Context, s store.Store) (map[string]store.ErrorItem, error) {
	out := map[string]store.ErrorItem{}
	var token store.PageToken
	for {
		page, err := s.ListErrors(ctx, pageLimit, token)
		if err != nil {
			return nil, err
		}
		for _, e := range page.Items {
			if !e.Resolved.IsZero() {
				continue
			}
			if len(e.Payload) < e.PayloadSize {
				full, err := s.GetError(ctx, e.ID)
				if errors.Is(err, store.ErrNotFound) {
					continue // expired since it was listed
				}
				if err != nil {
					return nil, err
				}
				e = full
			}
			out[e.ID] = e
		}
		if token = page.Next; token == nil {
			return out, nil
		}
	}
}

// print writes the counts and the first maxDiffs differences to w.
func (v VerifyReport) print(w io.Writer, liveDesc, rebuiltDesc string, maxDiffs int) {
	fmt.Fprintf(w, "verify: rebuilt %s against live %s\n", rebuiltDesc, liveDesc)
	for _, k := range []struct {
		name string
		c    Counts
	}{{"movies", v.Movies}, {"runs", v.Runs}, {"history", v.History}, {"errors", v.Errors}} {
		fmt.Fprintf(w, "  %-8s %6d live, %6d rebuilt: %d differ, %d only live, %d only rebuilt\n",
			k.name, k.c.Live, k.c.Rebuilt, k.c.Differ, k.c.OnlyLive, k.c.OnlyRebuilt)
	}
	if v.Same() {
		fmt.Fprintln(w, "verify: the same")
		return
	}
	for i, d := range v.Differences {
		if i == maxDiffs {
			fmt.Fprintf(w, "… and %d more differences\n", len(v.Differences)-maxDiffs)
			break
		}
		where := "differs (-live +rebuilt)"
		if d.Only != "" {
			where = "only in the " + d.Only + " tables"
		}
		fmt.Fprintf(w, "%s %s %s:\n%s", d.Kind, d.ID, where, indent(d.Diff))
	}
	if hint := v.hint(); hint != "" {
		fmt.Fprintln(w, hint)
	}
	fmt.Fprintf(w, "verify: %d differences\n", len(v.Differences))
}

// hint explains the commonest cause of differences: records the live
// pipeline could not process in time (retries exhausted), which a replay
// with today's code projects.
func (v VerifyReport) hint() string {
	for _, d := range v.Differences {
		if d.Kind == KindError && d.Only == "live" && strings.Contains(d.Diff, string(store.StageRetriesExhausted)) {
			return "hint: the live tables hold open errors of records whose retries ran out; redrive them (--redrive on the live tables) and verify again"
		}
	}
	return ""
}

func indent(s string) string {
	var b strings.Builder
	for line := range strings.Lines(s) {
		b.WriteString("  ")
		b.WriteString(line)
	}
	if !strings.HasSuffix(s, "\n") {
		b.WriteString("\n")
	}
	return b.String()
}
