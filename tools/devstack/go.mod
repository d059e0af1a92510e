module github.com/scrape-pipeline/scrape-pipeline/tools/devstack

go 1.26.0

require (
	github.com/aws/aws-lambda-go v1.55.1
	github.com/chromedp/cdproto v0.160.1
	github.com/chromedp/chromedp v0.23.1
	github.com/scrape-pipeline/scrape-pipeline/libs/archive v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/libs/awsemu v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/libs/contract v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/libs/events v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/libs/httpx v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/libs/store v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/libs/stream v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/libs/text v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/services/errorsink v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/services/processor v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/services/query v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/services/samplesite v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/services/scraper v0.0.0
	go.etcd.io/bbolt v1.5.0
)

require (
	github.com/antchfx/htmlquery v1.3.7 // indirect
	github.com/antchfx/xpath v1.3.9 // indirect
	github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream v1.7.27 // indirect
	github.com/aws/aws-sdk-go-v2/credentials v1.21.0 // indirect
	github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue v1.21.21 // indirect
	github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression v1.10.9 // indirect
	github.com/aws/aws-sdk-go-v2/feature/ec2/imds v1.20.9 // indirect
	github.com/aws/aws-sdk-go-v2/internal/configsources v1.5.12 // indirect
	github.com/aws/aws-sdk-go-v2/internal/endpoints/v2 v2.8.12 // indirect
	github.com/aws/aws-sdk-go-v2/internal/v4a v1.5.12 // indirect
	github.com/aws/aws-sdk-go-v2/service/dynamodbstreams v1.47.0 // indirect
	github.com/aws/aws-sdk-go-v2/service/internal/accept-encoding v1.13.25 // indirect
	github.com/aws/aws-sdk-go-v2/service/internal/checksum v1.11.13 // indirect
	github.com/aws/aws-sdk-go-v2/service/internal/endpoint-discovery v1.13.12 // indirect
	github.com/aws/aws-sdk-go-v2/service/internal/presigned-url v1.14.12 // indirect
	github.com/aws/aws-sdk-go-v2/service/internal/s3shared v1.20.12 // indirect
	github.com/aws/aws-sdk-go-v2/service/signin v1.13.1 // indirect
	github.com/aws/aws-sdk-go-v2/service/sso v1.39.5 // indirect
	github.com/aws/aws-sdk-go-v2/service/ssooidc v1.44.5 // indirect
	github.com/aws/aws-sdk-go-v2/service/sts v1.52.0 // indirect
	github.com/awslabs/aws-lambda-go-api-proxy v0.16.2 // indirect
	github.com/go-json-experiment/json v0.0.0-20260213210345-44df1a37e875 // indirect
	github.com/golang/groupcache v0.0.0-20241129210726-2c02b8208cf8 // indirect
	github.com/klauspost/compress v1.20.5 // indirect
	golang.org/x/net v0.62.0 // indirect
	golang.org/x/text v0.43.0 // indirect
)

require (
	github.com/aws/aws-sdk-go-v2 v1.48.0
	github.com/aws/aws-sdk-go-v2/config v1.33.18
	github.com/aws/aws-sdk-go-v2/service/dynamodb v1.74.0
	github.com/aws/aws-sdk-go-v2/service/kinesis v1.56.13
	github.com/aws/aws-sdk-go-v2/service/s3 v1.115.0
	github.com/aws/aws-sdk-go-v2/service/sqs v1.53.0
	github.com/aws/smithy-go v1.28.9
	github.com/google/go-cmp v0.7.0
	github.com/scrape-pipeline/scrape-pipeline/libs/backoff v0.0.0
	github.com/scrape-pipeline/scrape-pipeline/tools/replay v0.0.0
	golang.org/x/sys v0.49.0 // indirect
)

replace (
	github.com/scrape-pipeline/scrape-pipeline/libs/archive => ../../libs/archive
	github.com/scrape-pipeline/scrape-pipeline/libs/awsemu => ../../libs/awsemu
	github.com/scrape-pipeline/scrape-pipeline/libs/contract => ../../libs/contract
	github.com/scrape-pipeline/scrape-pipeline/libs/events => ../../libs/events
	github.com/scrape-pipeline/scrape-pipeline/libs/httpx => ../../libs/httpx
	github.com/scrape-pipeline/scrape-pipeline/libs/store => ../../libs/store
	github.com/scrape-pipeline/scrape-pipeline/libs/stream => ../../libs/stream
	github.com/scrape-pipeline/scrape-pipeline/libs/text => ../../libs/text
	github.com/scrape-pipeline/scrape-pipeline/services/errorsink => ../../services/errorsink
	github.com/scrape-pipeline/scrape-pipeline/services/processor => ../../services/processor
	github.com/scrape-pipeline/scrape-pipeline/services/query => ../../services/query
	github.com/scrape-pipeline/scrape-pipeline/services/samplesite => ../../services/samplesite
	github.com/scrape-pipeline/scrape-pipeline/services/scraper => ../../services/scraper
)

replace github.com/scrape-pipeline/scrape-pipeline/libs/backoff => ../../libs/backoff

replace github.com/scrape-pipeline/scrape-pipeline/tools/replay => ../replay
