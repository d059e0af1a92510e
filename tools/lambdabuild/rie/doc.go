// Package rie runs a Lambda function's bootstrap binary on this machine under
// the AWS Lambda Runtime Interface Emulator, the way the provided.al2023
// runtime runs it in AWS, so tests can prove a built function boots and
// answers real events without an AWS account or Docker.
//
// [Install] builds the emulator from the Go module proxy at the pinned
// [Version] (go install, so the emulator's own go.mod and go.sum decide its
// dependencies, verified against the checksum database) into a cache
// directory. [Start] runs it with the function's bootstrap on two free
// loopback ports — both --runtime-interface-emulator-address and
// --runtime-api-address are set, since the defaults (0.0.0.0:8080 and
// 127.0.0.1:9001) would clash between parallel tests and listen on every
// interface — and [Emulator.Invoke] posts one event to
// /2015-03-31/functions/function/invocations.
//
// What the emulator does that callers must know:
//
//   - A handler error comes back as HTTP 200 with a body such as
//     {"errorMessage":"…","errorType":"…"}; Invoke reads the body and returns
//     a *[FunctionError]. A runtime that exits (a failed init) gives a 502
//     with an empty body: Invoke returns a *[RuntimeError] with the tail of
//     the log. A timeout gives HTTP 200 with "Task timed out after N.00
//     seconds": Invoke returns an error wrapping [ErrTimeout].
//   - The function starts on the first invoke, not when the emulator starts.
//     The "Init Duration" of the emulator's REPORT line times an
//     asynchronous call and is not the function's init; the emulator's own
//     log line "INIT REPORT(durationMs: …)", from starting the bootstrap
//     until it first asks for an event, is. [Invocation.Init] carries that.
//   - Its memory figures are the configured size, not a measurement.
//   - The emulator forwards its whole environment to the function, so Start
//     gives it a clean one (see [Config.Env]) and sets its log level with a
//     flag: the functions' LOG_LEVEL variable would otherwise change it.
//   - It has no --help (that call waits forever).
//   - It runs the bootstrap in a process group of its own. [Emulator.Close]
//     asks the emulator to shut down (it then kills the runtime), and kills
//     whatever is left of both process groups after a grace period.
package rie
