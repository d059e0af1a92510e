module github.com/scrape-pipeline/scrape-pipeline/libs/httpx

go 1.26

require (
	github.com/aws/aws-lambda-go v1.55.1
	github.com/awslabs/aws-lambda-go-api-proxy v0.16.2
)
