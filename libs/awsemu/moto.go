package awsemu

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

var motoEmulator = emulator{
	name:         "moto_server",
	ports:        1,
	prepare:      prepareMoto,
	command:      motoCommand,
	probe:        probeMoto,
	readyTimeout: 2 * time.Minute,
}

func prepareMoto(context.Context) (prepared, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return prepared{}, &missingError{tool: "moto_server", hint: `pip install "moto[server]"`}
	}
	return prepared{bin: bin}, nil
}

// motoCommand runs moto_server on 127.0.0.1 only. The machine's AWS_* and
// MOTO_* variables are dropped so that none of them changes its behaviour.
func motoCommand(p prepared, ports []int) *exec.Cmd {
	cmd := exec.Command(p.bin, "-H", "127.0.0.1", "-p", strconv.Itoa(ports[0]))
	cmd.Dir = os.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "MOTO_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "AWS_DEFAULT_REGION="+Region)
	return cmd
}

// probeMoto calls DynamoDB and then SQS: moto loads a service's backend on its
// first request, so this also takes that cost out of the first test.
func probeMoto(ctx context.Context, endpoint string) error {
	cfg := newConfig(endpoint)
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	if _, err := dynamodb.NewFromConfig(cfg).ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		return err
	}
	_, err := sqs.NewFromConfig(cfg).ListQueues(ctx, &sqs.ListQueuesInput{})
	return err
}
