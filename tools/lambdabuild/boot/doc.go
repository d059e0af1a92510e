// Package boot holds the runtime boot tests of the pipeline's functions:
// each services/<name>/cmd/lambda is built by the lambdabuild build package
// for this machine's architecture (the deployed zips differ only in
// GOARCH), unpacked from its zip as Lambda would, started under the Lambda
// Runtime Interface Emulator (package rie) with the environment infra gives
// it, and sent a recorded event of the kind its trigger delivers: API
// Gateway v2 requests for the HTTP functions (and, for the scraper, the
// schedule's input as EventBridge Scheduler delivers it), a Kinesis batch
// for the processor, an SQS batch of on-failure messages for the
// errorsink, a Firehose transformation batch for the archiver. The AWS
// services behind them are the emulators of libs/awsemu on loopback.
//
// It is a module of its own so that the lambdabuild module, which infra
// imports to build the zips, depends on nothing but the standard library.
// The package has no API: everything is in its tests and benchmarks
// (cold-start init duration per function, build time cold and cached).
package boot
