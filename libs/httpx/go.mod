module github.com/scrape-pipeline/scrape-pipeline/libs/httpx

go 1.26
