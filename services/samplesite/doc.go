// Package samplesite is the page that can safely be scraped: "Reel Index",
// a chart of 250 real, well-known films served by a plain http.Handler.
// Devstack mounts it, the scraper's tests serve it with httptest, and
// cmd/lambda deploys it behind API Gateway when the stack sets sampleSite.
//
// The film facts (title, year, directors, runtime in minutes, genres) are
// real; the rank order, ratings (9.3 at rank 1 down to 7.8 at rank 250,
// never increasing) and vote counts are the site's own deterministic
// numbers. The data is the embedded file data/films.tsv; Films returns it,
// so tests elsewhere can compare what they scraped with what was served.
// That is the frozen chart, what New(Options{}) serves for ever. With
// Options.Drift the chart moves every period (see "Time" below, and the
// Drift type); ChartAt predicts it. Either way, each page is rendered once
// per period, on its first request: the same request in the same period
// gets the same bytes in every process.
//
// # Routes
//
// contract.SampleSiteRoutes lists them (for API Gateway and ServeMux
// alike; the handler serves exactly these):
//
//	GET /robots.txt              disallows /site/private/ for everyone and the whole site for User-agent BadBot
//	GET /site  (and /site/)      home page linking to the chart
//	GET /site/chart?page=1..5    50 films per page; no page means page 1; a bad page is 400, page 0 or 6 is 404
//	GET /site/films/{id}         one film, all fields; an unknown id is 404
//	GET /site/static/style.css   the stylesheet
//
// Links are site-relative ("/site/films/the-godfather-1972"), so resolve
// them against the page URL. Film ids are slugs of title and year:
// lower-case ASCII, accents folded, apostrophes dropped, other runs of
// non-alphanumerics turned into "-" ("Schindler's List" 1993 →
// "schindlers-list-1993", "WALL·E" 2008 → "wall-e-2008").
//
// # HTTP behaviour
//
// Pages, robots.txt and the stylesheet carry a strong ETag (a hash of
// content type and body), Last-Modified (LastModified, the dataset date;
// on a drifting site a page's is the start of its period), Cache-Control
// (pages max-age=300, robots.txt 3600, the stylesheet 86400; on a drifting
// site a page's max-age also stops at the end of its period, so no cache
// keeps it longer), Vary: Accept-Encoding, Content-Length and a
// Content-Type with a charset.
// With Accept-Encoding: gzip the body is gzip-compressed and the ETag gets
// a "-gzip" suffix inside the quotes (a different representation); either
// tag in If-None-Match validates either encoding. If-None-Match (weak
// comparison, "*" allowed) takes precedence over If-Modified-Since, as in
// RFC 9110; a match is a 304 with the validators and no body. Errors (400,
// 404, knob failures) are Cache-Control: no-store with no validators; 404s
// are an HTML page, 400s and knob failures plain text. Other methods on a
// route get 405. HEAD works like GET without a body.
//
// # Time
//
// With Options.Drift d > 0 (devstack's --site-drift, default 1m; the
// deployed Lambda's SAMPLE_SITE_DRIFT, from the stack's sampleSiteDrift,
// default 1h), time is cut into periods aligned to the Unix epoch: period
// n covers [n·d, (n+1)·d). Every period the ratings wobble a little (by at
// most 0.1 from one period to the next, always within 1.0–10.0), the
// votes grow (by 1 to 2 a minute, so every film changes in every period
// of a minute or more), and the ranks re-sort by rating (ties by the
// frozen rank); neighbours swap places often, the number 1 now and then. Film ids, URLs
// and facts never change. The chart of a period depends only on the
// period, d and Options.Seed: Drift.Films and ChartAt compute it, and the
// site serves exactly that, so a test can predict every page.
//
// A response shows the period in which its request arrived, and says so:
// Last-Modified is the period's start, the ETag changes with the period,
// and the footer's //p[@class='footer-updated']/time/@datetime is the
// period's start ("2026-05-04T12:00:00Z"; "2025-03-01", the dataset date,
// on a frozen site). Within a period, If-None-Match and If-Modified-Since
// get 304; in the next one, the new page. Detail pages agree with the
// chart of the same period (rank, rating, votes, neighbours). The site
// does not pin a scrape to one period: a scrape that crosses a boundary
// reads each page as of its own request, so it may see a film on two
// chart pages (or on none) where ranks re-sorted in between, and detail
// pages newer than the chart page that linked them. Scrapers take rank,
// rating and votes from the chart, and can tell a straddling scrape by
// pages whose Last-Modified (or footer period) differ. robots.txt and the
// stylesheet do not drift.
//
// # Markup
//
// Every HTML page is well-formed HTML5 with a header (header.site-header >
// nav.site-nav), main#content and footer.site-footer. The elements below
// carry exactly one class, so XPath can compare @class with '='. These
// expressions are tested (markup_test.go) and stay stable:
//
// Chart page (/site/chart?page=N):
//
//	items        //ol[@class='chart-list']/li[@class='chart-item']   (50 per page)
//	id           @data-film-id                    "the-godfather-1972"
//	rank         @data-rank, or .//span[@class='rank']              "2"
//	title        .//a[@class='film-link']         "The Godfather"
//	detail URL   .//a[@class='film-link']/@href   "/site/films/the-godfather-1972"
//	year         .//span[@class='year']           "1972"
//	rating       .//span[@class='rating-value']   "9.3" (one decimal, 0–10)
//	votes        .//span[@class='votes']/@data-votes               "2791067"
//	votes text   .//span[@class='votes-count']    "2,791,067" (with commas)
//	next page    //link[@rel='next']/@href  or  //a[@rel='next']/@href   "/site/chart?page=3"
//	prev page    //link[@rel='prev']/@href  or  //a[@rel='prev']/@href
//	period       //p[@class='footer-updated']/time/@datetime        "2026-05-04T12:00:00Z" (every HTML page)
//
// The last page has no rel="next" element at all (its Next label is a
// span.pagination-next-disabled). The chart does not show director,
// genres or runtime: those are on the detail pages.
//
// One chart item, indented:
//
//	<li class="chart-item" id="rank-2" data-film-id="the-godfather-1972" data-rank="2">
//	  <div class="chart-rank"><span class="rank">2</span></div>
//	  <div class="poster" aria-hidden="true"><span class="poster-initials">G</span></div>
//	  <div class="film-info">
//	    <h2 class="film-title"><a class="film-link" href="/site/films/the-godfather-1972">The Godfather</a></h2>
//	    <div class="film-meta"><span class="year">1972</span></div>
//	  </div>
//	  <div class="film-score">
//	    <span class="rating" title="Rated 9.3 out of 10"><span class="rating-value">9.3</span><span class="rating-max">/10</span></span>
//	    <span class="votes" data-votes="2791067"><span class="votes-count">2,791,067</span> votes</span>
//	  </div>
//	</li>
//
// Detail page (/site/films/{id}):
//
//	root         //article[@class='film-detail']  (with @data-film-id)
//	title        //h1[@class='film-title']
//	director     //dd[@class='director']          "Joel Coen, Ethan Coen" as text (whitespace-normalise it)
//	directors    //dd[@class='director']/span[@class='person']      one node per director
//	year         //dd[@class='release-year']/time (also its @datetime)
//	runtime      //dd[@class='runtime']/@data-minutes               "175" (text: "175 min")
//	genres       //ul[@class='genre-list']/li[@class='genre']       one node per genre
//	rating       //dd[@class='rating-detail']/span[@class='rating-value']
//	votes        //dd[@class='vote-count']/@data-votes
//	rank         //dd[@class='chart-rank-detail']/@data-rank
//
// The detail page also shows the rating and votes in its header
// (div.film-score, same markup as the chart), so //span[@class='rating-value']
// matches twice there with the same value. Detail pages have no rel="next"
// or rel="prev": links to neighbouring films are a.film-prev and
// a.film-next, so a scraper following rel="next" stays on the chart.
//
// # Test knobs
//
// With Options.Knobs set (devstack, tests; never in the Lambda), query
// parameters change the response. Without it they are ignored like any
// unknown parameter. A bad value, a repeated knob or a knob on the wrong
// route is a 400 listing every problem. The knobs run in this order:
//
//	slow=<duration>       wait before answering (Go duration, 0s–5m); gives up silently when the request's context ends
//	redirects=<n>         0–20: 302 to the same URL with redirects=n-1, the parameter dropped at 0; the chain ends at the page
//	status=<code>         400–599: answer that status (plain text, no-store) instead of the page
//	retryAfter=<secs>     0–86400: Retry-After on the failure; needs status or flaky
//	flaky=<n>             1–1000: the first n requests for this URL fail (with status, default 503), later ones succeed
//	malformed=1           chart only: broken HTML (see below); also true, 0, false
//	huge=<bytes>          chart only: chart page 1 padded with hidden filler to exactly that many bytes (before gzip), streamed; at most 64 MiB, at least the page itself
//	ctype=<media type>    serve the page with this Content-Type (e.g. application/json); encode ";" as %3B
//	stall=<duration>      send the headers and half the body, then wait (0s–5m) before the rest: for whole-request timeouts
//
// flaky counts per handler (per New) and per URL: path plus the query with
// its parameters sorted, so "?flaky=2&page=2" and "?page=2&flaky=2" share
// a counter, while adding any unknown parameter (say "&run=42") starts a
// fresh one. Counting is safe under concurrency: of N parallel requests
// exactly n fail. At most 10,000 distinct URLs are counted per handler.
// Knob responses are Cache-Control: no-store; huge pages have no
// validators, and with gzip they are streamed without Content-Length.
//
// malformed=1 serves page N (page=N as usual) with no doctype, unclosed
// and mis-nested elements, unquoted attributes, bare ampersands, stray end
// tags, no closing </ol>, </main> or </body> and an unterminated comment at
// the end. HTML parsers still find all 50 items with the XPaths above. Items
// cycle by rank: (rank-1)%5 == 0, 1, 2 yield every chart field; == 3 has no
// rating element; == 4 has the rating "N/A". So 30 of 50 items per page are
// usable and 20 must be reported as skipped. Its next links keep
// malformed=1.
package samplesite
