module github.com/scrape-pipeline/scrape-pipeline/libs/store

go 1.26
