module github.com/scrape-pipeline/scrape-pipeline/services/samplesite

go 1.26

require (
	github.com/antchfx/htmlquery v1.3.7
	github.com/aws/aws-lambda-go v1.55.1
	github.com/awslabs/aws-lambda-go-api-proxy v0.16.2
	github.com/google/go-cmp v0.7.0
	github.com/scrape-pipeline/scrape-pipeline/libs/contract v0.0.0
	golang.org/x/net v0.33.0
)

require (
	github.com/antchfx/xpath v1.3.9 // indirect
	github.com/golang/groupcache v0.0.0-20210331224755-41bb18bfe9da // indirect
	github.com/scrape-pipeline/scrape-pipeline/libs/httpx v0.0.0
	golang.org/x/text v0.21.0 // indirect
)

replace github.com/scrape-pipeline/scrape-pipeline/libs/contract => ../../libs/contract

replace github.com/scrape-pipeline/scrape-pipeline/libs/httpx => ../../libs/httpx
