module example.com/root/services/hello

go 1.26

require (
	example.com/root/libs/greet v0.0.0
	github.com/aws/aws-lambda-go v1.55.1
)

replace example.com/root/libs/greet => ../../libs/greet
