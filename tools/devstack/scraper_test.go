package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// hostileFilms is the number of films on each chart page of hostileSite.
const hostileFilms = 16

// hostileSite serves two chart pages of films in the movies profile's
// markup, with their detail pages; mode picks the attack: "drip" sends
// chart page 1 a byte every 100 ms for a minute, "stall" keeps back for
// 12 s the headers of the detail pages of chart page 2.
type hostileSite struct{ mode atomic.Value }

func (h *hostileSite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mode, _ := h.mode.Load().(string)
	var page int
	switch {
	case r.URL.Path == "/chart":
		fmt.Sscan(r.URL.Query().Get("page"), &page)
	case strings.HasPrefix(r.URL.Path, "/film/"):
		fmt.Sscanf(r.URL.Path, "/film/p%d-", &page)
		if mode == "stall" && page == 2 {
			select {
			case <-time.After(12 * time.Second):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html><body><dl><dd class="director">Jane Doe</dd><dd class="runtime" data-minutes="101">1 h 41 min</dd></dl></body></html>`)
		return
	}
	if page < 1 || page > 2 {
		http.NotFound(w, r)
		return
	}
	var b strings.Builder
	if page == 1 {
		b.WriteString(`<html><head><link rel="next" href="/chart?page=2"></head>`)
	}
	b.WriteString(`<body><ol class="chart-list">`)
	for i := 1; i <= hostileFilms; i++ {
		rank := (page-1)*hostileFilms + i
		fmt.Fprintf(&b, `<li class="chart-item" data-film-id="p%d-f%d" data-rank="%d"><a class="film-link" href="/film/p%d-f%d">Film %d</a>`+
			`<span class="year">2001</span><span class="rating-value">8.%d</span></li>`, page, i, rank, page, i, rank, i%10)
	}
	b.WriteString("</ol></body></html>")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if mode != "drip" || page != 1 {
		fmt.Fprint(w, b.String())
		return
	}
	for i := range 600 {
		w.Write([]byte{b.String()[i]})
		w.(http.Flusher).Flush()
		select {
		case <-time.After(100 * time.Millisecond):
		case <-r.Context().Done():
			return
		}
	}
}

// TestScrapeFunctionTimeout: --function-timeout bounds the scraper as
// Lambda's timeout does: a page that drips its body or detail pages that
// stall are answered within the timeout (and a second), and the run is
// recorded with what it published and why it stopped.
func TestScrapeFunctionTimeout(t *testing.T) {
	t.Parallel() // mostly waiting for the function timeout
	site := &hostileSite{}
	srv := httptest.NewServer(site)
	t.Cleanup(srv.Close)
	cfg := testConfig(t.TempDir())
	cfg.FunctionTimeout = 3 * time.Second
	cfg.URL = srv.URL + "/chart?page=1"
	cfg.AllowPrivate = true
	cfg.ScrapeInterval = time.Millisecond
	st := startStack(t, cfg)
	c := client{t, st.APIURL()}
	runID := regexp.MustCompile(`run-[0-9]{8}-[0-9]{6}-[0-9a-f]+`)

	for _, tc := range []struct {
		mode    string
		wantRun runView
		wantErr string
	}{
		{mode: "drip"},
		{mode: "stall", wantRun: runView{Status: "failed", Published: hostileFilms, Processed: hostileFilms},
			wantErr: fmt.Sprintf("deadline: page 2: %d of %d detail pages not fetched", hostileFilms, hostileFilms)},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			site.mode.Store(tc.mode)
			c := client{t, c.base}
			began := time.Now()
			status, _, body := c.do("POST", "/scrape", nil)
			took := time.Since(began)
			t.Logf("%s: answered %d after %v", tc.mode, status, took.Round(10*time.Millisecond))
			if took > cfg.FunctionTimeout+time.Second {
				t.Errorf("answered after %v; want within the %v function timeout (+1s)", took, cfg.FunctionTimeout)
			}
			var resp struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(body, &resp); err != nil || status != http.StatusServiceUnavailable || resp.Error.Code != "unavailable" {
				t.Fatalf("POST /scrape = %d %s; want 503 unavailable", status, body)
			}
			id := runID.FindString(resp.Error.Message)
			if tc.wantErr == "" {
				if id != "" {
					t.Errorf("message %q names a run; want none for a first page not read", resp.Error.Message)
				}
				return
			}
			if id == "" {
				t.Fatalf("message %q names no run", resp.Error.Message)
			}
			// A failed run is final once scrape.completed is projected; its
			// films may still be on their way to the projection.
			got := c.waitRun(id)
			for wait := time.Now().Add(30 * time.Second); got.Processed+got.Failed < got.Published && time.Now().Before(wait); {
				time.Sleep(50 * time.Millisecond)
				c.json("GET", "/runs/"+id, nil, http.StatusOK, &got)
			}
			tc.wantRun.ID = id
			if got != tc.wantRun {
				t.Errorf("run %+v; want %+v", got, tc.wantRun)
			}
			var run struct {
				Skipped int    `json:"skipped"`
				Pages   int    `json:"pages"`
				Error   string `json:"error"`
			}
			c.json("GET", "/runs/"+id, nil, http.StatusOK, &run)
			if run.Skipped != hostileFilms || run.Pages != 2 || !strings.Contains(run.Error, tc.wantErr) {
				t.Errorf("run %+v; want %d skipped over 2 pages and the error %q", run, hostileFilms, tc.wantErr)
			}
		})
	}
}
