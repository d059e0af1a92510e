package build_test

import (
	"context"
	"fmt"
	"log"
	"path/filepath"

	"github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild/build"
)

// This is what the Pulumi program does: find the repository, build every
// function for Lambda (arm64) into dist/lambda, and hand each zip and its
// hash to the function resource (pulumi.NewFileArchive(a.ZipPath) uploads
// the zip as it is; SourceCodeHash: a.SHA256).
func ExampleBuild() {
	ctx := context.Background()
	root, err := build.FindRoot(".")
	if err != nil {
		log.Fatal(err)
	}
	fns, err := build.Discover(root)
	if err != nil {
		log.Fatal(err)
	}
	arts, err := build.Build(ctx, build.Options{Root: root, OutDir: filepath.Join(root, "dist", "lambda")}, fns...)
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range arts {
		fmt.Println(a.Function.Name, a.ZipPath, a.SHA256, a.Size)
	}
}
