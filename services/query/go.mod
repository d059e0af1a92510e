module github.com/scrape-pipeline/scrape-pipeline/services/query

go 1.26

require (
	github.com/aws/aws-lambda-go v1.55.1
	github.com/awslabs/aws-lambda-go-api-proxy v0.16.2
	github.com/scrape-pipeline/scrape-pipeline/libs/contract v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/libs/events v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/libs/httpx v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/libs/store v0.0.0
)

require (
	github.com/google/go-cmp v0.7.0
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/sys v0.45.0 // indirect
)

replace (
	github.com/scrape-pipeline/scrape-pipeline/libs/contract => ../../libs/contract
	github.com/scrape-pipeline/scrape-pipeline/libs/events => ../../libs/events
	github.com/scrape-pipeline/scrape-pipeline/libs/httpx => ../../libs/httpx
	github.com/scrape-pipeline/scrape-pipeline/libs/store => ../../libs/store
)
