module github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild/boot

go 1.26.0

require (
	github.com/aws/aws-lambda-go v1.55.1
	github.com/aws/aws-sdk-go-v2 v1.48.0
	github.com/aws/aws-sdk-go-v2/service/dynamodb v1.74.0
	github.com/aws/aws-sdk-go-v2/service/kinesis v1.56.13
	github.com/google/go-cmp v0.7.0
	github.com/scrape-pipeline/scrape-pipeline/libs/awsemu v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/libs/contract v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/libs/store v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/services/samplesite v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild v0.0.0
)

require (
	github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream v1.7.27 // indirect
	github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue v1.21.21 // indirect
	github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression v1.10.9 // indirect
	github.com/aws/aws-sdk-go-v2/internal/configsources v1.5.12 // indirect
	github.com/aws/aws-sdk-go-v2/internal/endpoints/v2 v2.8.12 // indirect
	github.com/aws/aws-sdk-go-v2/service/dynamodbstreams v1.47.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/internal/accept-encoding v1.13.25 // indirect
	github.com/aws/aws-sdk-go-v2/service/internal/endpoint-discovery v1.13.12 // indirect
	github.com/aws/aws-sdk-go-v2/service/sqs v1.53.0 // indirect
	github.com/aws/smithy-go v1.28.9 // indirect
	github.com/scrape-pipeline/scrape-pipeline/libs/backoff v0.0.0 // indirect
	github.com/scrape-pipeline/scrape-pipeline/libs/text v0.0.0 // indirect
)

replace (
	github.com/scrape-pipeline/scrape-pipeline/libs/awsemu => ../../../libs/awsemu
	github.com/scrape-pipeline/scrape-pipeline/libs/backoff => ../../../libs/backoff
	github.com/scrape-pipeline/scrape-pipeline/libs/contract => ../../../libs/contract
	github.com/scrape-pipeline/scrape-pipeline/libs/httpx => ../../../libs/httpx
	github.com/scrape-pipeline/scrape-pipeline/libs/store => ../../../libs/store
	github.com/scrape-pipeline/scrape-pipeline/libs/text => ../../../libs/text
	github.com/scrape-pipeline/scrape-pipeline/services/samplesite => ../../../services/samplesite
	github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild => ../
)
