module github.com/scrape-pipeline/scrape-pipeline/libs/contract

go 1.26
