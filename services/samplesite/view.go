package samplesite

import (
	"sync"
	"sync/atomic"
	"time"
)

// view is the site during one period: the period's chart, computed once
// when the view is built, and its pages, each rendered on first request
// and then shared by every request of the period. A frozen site has one
// view for ever.
type view struct {
	period int64
	films  []Film // rank order
	// pos maps a dataset index to the film's position in films.
	pos [ChartSize]int
	// asOf is the "Data as of" stamp every HTML page carries in its
	// footer: the dataset date when frozen, the period's start otherwise.
	asOf asOf
	// modified is the pages' Last-Modified; expires is when the period
	// ends (zero when frozen), which bounds their Cache-Control max-age.
	modified, expires time.Time

	index     lazyResource
	notFound  lazyResource
	chart     [Pages + 1]lazyResource // 1-based
	malformed [Pages + 1]lazyResource // 1-based
	detail    [ChartSize]lazyResource // by dataset index
	hugeOnce  sync.Once
	hugeRes   hugePage
}

func newView(d Drift, n int64) *view {
	v := &view{period: n, films: d.chart(n), modified: d.Start(n), asOf: frozenAsOf}
	if !d.Frozen() {
		v.expires = d.Start(n + 1)
		v.asOf = periodAsOf(v.modified)
	}
	for pos, f := range v.films {
		v.pos[datasetIndex[f.ID]] = pos
	}
	return v
}

// page makes a resource of this period's (its validators and freshness).
func (v *view) page(ctype, cacheControl string, body []byte) *resource {
	res := newResource(ctype, cacheControl, body)
	res.setModified(v.modified)
	res.expires = v.expires
	return res
}

func (v *view) indexPage() *resource {
	return v.index.get(func() *resource { return v.page(typeHTML, cachePage, renderIndex(v.films, v.asOf)) })
}

// chartPage returns chart page p (1..Pages).
func (v *view) chartPage(p int) *resource {
	return v.chart[p].get(func() *resource { return v.page(typeHTML, cachePage, renderChart(v.films, p, v.asOf)) })
}

// malformedPage returns the broken-markup variant of chart page p.
func (v *view) malformedPage(p int) *resource {
	return v.malformed[p].get(func() *resource {
		return v.page(typeHTML, cacheNoStore, renderMalformed(v.films, p, v.asOf))
	})
}

// filmPage returns the detail page of the film at dataset index i, as it
// stands on this period's chart.
func (v *view) filmPage(i int) *resource {
	return v.detail[i].get(func() *resource {
		return v.page(typeHTML, cachePage, renderFilm(v.films, v.pos[i], v.asOf))
	})
}

func (v *view) notFoundPage() *resource {
	return v.notFound.get(func() *resource {
		return v.page(typeHTML, cacheNoStore, renderNotFound("There is no page at this address.", v.asOf))
	})
}

// huge returns the huge= page, built from this period's chart page 1.
func (v *view) huge() hugePage {
	v.hugeOnce.Do(func() { v.hugeRes = newHugePage(v.chartPage(1).body) })
	return v.hugeRes
}

// lazyResource is a resource built on first use, once, for any number of
// concurrent callers.
type lazyResource struct {
	once sync.Once
	res  *resource
}

func (l *lazyResource) get(build func() *resource) *resource {
	l.once.Do(func() { l.res = build() })
	return l.res
}

// viewCache keeps the views of the latest periods, so the chart of a
// period is computed once, not per request. Two are kept: around a period
// boundary, requests that arrived just before it may still be served while
// new ones are, and neither must evict the other.
type viewCache struct {
	// last is the view most recently built: the fast path, lock-free.
	last atomic.Pointer[view]
	mu   sync.Mutex
	// recent are the two views most recently built, newest first.
	recent [2]*view
}

// get returns the view of period n, building it if it is not cached.
func (c *viewCache) get(d Drift, n int64) *view {
	if v := c.last.Load(); v != nil && v.period == n {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, v := range c.recent {
		if v != nil && v.period == n {
			return v
		}
	}
	v := newView(d, n)
	c.recent[0], c.recent[1] = v, c.recent[0]
	c.last.Store(v)
	return v
}
