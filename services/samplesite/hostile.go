package samplesite

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// Malformed chart items cycle through five defects by rank: (rank-1)%5 ==
// 0 well-formed, 1 unquoted attributes and unclosed tags, 2 mis-nested tags,
// 3 no rating at all, 4 the rating "N/A". Items of kinds 0–2 still yield
// every chart field with the documented XPaths; kinds 3 and 4 must be
// skipped by a scraper that requires a numeric rating.
const (
	malformedOK = iota
	malformedUnclosed
	malformedMisnested
	malformedNoRating
	malformedBadRating
	malformedKinds
)

// renderMalformed builds chart page p as broken HTML: no doctype, unclosed
// and mis-nested elements, unquoted attributes, bare ampersands, stray end
// tags and an unterminated comment at the end. Its next link keeps
// malformed=1 so a scraper following it stays on the broken variant.
func renderMalformed(films []Film, p int, at asOf) []byte {
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, "<html><head><title>Top 250 Films &mdash page %d (broken markup)</title>\n", p)
	fmt.Fprintf(&b, "<link rel=stylesheet href=%s>\n", StylePath)
	if p < Pages {
		fmt.Fprintf(&b, "<link rel=next href=\"%s&amp;malformed=1\">\n", ChartPageURL(p+1))
	}
	b.WriteString("<body class=page-chart>\n")
	fmt.Fprintf(&b, "<header class=\"site-header\"><a class=\"brand\" href=\"%s/\">%s</a>\n", IndexPath, siteName)
	fmt.Fprintf(&b, "<nav class=\"site-nav\"><ul><li><a href=\"%s/\">Home<li><a href=\"%s\">Top 250</a></ul>\n", IndexPath, ChartPath)
	b.WriteString("</div></div>\n") // stray end tags
	b.WriteString("<main id=content>\n<section class=\"chart\"><p>Ratings & votes <b>updated <i>weekly</b></i>\n")
	b.WriteString("<table><p>tables inside paragraphs</table>\n")
	fmt.Fprintf(&b, "<ol class=\"chart-list\" start=%d>\n", (p-1)*PageSize+1)
	for _, f := range films[(p-1)*PageSize : p*PageSize] {
		title := esc(f.Title)
		kind := (f.Rank - 1) % malformedKinds
		switch kind {
		case malformedOK:
			fmt.Fprintf(&b, `<li class="chart-item" data-film-id="%s" data-rank="%d"><div class="chart-rank"><span class="rank">%d</span></div>`+
				`<div class="film-info"><h2 class="film-title"><a class="film-link" href="%s">%s</a></h2><div class="film-meta"><span class="year">%d</span></div></div>`+
				`<div class="film-score"><span class="rating"><span class="rating-value">%s</span><span class="rating-max">/10</span></span>`+
				`<span class="votes" data-votes="%d"><span class="votes-count">%s</span> votes</span></div></li>`+"\n",
				f.ID, f.Rank, f.Rank, f.Path(), title, f.Year, f.RatingText(), f.Votes, thousands(f.Votes))
		case malformedUnclosed:
			fmt.Fprintf(&b, `<li class=chart-item data-film-id=%s data-rank=%d><div class=chart-rank><span class=rank>%d</div>`+
				`<div class=film-info><h2 class=film-title><a class=film-link href=%s>%s</a></h2><div class=film-meta><span class=year>%d</div>`+
				`<div class=film-score><span class=rating><span class=rating-value>%s</span><span class=rating-max>/10</span>`+
				`<span class=votes data-votes=%d><span class=votes-count>%s</span> votes`+"\n",
				f.ID, f.Rank, f.Rank, f.Path(), title, f.Year, f.RatingText(), f.Votes, thousands(f.Votes))
		case malformedMisnested:
			fmt.Fprintf(&b, `<li class="chart-item" data-film-id="%s" data-rank="%d"><div class="chart-rank"><span class="rank"><b>%d</span></b></div>`+
				`<div class="film-info"><h2 class="film-title"><a class="film-link" href="%s"><em>%s</a></em></h2><div class="film-meta"><span class="year">%d</div></span></div>`+
				`<div class="film-score"><span class="rating"><span class="rating-value">%s</span><span class="rating-max">/10</span></span>`+
				`<span class="votes" data-votes="%d"><span class="votes-count">%s</span> votes</span></p></div></li>`+"\n",
				f.ID, f.Rank, f.Rank, f.Path(), title, f.Year, f.RatingText(), f.Votes, thousands(f.Votes))
		case malformedNoRating:
			fmt.Fprintf(&b, `<li class="chart-item" data-film-id="%s" data-rank="%d"><div class="chart-rank"><span class="rank">%d</span></div>`+
				`<div class="film-info"><h2 class="film-title"><a class="film-link" href="%s">%s</a></h2><div class="film-meta"><span class="year">%d</span></div></div>`+
				`<div class="film-score"><span class="votes" data-votes="%d"><span class="votes-count">%s</span> votes</span></div></li>`+"\n",
				f.ID, f.Rank, f.Rank, f.Path(), title, f.Year, f.Votes, thousands(f.Votes))
		case malformedBadRating:
			fmt.Fprintf(&b, `<li class="chart-item" data-film-id="%s" data-rank="%d"><div class="chart-rank"><span class="rank">%d</span></div>`+
				`<div class="film-info"><h2 class="film-title"><a class="film-link" href="%s">%s</a></h2><div class="film-meta"><span class="year">%d</span></div></div>`+
				`<div class="film-score"><span class="rating"><span class="rating-value">N/A</span></span>`+
				`<span class="votes" data-votes="%d"><span class="votes-count">%s</span> votes</span></div></li>`+"\n",
				f.ID, f.Rank, f.Rank, f.Path(), title, f.Year, f.Votes, thousands(f.Votes))
		}
	}
	// No </ol>, </section>, </main>; the pagination sits in whatever the
	// parser makes of it.
	b.WriteString("<nav class=\"pagination\">\n")
	if p < Pages {
		fmt.Fprintf(&b, "<a class=pagination-next rel=next href=\"%s&amp;malformed=1\">Next &rarr</a>\n", ChartPageURL(p+1))
	}
	b.WriteString("</span></nav>\n<footer class=site-footer><p>Data as of " + at.Text + "\n")
	b.WriteString("<!-- an unterminated comment swallows the rest </footer></body></html>\n")
	return []byte(b.String())
}

// hugePage is chart page 1 bloated to an exact size with hidden filler
// paragraphs before </main>: still valid HTML, still 50 films.
type hugePage struct {
	prefix, suffix []byte
}

const (
	hugeOpen   = "<div class=\"filler\" hidden>\n"
	hugeClose  = "</div>\n"
	fillerLine = "<p class=\"filler-text\">Intermission. The feature resumes shortly; please stay in your seats.</p>\n"
)

func newHugePage(chart1 []byte) hugePage {
	i := bytes.LastIndex(chart1, []byte("</main>"))
	if i < 0 {
		panic("samplesite: chart page has no </main>")
	}
	return hugePage{
		prefix: append(append([]byte(nil), chart1[:i]...), hugeOpen...),
		suffix: append([]byte(hugeClose), chart1[i:]...),
	}
}

// min is the smallest size hugePage can produce.
func (h hugePage) min() int64 { return int64(len(h.prefix) + len(h.suffix)) }

// serve streams a page of exactly size bytes (before any gzip), stopping
// early when the request's context ends.
func (h hugePage) serve(w http.ResponseWriter, r *http.Request, size int64, ctype string) {
	hd := w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("Cache-Control", cacheNoStore)
	hd.Set("Vary", "Accept-Encoding")
	hd.Set("X-Content-Type-Options", "nosniff")
	var out io.Writer = w
	var zw *gzip.Writer
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		hd.Set("Content-Encoding", "gzip")
		zw, _ = gzip.NewWriterLevel(w, gzip.BestSpeed) // level is valid
		out = zw
	} else {
		hd.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	w.WriteHeader(http.StatusOK)
	if err := h.write(r.Context(), out, size); err != nil {
		return // client gone: leave the body short
	}
	if zw != nil {
		zw.Close()
	}
}

// write emits the page: prefix, whole filler lines, spaces for the rest,
// suffix.
func (h hugePage) write(ctx context.Context, w io.Writer, size int64) error {
	if _, err := w.Write(h.prefix); err != nil {
		return err
	}
	fill := size - h.min()
	chunk := bytes.Repeat([]byte(fillerLine), 32<<10/len(fillerLine))
	for fill >= int64(len(fillerLine)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(fill/int64(len(fillerLine)), int64(len(chunk)/len(fillerLine))) * int64(len(fillerLine))
		if _, err := w.Write(chunk[:n]); err != nil {
			return err
		}
		fill -= n
	}
	if _, err := w.Write(bytes.Repeat([]byte(" "), int(fill))); err != nil {
		return err
	}
	_, err := w.Write(h.suffix)
	return err
}
