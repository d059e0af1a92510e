module github.com/scrape-pipeline/scrape-pipeline/tools/devstack

go 1.26

require (
	github.com/aws/aws-lambda-go v1.55.1
	github.com/scrape-pipeline/scrape-pipeline/libs/contract v0.0.0-00010101000000-000000000000
	github.com/scrape-pipeline/scrape-pipeline/libs/stream v0.0.0
	go.etcd.io/bbolt v1.5.0
)

require (
	github.com/google/go-cmp v0.7.0 // indirect
	golang.org/x/sys v0.45.0 // indirect
)

replace (
	github.com/scrape-pipeline/scrape-pipeline/libs/contract => ../../libs/contract
	github.com/scrape-pipeline/scrape-pipeline/libs/stream => ../../libs/stream
)
