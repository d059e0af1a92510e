// Command lambda is the Lambda entry point of the hello test function.
package main

import (
	"os"

	"example.com/root/services/hello"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	prefix := os.Getenv("GREETING_PREFIX")
	if prefix == "" {
		prefix = "hello"
	}
	lambda.Start(hello.Handler{Prefix: prefix, Function: os.Getenv("AWS_LAMBDA_FUNCTION_NAME")}.Handle)
}
