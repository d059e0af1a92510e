// Package awsemu gives tests real AWS-compatible endpoints on loopback, so the
// AWS adapters are tested against the wire protocol of the real services
// without an AWS account, Docker or a network:
//
//   - Kinesis: kinesis-mock (npm kinesis-local@0.6.2, the emulator LocalStack
//     uses), pinned in kinesis-mock/package.json and package-lock.json next to
//     this file. On first use the harness runs `npm ci` there (under a file
//     lock, so parallel test binaries do not race) when node_modules is missing
//     or was installed from another lockfile.
//   - DynamoDB and SQS: moto_server (moto[server] 5.2.1, [MotoVersion]), which
//     has the conditional writes, GSIs, TTL and TransactWriteItems the
//     adapters use. The one on PATH is used if there is one; otherwise the
//     harness creates a Python virtual environment of its own under the user
//     cache directory (scrape-pipeline-awsemu/moto-5.2.1) and pip-installs
//     the pinned moto[server] into it, once, under a file lock. It needs
//     only python3 (and pip's usual access to an index or to wheels in
//     PIP_FIND_LINKS).
//
// # Usage
//
// Each test binary that uses the harness hands its TestMain to [Main], which
// runs the tests and then stops the emulators it started:
//
//	func TestMain(m *testing.M) { os.Exit(awsemu.Main(m)) }
//
//	func TestPublish(t *testing.T) {
//		cfg := awsemu.Kinesis(t) // aws.Config aimed at kinesis-mock
//		client := kinesis.NewFromConfig(cfg)
//		stream := awsemu.Name(t, "events")
//		awsemu.CreateStream(t, cfg, stream, 1) // created and ACTIVE
//		...
//	}
//
// [Moto] does the same for DynamoDB and SQS clients. [All] starts both and
// returns their [Endpoints], whose [Endpoints.Env] passes them to a child
// process through the SDK's standard AWS_ENDPOINT_URL_<SERVICE> variables.
//
// # Lifecycle
//
// Each emulator starts lazily, on the first test that asks for it, on free
// loopback ports, and only counts as started once it answers a real API call
// (ListStreams, ListTables). One instance is shared by all tests of the binary,
// so tests must use unique resource names: [Name] makes them. The emulators run
// in their own process group and, on Linux, get SIGKILL when the test binary
// dies (even by SIGKILL or a `go test -timeout` panic), so none is left behind;
// [Main] stops them by their process-group id when the tests are done.
//
// kinesis-mock 0.6.2 always listens on 0.0.0.0; the harness preloads
// kinesis-mock/loopback.cjs into Node to move its listeners to 127.0.0.1.
//
// # Missing tools
//
// When node/npm is not installed, or moto_server is not and cannot be (no
// python3, or pip finds no moto: no network and no wheels), the tests that
// need it are skipped with a message naming the one command that fixes it,
// unless the environment variable CI is non-empty: then they fail, so CI
// cannot pass by skipping. A failed moto install is remembered for five
// minutes, so the other test binaries of the run do not each wait for pip
// to fail again.
package awsemu
