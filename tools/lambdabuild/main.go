// Command lambdabuild builds the deployment zip of every Lambda function in
// the repository (each services/<name>/cmd/lambda) into a directory:
//
//	go run ./tools/lambdabuild -out dist
//	go run ./tools/lambdabuild -out dist -arch amd64 scraper query
//
// The zips are reproducible (same source, same bytes) and cached; see the
// build package for how. The Pulumi program calls the same package, so
// these are the zips `pulumi up` deploys. Flags:
//
//	-out DIR     where <name>.zip is written (required)
//	-root DIR    repository root (default: the nearest go.work above the
//	             working directory)
//	-arch ARCH   arm64 (default, what the stack deploys) or amd64
//	-j N         functions built at once (default: GOMAXPROCS)
//	-cache DIR   zip cache (default: the user cache dir)
//	-no-cache    build everything, store nothing in the cache
//	-json        print the artifacts as JSON instead of a table
//
// Arguments, if any, restrict the build to the functions so named.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"text/tabwriter"

	"github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild/build"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lambdabuild:", err)
		os.Exit(1)
	}
}

// run parses args, builds and prints the artifacts to stdout; usage goes to
// stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lambdabuild", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts build.Options
	var asJSON bool
	fs.StringVar(&opts.OutDir, "out", "", "directory the zips are written to (required)")
	fs.StringVar(&opts.Root, "root", "", "repository root (default: nearest go.work above the working directory)")
	fs.StringVar(&opts.GOARCH, "arch", "arm64", "target architecture: arm64 or amd64")
	fs.IntVar(&opts.Jobs, "j", 0, "functions built at once (default: GOMAXPROCS)")
	fs.StringVar(&opts.CacheDir, "cache", "", "zip cache directory (default: the user cache dir)")
	fs.BoolVar(&opts.NoCache, "no-cache", false, "build everything and store nothing in the cache")
	fs.BoolVar(&asJSON, "json", false, "print the artifacts as JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: lambdabuild -out DIR [flags] [function ...]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if opts.OutDir == "" {
		fs.Usage()
		return errors.New("-out is required")
	}
	if opts.Root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return err
		}
		if opts.Root, err = build.FindRoot(wd); err != nil {
			return err
		}
	}
	fns, err := build.Discover(opts.Root)
	if err != nil {
		return err
	}
	if names := fs.Args(); len(names) > 0 {
		if fns, err = selectFunctions(fns, names); err != nil {
			return err
		}
	}
	arts, err := build.Build(ctx, opts, fns...)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(arts)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FUNCTION\tSIZE\tSHA256 (base64)\tCACHED\tZIP")
	for _, a := range arts {
		fmt.Fprintf(tw, "%s\t%.2f MiB\t%s\t%t\t%s\n", a.Function.Name, float64(a.Size)/(1<<20), a.SHA256, a.Cached, a.ZipPath)
	}
	return tw.Flush()
}

// selectFunctions keeps the functions named in names; an unknown name is an
// error listing the known ones.
func selectFunctions(all []build.Function, names []string) ([]build.Function, error) {
	var out []build.Function
	var errs []error
	for _, n := range names {
		i := slices.IndexFunc(all, func(f build.Function) bool { return f.Name == n })
		if i < 0 {
			known := make([]string, len(all))
			for j, f := range all {
				known[j] = f.Name
			}
			errs = append(errs, fmt.Errorf("unknown function %q (known: %v)", n, known))
			continue
		}
		out = append(out, all[i])
	}
	return out, errors.Join(errs...)
}
