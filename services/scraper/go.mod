module github.com/scrape-pipeline/scrape-pipeline/services/scraper

go 1.26

require (
	github.com/antchfx/htmlquery v1.3.7
	github.com/antchfx/xpath v1.3.9
	github.com/google/go-cmp v0.7.0
	github.com/scrape-pipeline/scrape-pipeline/services/samplesite v0.0.0
	golang.org/x/net v0.33.0
)

require (
	github.com/golang/groupcache v0.0.0-20210331224755-41bb18bfe9da // indirect
	github.com/scrape-pipeline/scrape-pipeline/libs/contract v0.0.0 // indirect
	golang.org/x/text v0.21.0 // indirect
)

replace (
	github.com/scrape-pipeline/scrape-pipeline/libs/awsemu => ../../libs/awsemu
	github.com/scrape-pipeline/scrape-pipeline/libs/contract => ../../libs/contract
	github.com/scrape-pipeline/scrape-pipeline/libs/events => ../../libs/events
	github.com/scrape-pipeline/scrape-pipeline/libs/httpx => ../../libs/httpx
	github.com/scrape-pipeline/scrape-pipeline/libs/store => ../../libs/store
	github.com/scrape-pipeline/scrape-pipeline/libs/stream => ../../libs/stream
	github.com/scrape-pipeline/scrape-pipeline/services/samplesite => ../samplesite
)
