module github.com/scrape-pipeline/scrape-pipeline/libs/events

go 1.26.0

require (
	github.com/google/go-cmp v0.7.0
	github.com/santhosh-tekuri/jsonschema/v6 v6.0.3
	github.com/scrape-pipeline/scrape-pipeline/libs/text v0.0.0
)

require golang.org/x/text v0.43.0 // indirect

replace github.com/scrape-pipeline/scrape-pipeline/libs/text => ../text
