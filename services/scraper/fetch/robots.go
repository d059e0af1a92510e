package fetch

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"sync"
)

// maxRobotsSize is how much of a robots.txt is read (RFC 9309 asks for at
// least 500 KiB).
const maxRobotsSize = 512 << 10

// maxPattern caps a rule's path pattern; longer ones are ignored.
const maxPattern = 2048

// RobotsRules are the rules of one robots.txt for one user agent.
type RobotsRules struct {
	rules []rule
}

type rule struct {
	allow   bool
	pattern string
}

// AllowAll is the rule set of a site without robots.txt.
var AllowAll = &RobotsRules{}

// ParseRobots reads a robots.txt (RFC 9309) and keeps the rules of the
// groups that name token (case-insensitively), or else of the "*" groups.
// It never fails: lines it does not understand are ignored.
func ParseRobots(data []byte, token string) *RobotsRules {
	if len(data) > maxRobotsSize {
		data = data[:maxRobotsSize]
	}
	token = strings.ToLower(token)
	var mine, star []rule
	foundMine, foundStar := false, false
	// The current group's user agents, and whether its rules have started.
	inMine, inStar, rulesStarted := false, false, false
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), maxRobotsSize+1)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		key = strings.ToLower(strings.TrimSpace(key))
		value = strings.TrimSpace(value)
		switch key {
		case "user-agent":
			if rulesStarted {
				inMine, inStar, rulesStarted = false, false, false
			}
			agent := strings.ToLower(value)
			if i := strings.IndexAny(agent, "/ \t"); i >= 0 {
				agent = agent[:i] // "Googlebot/2.1" names the product token
			}
			switch {
			case agent == "*":
				inStar, foundStar = true, true
			case agent != "" && agent == token:
				inMine, foundMine = true, true
			}
		case "allow", "disallow":
			rulesStarted = true
			if value == "" || len(value) > maxPattern {
				continue // an empty disallow allows everything
			}
			r := rule{allow: key == "allow", pattern: value}
			if inMine {
				mine = append(mine, r)
			}
			if inStar {
				star = append(star, r)
			}
		default:
			// sitemap, crawl-delay, …: not rules of a group, and they do
			// not end one.
		}
	}
	if foundMine {
		return &RobotsRules{rules: mine}
	}
	if foundStar {
		return &RobotsRules{rules: star}
	}
	return AllowAll
}

// Allowed reports whether path (the URL's path and query) may be fetched:
// the longest matching rule wins, allow wins a tie, no match allows.
// /robots.txt is always allowed.
func (r *RobotsRules) Allowed(path string) bool {
	if path == "" {
		path = "/"
	}
	if path == "/robots.txt" {
		return true
	}
	best, allowed := -1, true
	for _, rl := range r.rules {
		if !match(rl.pattern, path) {
			continue
		}
		if n := len(rl.pattern); n > best || (n == best && rl.allow) {
			best, allowed = n, rl.allow
		}
	}
	return allowed
}

// match reports whether pattern matches a prefix of path; "*" matches any
// run of characters and a final "$" anchors the end.
func match(pattern, path string) bool {
	anchored := strings.HasSuffix(pattern, "$")
	if anchored {
		pattern = pattern[:len(pattern)-1]
	}
	// Greedy matching with backtracking to the last star: linear for
	// patterns without stars, O(len(pattern)·len(path)) at worst.
	p, s := 0, 0
	starP, starS := -1, 0
	for s < len(path) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			starP, starS = p, s
			p++
		case p < len(pattern) && pattern[p] == path[s]:
			p++
			s++
		case p == len(pattern) && !anchored:
			return true // the pattern is a prefix of the rest
		case starP >= 0:
			starS++
			p, s = starP+1, starS
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// Robots caches the robots.txt rules of each origin for one run, so that a
// run fetches each robots.txt once however many pages it reads. It is safe
// for concurrent use; concurrent first uses of an origin share one fetch.
type Robots struct {
	mu      sync.Mutex
	origins map[string]*robotsEntry
}

type robotsEntry struct {
	once  chan struct{} // closed when rules or err is set
	rules *RobotsRules
	err   error
}

// NewRobots returns an empty cache; start one per run.
func NewRobots() *Robots { return &Robots{origins: map[string]*robotsEntry{}} }

// get returns the rules of origin, calling load once per origin.
func (r *Robots) get(ctx context.Context, origin string, load func() (*RobotsRules, error)) (*RobotsRules, error) {
	r.mu.Lock()
	e, ok := r.origins[origin]
	if !ok {
		e = &robotsEntry{once: make(chan struct{})}
		r.origins[origin] = e
	}
	r.mu.Unlock()
	if !ok {
		e.rules, e.err = load()
		close(e.once)
		return e.rules, e.err
	}
	select {
	case <-e.once:
		return e.rules, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
