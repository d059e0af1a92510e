package ui

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestNewChart(t *testing.T) {
	at := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }
	t.Run("steps and points", func(t *testing.T) {
		c := newChart("rating", "Rating", "Rating", []sample{{at(0), 8.5, "8.5"}, {at(2), 9.0, "9.0"}, {at(3), 8.7, "8.7"}},
			at(4), chartOptions{MinSpan: 0.4})
		if len(c.Points) != 3 {
			t.Fatalf("%d points, want 3", len(c.Points))
		}
		// Time runs left to right over the plot, to the end time.
		if c.Points[0].X != c.X0 || c.Points[1].X != c.X0+(c.X1-c.X0)/2 || c.Points[2].X <= c.Points[1].X {
			t.Errorf("x of the points: %+v", c.Points)
		}
		// Higher ratings are higher up.
		if !(c.Points[1].Y < c.Points[2].Y && c.Points[2].Y < c.Points[0].Y) {
			t.Errorf("y of the points: %+v", c.Points)
		}
		for _, p := range c.Points {
			if p.X < c.X0 || p.X > c.X1 || p.Y < c.Y0 || p.Y > c.Y1 {
				t.Errorf("point %+v outside the plot", p)
			}
		}
		// A step line: a value holds until the next change point, the last
		// until the end time.
		wantPath := "M48 " + num(c.Points[0].Y) + "H" + num(c.Points[1].X) + "V" + num(c.Points[1].Y) +
			"H" + num(c.Points[2].X) + "V" + num(c.Points[2].Y) + "H" + num(c.X1)
		if c.Path != wantPath {
			t.Errorf("path = %q, want %q", c.Path, wantPath)
		}
		var labels []string
		for _, tk := range c.YTicks {
			labels = append(labels, tk.Label)
		}
		if diff := cmp.Diff([]string{"8.4", "8.6", "8.8", "9.0"}, labels); diff != "" {
			t.Errorf("y ticks (-want +got):\n%s", diff)
		}
		if len(c.XTicks) == 0 || len(c.XTicks) > maxTimeTicks {
			t.Errorf("%d time ticks", len(c.XTicks))
		}
		for _, want := range []string{"3 change points", "first 8.5", "last 8.7", "lowest 8.5", "highest 9.0"} {
			if !strings.Contains(c.Desc, want) {
				t.Errorf("desc %q lacks %q", c.Desc, want)
			}
		}
	})
	t.Run("rank inverted, whole ticks", func(t *testing.T) {
		c := newChart("rank", "Rank", "Rank", []sample{{at(0), 1, "1"}, {at(1), 3, "3"}}, at(1), chartOptions{Invert: true, Integer: true, MinSpan: 4})
		if c.Points[0].Y >= c.Points[1].Y {
			t.Errorf("rank 1 is not above rank 3: %+v", c.Points)
		}
		for _, tk := range c.YTicks {
			if strings.Contains(tk.Label, ".") || tk.Label == "0" {
				t.Errorf("rank tick %q", tk.Label)
			}
		}
	})
	t.Run("one point", func(t *testing.T) {
		c := newChart("rating", "Rating", "Rating", []sample{{at(0), 9, "9.0"}}, at(0), chartOptions{MinSpan: 0.4})
		if len(c.Points) != 1 || c.Points[0].X <= c.X0 || c.Points[0].X >= c.X1 || len(c.YTicks) < 2 {
			t.Errorf("a lone point is not inside a readable chart: %+v, ticks %+v", c.Points, c.YTicks)
		}
	})
	t.Run("no points", func(t *testing.T) {
		c := newChart("rating", "Rating", "Rating", nil, time.Time{}, chartOptions{})
		if len(c.Points) != 0 || c.Path != "" || c.Desc == "" {
			t.Errorf("empty chart: %+v", c)
		}
	})
}

func TestNiceStep(t *testing.T) {
	for _, tt := range []struct {
		raw     float64
		integer bool
		want    float64
	}{
		{0.07, false, 0.1}, {0.1, false, 0.1}, {0.13, false, 0.2}, {0.3, false, 0.5}, {0.8, false, 1},
		{3, false, 5}, {7, false, 10}, {0.3, true, 1}, {12, true, 20}, {0, false, 1}, {math.NaN(), false, 1},
	} {
		if got := niceStep(tt.raw, tt.integer); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("niceStep(%v, %v) = %v, want %v", tt.raw, tt.integer, got, tt.want)
		}
	}
}

func TestTimeTicks(t *testing.T) {
	for _, span := range []time.Duration{time.Minute, 17 * time.Minute, 5 * time.Hour, 50 * time.Hour, 40 * 24 * time.Hour, 3 * 365 * 24 * time.Hour} {
		t0 := base.Add(7 * time.Minute)
		ticks := timeTicks(t0, t0.Add(span))
		if len(ticks) > maxTimeTicks+1 {
			t.Errorf("span %s: %d ticks", span, len(ticks))
		}
		for _, tk := range ticks {
			if tk.At.Before(t0) || tk.At.After(t0.Add(span)) || tk.Label == "" {
				t.Errorf("span %s: tick %+v outside or unlabelled", span, tk)
			}
		}
	}
}
