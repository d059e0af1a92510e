module github.com/scrape-pipeline/scrape-pipeline/libs/store

go 1.26

require (
	github.com/google/go-cmp v0.7.0
	github.com/scrape-pipeline/scrape-pipeline/libs/contract v0.0.0
	go.etcd.io/bbolt v1.5.0
)

require golang.org/x/sys v0.45.0 // indirect

replace github.com/scrape-pipeline/scrape-pipeline/libs/contract => ../contract
