module github.com/scrape-pipeline/scrape-pipeline/libs/backoff

go 1.26
