package profile

import (
	"strings"

	"golang.org/x/net/html"
)

// simplePath is a fast evaluator for the XPath shapes profiles use most:
//
//	.  |  @attr  |  [.|.//|//|/]step(/step)*[/@attr]
//	step = (name | *) [ [@attr='value'] ]
//
// antchfx/xpath evaluates these correctly but allocates for every node it
// visits; this walks the tree once, without allocating, and yields the same
// nodes in the same (document) order. Every other expression goes to
// antchfx/xpath. A differential test and fuzz test hold the two engines to
// the same answers.
type simplePath struct {
	self     bool // "."
	fromRoot bool // starts at the root ("/", "//"): the context node, for htmlquery
	deep     bool // the first step may be any descendant ("//", ".//")
	steps    []step
	attr     string // final "@attr"; "" selects the elements themselves
}

type step struct {
	name             string // "*" matches any element
	predAttr, predEq string
	pred             bool
}

// parseSimple returns the simple form of expression s, or nil if s has
// another shape.
func parseSimple(s string) *simplePath {
	s = strings.TrimSpace(s)
	p := &simplePath{}
	switch {
	case s == ".":
		p.self = true
		return p
	case strings.HasPrefix(s, "@"):
		name, rest := readName(s[1:])
		if name == "" || rest != "" {
			return nil
		}
		p.attr = name
		return p
	case strings.HasPrefix(s, ".//"):
		p.deep, s = true, s[3:]
	case strings.HasPrefix(s, "//"):
		p.fromRoot, p.deep, s = true, true, s[2:]
	case strings.HasPrefix(s, "/"):
		p.fromRoot, s = true, s[1:]
	case strings.HasPrefix(s, "./"):
		s = s[2:]
	}
	for {
		var st step
		if strings.HasPrefix(s, "*") {
			st.name, s = "*", s[1:]
		} else {
			st.name, s = readName(s)
			if st.name == "" {
				return nil
			}
		}
		if strings.HasPrefix(s, "[@") {
			var ok bool
			if st.predAttr, st.predEq, s, ok = readPredicate(s[2:]); !ok {
				return nil
			}
			st.pred = true
		}
		p.steps = append(p.steps, st)
		if s == "" {
			return p
		}
		if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") {
			return nil
		}
		s = s[1:]
		if strings.HasPrefix(s, "@") {
			name, rest := readName(s[1:])
			if name == "" || rest != "" {
				return nil
			}
			p.attr = name
			return p
		}
	}
}

// readName reads an XML-ish name of ASCII letters, digits, "-" and "_"
// (no namespaces, no axes, no functions).
func readName(s string) (name, rest string) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || (i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			i++
			continue
		}
		break
	}
	if i < len(s) && (s[i] == ':' || s[i] == '(') {
		return "", s // an axis, a prefix or a function call
	}
	return s[:i], s[i:]
}

// readPredicate reads "attr='value']" (or double quotes).
func readPredicate(s string) (attr, value, rest string, ok bool) {
	attr, s = readName(s)
	if attr == "" || len(s) < 2 || s[0] != '=' {
		return "", "", "", false
	}
	q := s[1]
	if q != '\'' && q != '"' {
		return "", "", "", false
	}
	end := strings.IndexByte(s[2:], q)
	if end < 0 || len(s) < 2+end+2 || s[2+end+1] != ']' {
		return "", "", "", false
	}
	return attr, s[2 : 2+end], s[2+end+2:], true
}

func (st *step) match(n *html.Node) bool {
	if n.Type != html.ElementNode || (st.name != "*" && n.Data != st.name) {
		return false
	}
	if !st.pred {
		return true
	}
	// A node-set comparison: any attribute of that name (HTML parsers keep
	// repeated ones) with that value.
	for _, a := range n.Attr {
		if a.Key == st.predAttr && a.Namespace == "" && a.Val == st.predEq {
			return true
		}
	}
	return false
}

// each calls fn with each selected node, in document order, until fn
// returns false. For a path ending in @attr, fn gets each element carrying
// the attribute and the attribute's index (once per occurrence: HTML
// parsers keep repeated attributes); else the index is -1.
func (p *simplePath) each(ctx *html.Node, fn func(n *html.Node, ai int) bool) {
	if p.self {
		fn(ctx, -1)
		return
	}
	if len(p.steps) == 0 { // "@attr" of the context node
		p.yield(ctx, fn)
		return
	}
	// Absolute paths start at the context node too: htmlquery's navigator
	// takes the node it was created on as the root.
	start := ctx
	last := len(p.steps)
	// Pre-order walk of start's descendants, iterative (deep documents
	// cannot overflow anything), down to the path's length unless deep.
	n, depth := start.FirstChild, 1
	for n != nil {
		if (depth == last || (p.deep && depth >= last)) && p.matchUp(n) && !p.yield(n, fn) {
			return
		}
		if n.FirstChild != nil && (p.deep || depth < last) {
			n, depth = n.FirstChild, depth+1
			continue
		}
		for n.NextSibling == nil {
			n, depth = n.Parent, depth-1
			if n == start || n == nil {
				return
			}
		}
		n = n.NextSibling
	}
}

// yield passes a matched node, or each of its attributes called p.attr,
// to fn; it returns false when fn asked to stop.
func (p *simplePath) yield(n *html.Node, fn func(n *html.Node, ai int) bool) bool {
	if p.attr == "" {
		return fn(n, -1)
	}
	if n.Type != html.ElementNode {
		return true
	}
	for i, a := range n.Attr {
		if a.Key == p.attr && a.Namespace == "" && !fn(n, i) {
			return false
		}
	}
	return true
}

// text is the value of what each selected: the attribute's value, or the
// node's text as htmlquery's navigator gives it.
func (p *simplePath) text(n *html.Node, ai int) string {
	if ai >= 0 {
		return n.Attr[ai].Val
	}
	switch n.Type {
	case html.ElementNode, html.TextNode, html.CommentNode:
		return innerText(n)
	}
	return "" // the document node has no value
}

// matchUp checks n against the last step, its parent against the one
// before, and so on.
func (p *simplePath) matchUp(n *html.Node) bool {
	for i := len(p.steps) - 1; i >= 0; i-- {
		if n == nil || !p.steps[i].match(n) {
			return false
		}
		n = n.Parent
	}
	return true
}

// innerText is the concatenated text of n's descendants, comments left
// out, as htmlquery.InnerText gives it; a single text child is returned
// without copying.
func innerText(n *html.Node) string {
	switch n.Type {
	case html.TextNode, html.CommentNode:
		return n.Data
	}
	if c := n.FirstChild; c != nil && c.NextSibling == nil && c.Type == html.TextNode {
		return c.Data
	}
	var b strings.Builder
	c, depth := n.FirstChild, 1
	for c != nil {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
		if c.FirstChild != nil && c.Type != html.CommentNode {
			c, depth = c.FirstChild, depth+1
			continue
		}
		for c.NextSibling == nil {
			c, depth = c.Parent, depth-1
			if c == n || c == nil || depth == 0 {
				return b.String()
			}
		}
		c = c.NextSibling
	}
	return b.String()
}
