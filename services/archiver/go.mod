module github.com/scrape-pipeline/scrape-pipeline/services/archiver

go 1.26

require (
	github.com/aws/aws-lambda-go v1.55.1
	github.com/google/go-cmp v0.7.0
	github.com/scrape-pipeline/scrape-pipeline/libs/archive v0.0.0
)

require (
	github.com/klauspost/compress v1.20.5 // indirect
	github.com/scrape-pipeline/scrape-pipeline/libs/text v0.0.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
)

replace (
	github.com/scrape-pipeline/scrape-pipeline/libs/archive => ../../libs/archive
	github.com/scrape-pipeline/scrape-pipeline/libs/awsemu => ../../libs/awsemu
	github.com/scrape-pipeline/scrape-pipeline/libs/text => ../../libs/text
)
