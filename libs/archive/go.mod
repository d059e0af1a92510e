module github.com/scrape-pipeline/scrape-pipeline/libs/archive

go 1.26

replace github.com/scrape-pipeline/scrape-pipeline/libs/awsemu => ../awsemu

require github.com/google/go-cmp v0.7.0
