package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/scrape-pipeline/scrape-pipeline/infra/pipeline"
	"github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild/build"
)

// distDir is where, under the repository root, the zips are written (git
// ignores /dist/).
const distDir = "dist/lambda"

// builtArtifacts builds the deployment zips with tools/lambdabuild: on the
// first Zip call, every function under services/*/cmd/lambda at once (in
// parallel, cached, byte-for-byte reproducible, so an unchanged service
// keeps its source code hash and is not redeployed).
type builtArtifacts struct {
	ctx context.Context
	log pulumi.Log

	once sync.Once
	zips map[string]build.Artifact
	err  error
}

var _ pipeline.Artifacts = (*builtArtifacts)(nil)

func newBuiltArtifacts(ctx context.Context, log pulumi.Log) *builtArtifacts {
	return &builtArtifacts{ctx: ctx, log: log}
}

// Zip implements pipeline.Artifacts.
func (b *builtArtifacts) Zip(name string) (string, string, error) {
	b.once.Do(b.build)
	if b.err != nil {
		return "", "", b.err
	}
	a, ok := b.zips[name]
	if !ok {
		return "", "", fmt.Errorf("no function %q under services/*/%s", name, build.LambdaDir)
	}
	return a.ZipPath, a.SHA256, nil
}

func (b *builtArtifacts) build() {
	b.err = func() error {
		wd, err := os.Getwd()
		if err != nil {
			return fmt.Errorf("build lambdas: %w", err)
		}
		root, err := build.FindRoot(wd)
		if err != nil {
			return fmt.Errorf("build lambdas: %w", err)
		}
		fns, err := build.Discover(root)
		if err != nil {
			return fmt.Errorf("build lambdas: %w", err)
		}
		arts, err := build.Build(b.ctx, build.Options{Root: root, OutDir: filepath.Join(root, filepath.FromSlash(distDir))}, fns...)
		if err != nil {
			return fmt.Errorf("build lambdas: %w", err)
		}
		b.zips = map[string]build.Artifact{}
		for _, a := range arts {
			b.zips[a.Function.Name] = a
			if b.log != nil {
				_ = b.log.Info(fmt.Sprintf("lambda %s: %s, %.1f MB, cached %v", a.Function.Name, a.ZipPath, float64(a.Size)/1e6, a.Cached), nil)
			}
		}
		return nil
	}()
}
