package samplesite

import (
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// t2026 is a moment in the middle of an hour and of a minute.
var t2026 = time.Date(2026, time.May, 4, 12, 34, 56, 789, time.UTC)

func TestDriftPeriods(t *testing.T) {
	tests := []struct {
		name      string
		every     time.Duration
		t         time.Time
		period    int64
		start     time.Time
		nextStart time.Time
	}{
		{"epoch", time.Hour, time.Unix(0, 0), 0, time.Unix(0, 0).UTC(), time.Unix(3600, 0).UTC()},
		{"last instant of period 0", time.Hour, time.Unix(3599, 999_999_999), 0, time.Unix(0, 0).UTC(), time.Unix(3600, 0).UTC()},
		{"hourly", time.Hour, t2026, 493_860,
			time.Date(2026, time.May, 4, 12, 0, 0, 0, time.UTC), time.Date(2026, time.May, 4, 13, 0, 0, 0, time.UTC)},
		{"a boundary belongs to the period it starts", time.Hour, time.Date(2026, time.May, 4, 13, 0, 0, 0, time.UTC), 493_861,
			time.Date(2026, time.May, 4, 13, 0, 0, 0, time.UTC), time.Date(2026, time.May, 4, 14, 0, 0, 0, time.UTC)},
		{"every minute", time.Minute, t2026, 29_631_634,
			time.Date(2026, time.May, 4, 12, 34, 0, 0, time.UTC), time.Date(2026, time.May, 4, 12, 35, 0, 0, time.UTC)},
		{"90 minutes, aligned to the epoch, not the day", 90 * time.Minute, t2026, 329_240,
			time.Date(2026, time.May, 4, 12, 0, 0, 0, time.UTC), time.Date(2026, time.May, 4, 13, 30, 0, 0, time.UTC)},
		{"another time zone, the same instant", time.Hour, t2026.In(time.FixedZone("UTC+5:30", 5*3600+1800)), 493_860,
			time.Date(2026, time.May, 4, 12, 0, 0, 0, time.UTC), time.Date(2026, time.May, 4, 13, 0, 0, 0, time.UTC)},
		{"before 1970: floor, not truncation", time.Hour, time.Unix(-1, 0), -1, time.Unix(-3600, 0).UTC(), time.Unix(0, 0).UTC()},
		{"frozen", 0, t2026, 0, LastModified, LastModified},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Drift{Every: tc.every, Seed: 7}
			n := d.Period(tc.t)
			got := []any{n, d.Start(n), d.Start(n + 1)}
			want := []any{tc.period, tc.start, tc.nextStart}
			if tc.every == 0 {
				want[2] = LastModified // a frozen chart has one period
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("period, start, next start (-want +got):\n%s", diff)
			}
			if tc.every != 0 && (tc.t.Before(d.Start(n)) || !tc.t.Before(d.Start(n+1))) {
				t.Errorf("%s is not in [%s, %s)", tc.t, d.Start(n), d.Start(n+1))
			}
		})
	}
}

func TestDriftStartClamps(t *testing.T) {
	d := Drift{Every: time.Hour}
	for _, n := range []int64{math.MaxInt64, math.MinInt64, 1 << 40, -(1 << 40)} {
		want := time.Unix(0, math.MaxInt64).UTC()
		if n < 0 {
			want = time.Unix(0, math.MinInt64).UTC()
		}
		if got := d.Start(n); !got.Equal(want) {
			t.Errorf("Start(%d) = %s, want %s", n, got, want)
		}
		if got := d.Films(n); len(got) != ChartSize { // computes without overflow panics
			t.Errorf("Films(%d): %d films", n, len(got))
		}
	}
}

func TestFrozenDriftIsTheDataset(t *testing.T) {
	want := Films()
	for _, tc := range []struct {
		name string
		got  []Film
	}{
		{"Drift{}.Films(0)", Drift{}.Films(0)},
		{"a seed changes nothing", Drift{Seed: 42}.Films(0)},
		{"ChartAt, now", ChartAt(time.Now(), 0, 0)},
		{"ChartAt, 1950", ChartAt(time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC), 0, 9)},
	} {
		if diff := cmp.Diff(want, tc.got); diff != "" {
			t.Errorf("%s (-Films +got):\n%s", tc.name, diff)
		}
	}
}

// TestBaseScore: the hidden scores at the base ranks show exactly the
// frozen ratings, and no two base ranks tie.
func TestBaseScore(t *testing.T) {
	for r := 1; r <= ChartSize; r++ {
		if got, want := ratingTenths(baseScore(r)), ratingForRank(r); got != want {
			t.Errorf("rank %d: score %d shows %d tenths, the frozen chart %d", r, baseScore(r), got, want)
		}
		if r > 1 && baseScore(r) >= baseScore(r-1) {
			t.Errorf("rank %d: score %d not below rank %d's %d", r, baseScore(r), r-1, baseScore(r-1))
		}
	}
	for _, tc := range []struct {
		score int64
		want  int
	}{{9300, 93}, {9201, 93}, {9200, 92}, {9299, 93}, {0, 10}, {-500, 10}, {10_000, 100}, {12_345, 100}} {
		if got := ratingTenths(tc.score); got != tc.want {
			t.Errorf("ratingTenths(%d) = %d, want %d", tc.score, got, tc.want)
		}
	}
}

// checkChart checks what must hold for the chart of any period: the 250
// films once each with their facts unchanged, ranks 1..250 in order,
// ratings never increasing down the chart and within 1.0–10.0, and
// plausible vote counts.
func checkChart(t *testing.T, films []Film) {
	t.Helper()
	if len(films) != ChartSize {
		t.Fatalf("%d films, want %d", len(films), ChartSize)
	}
	seen := map[string]bool{}
	for i, f := range films {
		base, ok := datasetIndex[f.ID]
		if !ok || seen[f.ID] {
			t.Fatalf("position %d: film %q unknown or seen twice", i, f.ID)
		}
		seen[f.ID] = true
		facts := dataset[base]
		facts.Rank, facts.RatingTenths, facts.Votes = f.Rank, f.RatingTenths, f.Votes
		if !reflect.DeepEqual(facts, f) { // cmp.Diff 250 times a chart is slow
			t.Fatalf("%s: facts changed (-dataset +chart):\n%s", f.ID, cmp.Diff(facts, f))
		}
		if f.Rank != i+1 {
			t.Fatalf("position %d: rank %d", i, f.Rank)
		}
		if f.RatingTenths < 10 || f.RatingTenths > 100 {
			t.Fatalf("%s: rating %s outside 1.0–10.0", f.ID, f.RatingText())
		}
		if i > 0 && f.RatingTenths > films[i-1].RatingTenths {
			t.Fatalf("rank %d %s rated %s above rank %d's %s", f.Rank, f.ID, f.RatingText(), i, films[i-1].RatingText())
		}
		if f.Votes < minVotes {
			t.Fatalf("%s: %d votes", f.ID, f.Votes)
		}
	}
}

// TestDriftCharts checks charts over many periods, drifts and seeds: each
// is a valid chart, the same for the same (period, drift, seed) however
// it is asked for, and different for another period or seed.
func TestDriftCharts(t *testing.T) {
	tests := []struct {
		name  string
		drift Drift
		at    time.Time
	}{
		{"hourly, seed 0", Drift{Every: time.Hour}, t2026},
		{"hourly, seed 1", Drift{Every: time.Hour, Seed: 1}, t2026},
		{"every minute, seed -1", Drift{Every: time.Minute, Seed: -1}, t2026},
		{"daily, seed max", Drift{Every: 24 * time.Hour, Seed: math.MaxInt64}, t2026},
		{"hourly on the dataset date", Drift{Every: time.Hour}, LastModified},
		{"hourly in 1969", Drift{Every: time.Hour}, time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC)},
		{"every second in 2200", Drift{Every: time.Second}, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := tc.drift.Period(tc.at)
			got := tc.drift.Films(n)
			checkChart(t, got)
			if diff := cmp.Diff(got, tc.drift.Films(n)); diff != "" {
				t.Errorf("Films(%d) twice (-first +second):\n%s", n, diff)
			}
			later := tc.drift.Start(n).Add(tc.drift.Every - 1)
			if diff := cmp.Diff(got, ChartAt(later, tc.drift.Every, tc.drift.Seed)); diff != "" {
				t.Errorf("ChartAt the period's last instant differs (-Films +ChartAt):\n%s", diff)
			}
			other := tc.drift
			other.Seed++
			if reflect.DeepEqual(got, other.Films(n)) {
				t.Errorf("seeds %d and %d give the same chart", tc.drift.Seed, other.Seed)
			}
			for _, m := range []int64{n - 1, n + 1, n + 1000} {
				if reflect.DeepEqual(got, tc.drift.Films(m)) {
					t.Errorf("periods %d and %d give the same chart", n, m)
				}
			}
		})
	}
}

// TestDriftIsPlausible follows 1,000 consecutive hourly periods: a
// film's displayed rating moves by at most 0.1 per period, its votes never
// decrease and grow by 1–2 a minute, ranks move by a few places, and the
// top of the chart changes now and then, not all the time.
func TestDriftIsPlausible(t *testing.T) {
	for _, seed := range []int64{0, 1} {
		d := Drift{Every: time.Hour, Seed: seed}
		first := d.Period(t2026)
		const periods = 1000
		prev := d.chart(first)
		checkChart(t, prev)
		start := map[string]Film{}
		for _, f := range prev {
			start[f.ID] = f
		}
		var topChanges, ratingMoves, rankMoves int
		leaders := map[string]bool{prev[0].ID: true}
		var byBase [ChartSize]Film // the previous period's films by dataset index
		for n := first + 1; n <= first+periods; n++ {
			cur := d.chart(n)
			for _, f := range prev {
				byBase[datasetIndex[f.ID]] = f
			}
			for _, f := range cur {
				p := byBase[datasetIndex[f.ID]]
				if diff := f.RatingTenths - p.RatingTenths; diff < -1 || diff > 1 {
					t.Fatalf("seed %d period %d: %s jumps from %s to %s", seed, n, f.ID, p.RatingText(), f.RatingText())
				}
				if f.RatingTenths != p.RatingTenths {
					ratingMoves++
				}
				if f.Votes < p.Votes {
					t.Fatalf("seed %d period %d: %s loses votes, %d to %d", seed, n, f.ID, p.Votes, f.Votes)
				}
				if move := f.Rank - p.Rank; move < -10 || move > 10 {
					t.Fatalf("seed %d period %d: %s jumps from rank %d to %d", seed, n, f.ID, p.Rank, f.Rank)
				}
				if f.Rank != p.Rank {
					rankMoves++
				}
			}
			if cur[0].ID != prev[0].ID {
				topChanges++
				leaders[cur[0].ID] = true
			}
			prev = cur
		}
		checkChart(t, prev)
		for _, f := range prev {
			perMinute := float64(f.Votes-start[f.ID].Votes) / (periods * 60)
			if perMinute < 1 || perMinute > 2 {
				t.Errorf("seed %d: %s gains %.2f votes a minute, want 1–2", seed, f.ID, perMinute)
			}
		}
		t.Logf("seed %d over %d periods: the top changed %d times (%d leaders), %.1f rank moves and %.1f rating moves a period",
			seed, periods, topChanges, len(leaders), float64(rankMoves)/periods, float64(ratingMoves)/periods)
		if topChanges < 5 || topChanges > periods/10 {
			t.Errorf("seed %d: the top changed %d times in %d periods, want now and then (5..%d)", seed, topChanges, periods, periods/10)
		}
		if moves := float64(rankMoves) / periods; moves < 5 || moves > 100 {
			t.Errorf("seed %d: %.1f rank moves a period, want some but not most of the chart", seed, moves)
		}
		if ratingMoves < periods/2 {
			t.Errorf("seed %d: only %d rating moves in %d periods", seed, ratingMoves, periods)
		}
	}
}

// TestDriftVotesFollowTime: the votes at a time do not depend on the
// period length, only on the period's start, so a site drifting every
// minute and one drifting every hour agree at the top of each hour.
func TestDriftVotesFollowTime(t *testing.T) {
	at := time.Date(2026, 5, 4, 12, 0, 0, 0, time.UTC)
	votes := func(every time.Duration) map[string]int {
		m := map[string]int{}
		for _, f := range ChartAt(at, every, 3) {
			m[f.ID] = f.Votes
		}
		return m
	}
	if diff := cmp.Diff(votes(time.Hour), votes(time.Minute)); diff != "" {
		t.Errorf("votes at %s, hourly vs every minute (-hourly +minute):\n%s", at, diff)
	}
	// A year after the dataset date, every film has grown by its rate.
	const minutes = 365 * 24 * 60
	year := ChartAt(LastModified.Add(minutes*time.Minute), time.Hour, 3)
	for _, f := range year {
		base := dataset[datasetIndex[f.ID]].Votes
		if f.Votes < base+minutes || f.Votes >= base+2*minutes {
			t.Errorf("%s: %d votes a year after %d, want %d more at least and %d at most", f.ID, f.Votes, base, minutes, 2*minutes-1)
		}
	}
}

// TestDriftEveryFilmMovesEveryMinute: in a chart drifting every minute
// (devstack's default), every film's votes change from each period to the
// next, so two scrapes a period apart observe every film changed, and each
// film's history gains a point (the README's walk-through shows one).
func TestDriftEveryFilmMovesEveryMinute(t *testing.T) {
	d := Drift{Every: time.Minute}
	first := d.Period(t2026)
	prev := map[string]int{}
	for _, f := range d.chart(first) {
		prev[f.ID] = f.Votes
	}
	for n := first + 1; n <= first+120; n++ {
		for _, f := range d.chart(n) {
			if f.Votes <= prev[f.ID] {
				t.Fatalf("period %d: %s has %d votes, %d the minute before", n, f.ID, f.Votes, prev[f.ID])
			}
			prev[f.ID] = f.Votes
		}
	}
}

// TestDriftPinned pins one drifting chart. Deployed sites and recorded
// histories depend on these numbers: a change to the drift's arithmetic
// rewrites every film's past, so it must be deliberate.
func TestDriftPinned(t *testing.T) {
	got := ChartAt(t2026, time.Hour, 0)[:5]
	type row struct {
		ID     string
		Rating string
		Votes  int
	}
	var rows []row
	for _, f := range got {
		rows = append(rows, row{f.ID, f.RatingText(), f.Votes})
	}
	want := []row{
		{"the-dark-knight-2008", "9.4", 2887417},
		{"the-godfather-1972", "9.4", 3722497},
		{"the-lord-of-the-rings-the-two-towers-2002", "9.3", 3780424},
		{"the-shawshank-redemption-1994", "9.3", 2812675},
		{"12-angry-men-1957", "9.3", 2852426},
	}
	if diff := cmp.Diff(want, rows); diff != "" {
		t.Errorf("top 5 at %s, hourly, seed 0 (-pinned +got):\n%s", t2026, diff)
	}
}

func TestFloorDivAndMulClamp(t *testing.T) {
	for _, tc := range []struct{ a, b, want int64 }{
		{7, 2, 3}, {-7, 2, -4}, {-8, 2, -4}, {0, 5, 0}, {-1, 3600, -1}, {math.MinInt64, 1, math.MinInt64},
	} {
		if got := floorDiv(tc.a, tc.b); got != tc.want {
			t.Errorf("floorDiv(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
	for _, tc := range []struct{ a, b, want int64 }{
		{3, 4, 12}, {-3, 4, -12}, {math.MaxInt64, 1, math.MaxInt64}, {math.MinInt64, 1, math.MinInt64},
		{math.MaxInt64, 2, math.MaxInt64}, {math.MinInt64, 2, math.MinInt64}, {-(1 << 62), 2, math.MinInt64},
		{1 << 62, 2, math.MaxInt64}, {1 << 40, int64(time.Hour), math.MaxInt64},
	} {
		if got := mulClamp(tc.a, tc.b); got != tc.want {
			t.Errorf("mulClamp(%d, %d) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestDriftFilmsReturnsACopy(t *testing.T) {
	d := Drift{Every: time.Hour}
	a := d.Films(5)
	a[0].Genres[0], a[0].Directors[0] = "changed", "changed"
	for _, f := range slices.Concat(d.Films(5), Films()) {
		if slices.Contains(f.Genres, "changed") || slices.Contains(f.Directors, "changed") {
			t.Fatal("Drift.Films exposes the dataset to changes by the caller")
		}
	}
}
