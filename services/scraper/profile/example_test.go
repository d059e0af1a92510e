package profile_test

import (
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/net/html"

	"github.com/scrape-pipeline/scrape-pipeline/services/scraper/profile"
)

func ExampleParse() {
	p, err := profile.Parse([]byte(`{
	  "name": "books",
	  "items": "//ul[@class='books']/li",
	  "id": "isbn-{isbn}",
	  "fields": [
	    {"name": "isbn", "xpath": "@data-isbn", "type": "string", "required": true},
	    {"name": "title", "xpath": ".//h3", "type": "string", "required": true, "normalise": ["trim", "collapse"]},
	    {"name": "price", "xpath": ".//span[@class='price']", "type": "float", "pattern": "([0-9.,]+)"},
	    {"name": "link", "xpath": ".//a/@href", "type": "url"}
	  ]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	doc, _ := html.Parse(strings.NewReader(`<ul class="books">
	  <li data-isbn="0131103628"><h3> The C Programming
	      Language </h3><span class="price">€ 42,50</span><a href="/b/1">more</a></li>
	  <li data-isbn="x"><span class="price">free</span></li>
	</ul>`))
	base, _ := url.Parse("https://shop.example/list?page=1")
	page := p.Extract(doc, base)
	for _, it := range page.Items {
		id, _ := p.ID(it)
		fmt.Println(id, it.Fields["title"].Text, it.Fields["price"].Float, it.Fields["link"].Text)
	}
	for _, s := range page.Skips {
		fmt.Printf("item %d skipped: %s\n", s.Index, s.Reason)
	}
	// Output:
	// isbn-0131103628 The C Programming Language 42.5 https://shop.example/b/1
	// item 1 skipped: missing required field "title"
}

func ExampleParse_problems() {
	_, err := profile.Parse([]byte(`{"name": "bad", "items": "//li[", "fields": [{"name": "n", "xpath": "//h1", "type": "number"}]}`))
	fmt.Println(err)
	// Output:
	// profile "bad": items: "//li[": expression must evaluate to a node-set
	// fields[0] (n): type: "number", want one of string, int, float, url, list
	// fields[0] (n): xpath: "//h1" is absolute; an item's fields are relative to the item (start with . or @)
}
