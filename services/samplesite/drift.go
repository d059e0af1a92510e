package samplesite

import (
	"cmp"
	"math"
	"math/bits"
	"slices"
	"time"
)

// Drift says how the chart moves over time. Time is cut into periods of
// length Every aligned to the Unix epoch: period n covers [n·Every,
// (n+1)·Every). Within a period the chart is fixed; from one period to the
// next every film's rating wobbles a little, its votes grow, and the ranks
// re-sort by rating. The chart of a period is a pure function of the
// period, Every and Seed, so tests and other packages can predict what the
// site serves, and every process (each Lambda instance, devstack, a test's
// httptest server) serves the same chart at the same time.
//
// The zero Drift (Every 0) is frozen: one period, 0, whose chart is
// Films(), served with Last-Modified LastModified.
//
// How the numbers move, per film:
//
//   - A hidden score in thousandths of a point: the frozen chart's rating
//     at its base rank, refined so that no two base ranks tie (9.300 for
//     rank 1, 9.294 for rank 2, …, 7.800 for rank 250), plus two smooth
//     wobbles of the period (value noise: a slow one of ±0.1 over 168
//     periods and a fast one of ±0.02 over 24). Together they move a score
//     by less than 0.005 per period, so a displayed rating changes by at
//     most 0.1 from one period to the next, and ratings stay near their
//     base (7.7–9.5, always within 1.0–10.0).
//   - The displayed rating is the score rounded up to one decimal; for the
//     frozen chart's scores that is exactly the frozen rating.
//   - Ranks are the films sorted by score, highest first, ties broken by
//     base rank: so ratings never increase down the chart, neighbours swap
//     places now and then, and the top of the chart changes order from time
//     to time.
//   - Votes grow with the period's start time (not its number, so a chart
//     drifting every minute and one drifting every hour agree on the votes
//     at a given time): from the frozen count on LastModified by 1 to 2
//     votes a minute (a rate of its own per film), and never decrease. So
//     every film's count moves in every period of a minute or more (the
//     default drift of devstack, 1m, and of the stack, 1h): two scrapes a
//     period apart see every film change, and each film's history gains a
//     point. (A share of the frozen count a year, as charts grow, would
//     move the least-voted films by one vote an hour.)
//
// Film ids (slugs of title and year) and every film fact never change.
type Drift struct {
	// Every is the length of a period; 0 freezes the chart. A negative
	// value is invalid (New panics on it).
	Every time.Duration
	// Seed picks one of many possible histories; the deployed site and
	// devstack use 0.
	Seed int64
}

// Frozen reports whether the chart never changes (Every is 0).
func (d Drift) Frozen() bool { return d.Every == 0 }

// Period returns the number of the period t falls in: floor(t / Every)
// counted from the Unix epoch (negative before 1970). A frozen chart has
// the one period 0. t must lie within the range of time.Time.UnixNano
// (years 1678 to 2262).
func (d Drift) Period(t time.Time) int64 {
	if d.Frozen() {
		return 0
	}
	return floorDiv(t.UnixNano(), int64(d.Every))
}

// Start returns the instant period n begins, n·Every after the Unix epoch,
// in UTC: the Last-Modified of the period's pages. A frozen chart's period
// starts at LastModified. Starts that time.Duration arithmetic cannot
// reach (past the years 1678–2262) are clamped to those bounds.
func (d Drift) Start(n int64) time.Time {
	if d.Frozen() {
		return LastModified
	}
	return time.Unix(0, mulClamp(n, int64(d.Every))).UTC()
}

// Films returns the chart of period n in rank order: a fresh copy the
// caller may change. For a frozen chart it equals Films().
func (d Drift) Films(n int64) []Film { return copyFilms(d.chart(n)) }

// ChartAt returns the chart the site serves at time t when it drifts every
// drift with seed: Drift{drift, seed}.Films of the period t falls in.
// drift 0 gives the frozen chart, Films().
func ChartAt(t time.Time, drift time.Duration, seed int64) []Film {
	d := Drift{Every: drift, Seed: seed}
	return d.Films(d.Period(t))
}

// Tuning of the drift, in thousandths of a rating point and in periods.
// A smoothstep between lattice points has a slope of at most
// 1.5·(2·amp)/spacing per period: 3·100/168 + 3·20/24 < 4.3 thousandths,
// far below the 100 that would let a displayed rating move by more than
// 0.1 per period. With these values, over 2,000 hourly periods of seed 0,
// about 39 films change rank per period (by 5 places at most), 2 change
// their displayed rating, and the number 1 changes every 35 periods on
// average (TestDriftIsPlausible keeps them in bounds).
const (
	slowSpacing, slowAmp = 168, 100
	fastSpacing, fastAmp = 24, 20
	// Votes grow by minGrowth..maxGrowth thousandths of a vote a minute
	// (1 to 2 votes), a rate of each film's own: at least one whole vote
	// in any minute.
	minGrowth, maxGrowth = 1000, 1999
	// minVotes is the least vote count the chart shows, whatever the time.
	minVotes = 1000
)

// Hash inputs that tell the random streams apart.
const (
	streamSlow uint64 = iota + 1
	streamFast
	streamGrowth
)

// baseScore is the hidden score of the film at base rank (1-based), in
// thousandths of a point: ratingForRank's line before it is cut to tenths.
// ratingTenths(baseScore(r)) == ratingForRank(r) for every rank.
func baseScore(rank int) int64 {
	return 9300 - int64(rank-1)*1500/(ChartSize-1)
}

// ratingTenths is the displayed rating of a score: rounded up to a tenth,
// within 1.0–10.0.
func ratingTenths(score int64) int {
	return int(min(max(-floorDiv(-score, 100), 10), 100))
}

// chart computes period n's chart. Its films share their Directors and
// Genres with the dataset: callers outside the package get copyFilms of it.
func (d Drift) chart(n int64) []Film {
	if d.Frozen() {
		return dataset
	}
	type entry struct {
		i     int // index in the dataset (base rank - 1)
		score int64
	}
	entries := make([]entry, len(dataset))
	for i := range dataset {
		entries[i] = entry{i, baseScore(i+1) +
			d.wobble(n, i, streamSlow, slowSpacing, slowAmp) +
			d.wobble(n, i, streamFast, fastSpacing, fastAmp)}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		return cmp.Or(cmp.Compare(b.score, a.score), cmp.Compare(a.i, b.i))
	})
	elapsed := d.Start(n).Unix() - LastModified.Unix()
	films := make([]Film, len(entries))
	for pos, e := range entries {
		f := dataset[e.i]
		f.Rank = pos + 1
		f.RatingTenths = ratingTenths(e.score)
		growth := minGrowth + int64(d.hash(e.i, streamGrowth, 0)%(maxGrowth-minGrowth+1))
		f.Votes = int(max(int64(f.Votes)+floorDiv(growth*elapsed, 60_000), minVotes))
		films[pos] = f
	}
	return films
}

// wobble is smooth value noise over periods: a random value in
// [-amp, amp] at every spacing-th period (per film and stream), joined by
// a smoothstep, so consecutive periods differ by little.
func (d Drift) wobble(n int64, film int, stream uint64, spacing, amp int64) int64 {
	k := floorDiv(n, spacing)
	r := n - k*spacing
	at := func(k int64) int64 { return int64(d.hash(film, stream, k)%uint64(2*amp+1)) - amp }
	v0, v1 := at(k), at(k+1)
	// smoothstep(r/spacing) = r²(3·spacing − 2r) / spacing³
	return v0 + floorDiv((v1-v0)*r*r*(3*spacing-2*r), spacing*spacing*spacing)
}

// hash mixes the seed, a film, a stream and a lattice point into 64
// well-spread bits (SplitMix64's finaliser, chained): integer arithmetic
// only, so every platform computes the same chart.
func (d Drift) hash(film int, stream uint64, k int64) uint64 {
	h := splitmix(uint64(d.Seed) + 0x9e3779b97f4a7c15)
	h = splitmix(h ^ uint64(film)<<8 ^ stream)
	return splitmix(h ^ uint64(k))
}

func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// floorDiv is a/b rounded towards negative infinity (b > 0).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}

// mulClamp is a·b clamped to the int64 range (b > 0).
func mulClamp(a, b int64) int64 {
	neg := a < 0
	ua := uint64(a)
	if neg {
		ua = -ua
	}
	hi, lo := bits.Mul64(ua, uint64(b))
	switch {
	case !neg && (hi != 0 || lo > math.MaxInt64):
		return math.MaxInt64
	case neg && (hi != 0 || lo > 1<<63):
		return math.MinInt64
	case neg:
		return -int64(lo)
	}
	return int64(lo)
}

// copyFilms copies films deeply, so the caller cannot change the dataset.
func copyFilms(films []Film) []Film {
	out := make([]Film, len(films))
	for i, f := range films {
		f.Directors = append([]string(nil), f.Directors...)
		f.Genres = append([]string(nil), f.Genres...)
		out[i] = f
	}
	return out
}
