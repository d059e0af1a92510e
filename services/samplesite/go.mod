module github.com/scrape-pipeline/scrape-pipeline/services/samplesite

go 1.26.0

require (
	github.com/antchfx/htmlquery v1.3.7
	github.com/aws/aws-lambda-go v1.55.1
	github.com/awslabs/aws-lambda-go-api-proxy v0.16.2
	github.com/google/go-cmp v0.7.0
	github.com/scrape-pipeline/scrape-pipeline/libs/contract v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/libs/text v0.0.0
	golang.org/x/net v0.62.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect

require (
	github.com/antchfx/xpath v1.3.9 // indirect
	github.com/golang/groupcache v0.0.0-20241129210726-2c02b8208cf8 // indirect
	github.com/scrape-pipeline/scrape-pipeline/libs/httpx v0.0.0
	golang.org/x/text v0.43.0 // indirect
)

replace github.com/scrape-pipeline/scrape-pipeline/libs/contract => ../../libs/contract

replace github.com/scrape-pipeline/scrape-pipeline/libs/httpx => ../../libs/httpx

replace github.com/scrape-pipeline/scrape-pipeline/libs/text => ../../libs/text
