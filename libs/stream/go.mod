module github.com/scrape-pipeline/scrape-pipeline/libs/stream

go 1.26
