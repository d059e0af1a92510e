package awsemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
)

// Region is the region of every config the harness returns. kinesis-mock
// keeps streams per signing region, so it is also the emulator's AWS_REGION.
const Region = "eu-west-2"

// AccessKeyID and SecretAccessKey are the static credentials of every config
// the harness returns. The emulators accept any credentials; these are not a
// 12-digit account id, so both emulators use their default account.
const (
	AccessKeyID     = "AKIDAWSEMU"
	SecretAccessKey = "awsemu-secret"
)

// Main runs the tests of m and then stops every emulator this test binary
// started. It returns the exit code for os.Exit:
//
//	func TestMain(m *testing.M) { os.Exit(awsemu.Main(m)) }
//
// A failure to stop an emulator is printed to stderr and fails the run.
func Main(m *testing.M) int {
	code := m.Run()
	if err := stopAll(); err != nil {
		fmt.Fprintf(os.Stderr, "awsemu: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// Kinesis returns a config for Kinesis clients (kinesis.NewFromConfig) aimed
// at the binary's shared kinesis-mock, starting it on first use. It skips t
// when Node.js or npm is missing (fails it when CI is set) and fails t when
// the emulator cannot be started.
func Kinesis(t testing.TB) aws.Config {
	t.Helper()
	return newConfig(KinesisEndpoint(t))
}

// KinesisEndpoint returns the base URL (http://127.0.0.1:PORT) of the binary's
// shared kinesis-mock, starting it on first use; it skips or fails t like
// [Kinesis].
func KinesisEndpoint(t testing.TB) string {
	t.Helper()
	return kinesisMock.endpoint(t)
}

// Moto returns a config for DynamoDB and SQS clients aimed at the binary's
// shared moto_server, starting it on first use. It skips t when moto_server
// is missing (fails it when CI is set) and fails t when the emulator cannot
// be started.
func Moto(t testing.TB) aws.Config {
	t.Helper()
	return newConfig(MotoEndpoint(t))
}

// MotoEndpoint returns the base URL (http://127.0.0.1:PORT) of the binary's
// shared moto_server, starting it on first use; it skips or fails t like
// [Moto].
func MotoEndpoint(t testing.TB) string {
	t.Helper()
	return moto.endpoint(t)
}

// Endpoints are the base URLs of the emulators, for code that is not handed
// an aws.Config, such as a child process (devstack --aws, boot tests).
type Endpoints struct {
	// Kinesis is kinesis-mock's base URL.
	Kinesis string
	// DynamoDB, SQS and S3 are moto_server's base URL (one server serves
	// them all).
	DynamoDB string
	SQS      string
	S3       string
}

// All starts both emulators (if they are not running yet), side by side, and
// returns their endpoints; it skips or fails t like [Kinesis] and [Moto].
func All(t testing.TB) Endpoints {
	t.Helper()
	var kinesisStarted, motoStarted bool
	var wg sync.WaitGroup
	wg.Go(func() { kinesisStarted = kinesisMock.ensure() })
	wg.Go(func() { motoStarted = moto.ensure() })
	wg.Wait()
	k := kinesisMock.result(t, kinesisStarted)
	m := moto.result(t, motoStarted)
	return Endpoints{Kinesis: k, DynamoDB: m, SQS: m, S3: m}
}

// Env returns the environment, as KEY=value pairs to append to os.Environ()
// in exec.Cmd.Env, that points an SDK-built process at the emulators through
// the SDK's standard settings: AWS_ENDPOINT_URL_KINESIS, _DYNAMODB, _SQS,
// _S3, the region and the static credentials. AWS_ENDPOINT_URL is cleared so that a
// service not listed here cannot reach a real endpoint by way of it, and the
// shared config files are turned off so no profile of the machine applies.
func (e Endpoints) Env() []string {
	return []string{
		"AWS_ENDPOINT_URL=",
		"AWS_ENDPOINT_URL_KINESIS=" + e.Kinesis,
		"AWS_ENDPOINT_URL_DYNAMODB=" + e.DynamoDB,
		"AWS_ENDPOINT_URL_SQS=" + e.SQS,
		"AWS_ENDPOINT_URL_S3=" + e.S3,
		"AWS_REGION=" + Region,
		"AWS_DEFAULT_REGION=" + Region,
		"AWS_ACCESS_KEY_ID=" + AccessKeyID,
		"AWS_SECRET_ACCESS_KEY=" + SecretAccessKey,
		"AWS_SESSION_TOKEN=",
		"AWS_PROFILE=",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	}
}

// newConfig returns a config whose every client goes to endpoint. It is
// built by hand rather than by config.LoadDefaultConfig so that nothing from
// the machine (profiles, AWS_* variables) can send a test to real AWS.
func newConfig(endpoint string) aws.Config {
	creds := aws.Credentials{
		AccessKeyID:     AccessKeyID,
		SecretAccessKey: SecretAccessKey,
		Source:          "awsemu",
	}
	return aws.Config{
		Region: Region,
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return creds, nil
		}),
		BaseEndpoint: aws.String(endpoint),
		HTTPClient:   awshttp.NewBuildableClient(),
	}
}

var nameSeq atomic.Uint64

// maxNameLen keeps names valid for every service the harness emulates: SQS
// queue names are at most 80 characters, including a ".fifo" suffix.
const maxNameLen = 64

// Name returns a resource name (stream, table, queue) unique within the test
// binary and, with a random part, across binaries sharing an emulator. It is
// made of prefix and t's name, lower-cased, with every character outside
// [a-z0-9] turned into '-', so it is valid for Kinesis, DynamoDB and SQS.
// Tests share one emulator per binary, so they must not use fixed names.
func Name(t testing.TB, prefix string) string {
	t.Helper()
	var rnd [3]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatalf("awsemu: random name suffix: %v", err)
	}
	suffix := fmt.Sprintf("-%d-%s", nameSeq.Add(1), hex.EncodeToString(rnd[:]))
	base := sanitize(prefix + "-" + t.Name())
	if len(base) > maxNameLen-len(suffix) {
		base = strings.TrimRight(base[:maxNameLen-len(suffix)], "-")
	}
	if base == "" {
		base = "awsemu"
	}
	return base + suffix
}

// sanitize lower-cases s and turns each run of characters outside [a-z0-9]
// into one '-', trimming them at both ends.
func sanitize(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(r)
			continue
		}
		dash = true
	}
	return b.String()
}

// CreateStream creates the Kinesis stream name with shards shards through cfg
// and waits until it is ACTIVE (a few milliseconds on the harness's
// kinesis-mock). The stream is deleted when t ends. It fails t if the stream
// cannot be created or does not become ACTIVE within 30 seconds.
func CreateStream(t testing.TB, cfg aws.Config, name string, shards int32) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := kinesis.NewFromConfig(cfg)
	if _, err := client.CreateStream(ctx, &kinesis.CreateStreamInput{
		StreamName: aws.String(name),
		ShardCount: aws.Int32(shards),
	}); err != nil {
		t.Fatalf("awsemu: create stream %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := client.DeleteStream(ctx, &kinesis.DeleteStreamInput{
			StreamName:              aws.String(name),
			EnforceConsumerDeletion: aws.Bool(true),
		})
		if notFound := (*types.ResourceNotFoundException)(nil); err != nil && !errors.As(err, &notFound) {
			t.Errorf("awsemu: delete stream %s: %v", name, err)
		}
	})
	if err := waitStreamActive(ctx, client, name); err != nil {
		t.Fatalf("awsemu: %v", err)
	}
}

// waitStreamActive polls the stream's status until it is ACTIVE or ctx ends.
// It polls much faster than the SDK's waiter, whose minimum delay is 10s.
func waitStreamActive(ctx context.Context, client *kinesis.Client, name string) error {
	delay := 5 * time.Millisecond
	for {
		out, err := client.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{
			StreamName: aws.String(name),
		})
		if err != nil {
			return fmt.Errorf("describe stream %s: %w", name, err)
		}
		status := out.StreamDescriptionSummary.StreamStatus
		if status == types.StreamStatusActive {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stream %s still %s: %w", name, status, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}
