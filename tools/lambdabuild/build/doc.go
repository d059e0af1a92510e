// Package build compiles the pipeline's Lambda functions into deployment zips
// that are byte-for-byte reproducible, so that the Pulumi program (infra) sees
// an unchanged source_code_hash, and redeploys nothing, when no input changed.
//
// # What one build does
//
// For each [Function] (a directory holding the function's main package,
// by convention services/<name>/cmd/lambda), Build runs
//
//	go build -trimpath -buildvcs=false -ldflags="-s -w" -tags lambda.norpc -o bootstrap ./cmd/lambda
//
// with GOOS=linux, GOARCH=arm64 (Lambda's Graviton; [Options.GOARCH] changes
// it, e.g. to the host's architecture for the runtime boot tests) and
// CGO_ENABLED=0, and zips the binary with [WriteZip]: exactly one entry named
// bootstrap, Unix mode 0755, a fixed modification time ([ZipTime]) and
// deflate. -trimpath and -buildvcs=false keep
// the checkout's path and Git state out of the binary, -s -w drop the symbol
// table and DWARF, and lambda.norpc drops the RPC mode that the provided.al2023
// runtime never uses.
//
// # Module mode, not the workspace
//
// The go command runs inside the function's own module (the nearest go.mod
// above the function directory) with GOWORK=off. The deployed binary is then
// exactly what the service's go.mod and go.sum say, whatever else the
// repository's go.work lists; this is also what makes a fresh clone build
// (every module builds alone, with replace directives to the local libs),
// and what keeps the cache key to the function's module and its local
// replacements: a go.mod edit in an unrelated module of the workspace
// cannot change the binary.
//
// Deployed = tested: `go test work` tests the workspace's build list, so
// each module's go.mod must select the same versions. `go work sync` raises
// them to the workspace's; CI fails when it would change a go.mod, and a
// test of this package (TestDeployedBuildListsMatchTheWorkspace) builds every
// function as infra does and compares the build info embedded in each
// bootstrap (debug/buildinfo) with `go list -m all` of the workspace.
// GOFLAGS, GOEXPERIMENT, GOAMD64, GOARM64 and GOFIPS140 from the caller's
// environment are cleared, so a developer's settings do not leak into what
// gets deployed.
//
// # Cache
//
// Go's own build cache already makes recompiling unchanged packages free, but
// every go build still links, and linking the AWS SDK takes seconds. Build
// therefore keeps a second, content-addressed cache of finished zips in
// [Options.CacheDir], keyed by a SHA-256 over every input that can change the
// binary:
//
//   - the toolchain and the settings the go command will really use, as
//     reported by `go env -json` under the build's environment (GOVERSION,
//     GOOS, GOARCH, CGO_ENABLED, GOFLAGS, GOEXPERIMENT, GOARM64, GOAMD64,
//     GOFIPS140), so a GOTOOLCHAIN switch or a `go env -w` setting is seen;
//   - the build flags and the package's path inside its module;
//   - the path, executable bit and content of every file in the function's
//     module directory (nested modules, .git and node_modules excluded),
//     go.mod and go.sum included — go.sum pins, by hash, everything fetched
//     from the module proxy;
//   - the same for every directory that the module's go.mod replaces a
//     module with (the local libs). In module mode only the main module's
//     replace directives apply, so these are all the local sources a build
//     can read.
//
// The key over-approximates: it covers test files and testdata too, so
// editing a test rebuilds (and, the output being reproducible, yields the
// same zip). It never under-approximates for what the go command reads, with
// two documented exceptions: files reached through a symbolic link to a
// directory are not followed, and node_modules directories (an npm install
// tree, such as libs/awsemu's kinesis-mock, megabytes that no Go package
// embeds) are skipped. A hit copies the cached zip to the output
// directory without running go build; a miss builds, zips, stores the zip
// under its key and copies it. An output file that already has the right
// bytes is not rewritten, so its modification time stays put. The cache
// directory may be deleted at any time.
package build
