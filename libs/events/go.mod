module github.com/scrape-pipeline/scrape-pipeline/libs/events

go 1.26
