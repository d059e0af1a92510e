package ui

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// A chart is a server-rendered SVG line chart of one value of a film over
// time: its axes with labelled ticks, a step line (a change point's value
// holds until the next one) and one point per change point, each with a
// <title>. The SVG has a <title> and a <desc>; the page's table of change
// points is the full text alternative.
type chart struct {
	ID, Title, Desc string
	// YLabel names the value axis.
	YLabel string
	// Width and Height are the viewBox; the plot area is X0..X1, Y0..Y1
	// (Y0 at the top).
	Width, Height  int
	X0, X1, Y0, Y1 float64
	XTicks, YTicks []tick
	// Path is the step line's d attribute.
	Path   string
	Points []chartPoint
}

type tick struct {
	Pos   float64
	Label string
	// Edge is "start" or "end" for a time label that would stick out of
	// the chart if it were centred on its tick.
	Edge string
}

type chartPoint struct {
	X, Y  float64
	Label string
}

// sample is one change point of a series.
type sample struct {
	At    time.Time
	Value float64
	Label string // the value as the page shows it
}

// chartSize is the viewBox and the plot's margins (room for the tick
// labels).
const (
	chartWidth  = 520
	chartHeight = 240
	marginLeft  = 48
	marginRight = 14
	marginTop   = 28
	marginBot   = 30
)

// chartOptions shape a chart's value axis.
type chartOptions struct {
	// Invert puts the least value at the top (rank 1 is the best).
	Invert bool
	// Integer ticks only (ranks).
	Integer bool
	// MinSpan is the least span of the value axis, so that a value that
	// never changed still gets a readable axis around it.
	MinSpan float64
}

// newChart lays out samples (oldest first) on a time axis that runs to end
// (the film's last observation: the last value held until then).
func newChart(id, title, yLabel string, samples []sample, end time.Time, o chartOptions) *chart {
	c := &chart{ID: id, Title: title, YLabel: yLabel, Width: chartWidth, Height: chartHeight,
		X0: marginLeft, X1: chartWidth - marginRight, Y0: marginTop, Y1: chartHeight - marginBot}
	if len(samples) == 0 {
		c.Desc = "No change points yet."
		return c
	}
	t0, t1 := samples[0].At, samples[len(samples)-1].At
	if end.After(t1) {
		t1 = end
	}
	if !t1.After(t0) { // one instant: an hour around it
		t0, t1 = t0.Add(-30*time.Minute), t0.Add(30*time.Minute)
	}
	lo, hi := samples[0].Value, samples[0].Value
	for _, s := range samples {
		lo, hi = math.Min(lo, s.Value), math.Max(hi, s.Value)
	}
	if hi-lo < o.MinSpan {
		mid := (lo + hi) / 2
		lo, hi = mid-o.MinSpan/2, mid+o.MinSpan/2
	}
	step := niceStep((hi-lo)/4, o.Integer)
	lo, hi = math.Floor(lo/step)*step, math.Ceil(hi/step)*step
	if o.Integer && lo < 1 {
		lo = 1 // no rank 0
	}
	x := func(t time.Time) float64 {
		return c.X0 + (c.X1-c.X0)*float64(t.Sub(t0))/float64(t1.Sub(t0))
	}
	y := func(v float64) float64 {
		f := (v - lo) / (hi - lo)
		if o.Invert {
			return c.Y0 + (c.Y1-c.Y0)*f
		}
		return c.Y1 - (c.Y1-c.Y0)*f
	}
	for v := lo; v <= hi+step/1e6; v += step {
		c.YTicks = append(c.YTicks, tick{Pos: round1(y(v)), Label: formatTick(v, step)})
	}
	for _, t := range timeTicks(t0, t1) {
		tk := tick{Pos: round1(x(t.At)), Label: t.Label}
		if half := 4 * float64(len(t.Label)); tk.Pos+half > chartWidth {
			tk.Edge = "end"
		} else if tk.Pos-half < 0 {
			tk.Edge = "start"
		}
		c.XTicks = append(c.XTicks, tk)
	}
	var d strings.Builder
	for i, s := range samples {
		px, py := round1(x(s.At)), round1(y(s.Value))
		if i == 0 {
			fmt.Fprintf(&d, "M%s %s", num(px), num(py))
		} else {
			fmt.Fprintf(&d, "H%sV%s", num(px), num(py))
		}
		c.Points = append(c.Points, chartPoint{X: px, Y: py,
			Label: s.At.UTC().Format("2006-01-02 15:04:05 UTC") + ": " + s.Label})
	}
	fmt.Fprintf(&d, "H%s", num(round1(x(t1))))
	c.Path = d.String()
	first, last := samples[0], samples[len(samples)-1]
	c.Desc = fmt.Sprintf("%s of %d change points from %s to %s: first %s, last %s, lowest %s, highest %s.",
		yLabel, len(samples), first.At.UTC().Format(time.DateTime), last.At.UTC().Format(time.DateTime),
		first.Label, last.Label, labelOf(samples, math.Min), labelOf(samples, math.Max))
	return c
}

// labelOf is the label of the sample with the least (math.Min) or greatest
// (math.Max) value.
func labelOf(samples []sample, pick func(a, b float64) float64) string {
	best := samples[0]
	for _, s := range samples[1:] {
		if pick(s.Value, best.Value) == s.Value && s.Value != best.Value {
			best = s
		}
	}
	return best.Label
}

// niceStep rounds a raw tick step up to 1, 2 or 5 times a power of ten
// (whole numbers only when integer).
func niceStep(raw float64, integer bool) float64 {
	if raw <= 0 || math.IsNaN(raw) || math.IsInf(raw, 0) {
		raw = 1
	}
	pow := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * pow
	for _, m := range []float64{1, 2, 5, 10} {
		if m*pow >= raw*(1-1e-9) {
			step = m * pow
			break
		}
	}
	if integer && step < 1 {
		step = 1
	}
	return step
}

// formatTick writes v with as many decimals as step needs.
func formatTick(v, step float64) string {
	decimals := 0
	if step < 1 {
		decimals = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	return strconv.FormatFloat(v, 'f', decimals, 64)
}

// timeStep is a candidate spacing of the time axis's ticks.
type timeStep struct {
	d      time.Duration
	layout string
}

var timeSteps = []timeStep{
	{time.Minute, "15:04"}, {5 * time.Minute, "15:04"}, {15 * time.Minute, "15:04"}, {30 * time.Minute, "15:04"},
	{time.Hour, "15:04"}, {3 * time.Hour, "Jan 2 15:04"}, {6 * time.Hour, "Jan 2 15:04"}, {12 * time.Hour, "Jan 2 15:04"},
	{24 * time.Hour, "Jan 2"}, {2 * 24 * time.Hour, "Jan 2"}, {7 * 24 * time.Hour, "Jan 2"}, {14 * 24 * time.Hour, "Jan 2"},
	{28 * 24 * time.Hour, "Jan 2 2006"}, {91 * 24 * time.Hour, "Jan 2006"}, {365 * 24 * time.Hour, "2006"},
}

// maxTimeTicks keeps the time labels from overlapping at phone width.
const maxTimeTicks = 5

type timeTick struct {
	At    time.Time
	Label string
}

// timeTicks returns round instants (UTC) between t0 and t1, at most
// maxTimeTicks of them.
func timeTicks(t0, t1 time.Time) []timeTick {
	span := t1.Sub(t0)
	st := timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		if span/s.d < maxTimeTicks {
			st = s
			break
		}
	}
	var out []timeTick
	for t := t0.UTC().Truncate(st.d); !t.After(t1); t = t.Add(st.d) {
		if t.Before(t0) {
			continue
		}
		out = append(out, timeTick{At: t, Label: t.Format(st.layout)})
	}
	return out
}

func round1(f float64) float64 { return math.Round(f*10) / 10 }

// num writes a coordinate compactly: "52", "52.5".
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
