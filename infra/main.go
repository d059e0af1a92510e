// Command infra is the scrape pipeline's Pulumi program (Pulumi.yaml at the
// repository root points here): it reads the stack configuration, builds
// the Lambda zips with tools/lambdabuild and declares the whole stack with
// the pipeline package. `pulumi up -s courseX` runs it.
package main

import (
	"context"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		get := func(key string) string { return config.Get(ctx, key) }
		arts := newBuiltArtifacts(context.Background(), ctx.Log)
		_, err := program(ctx, get, arts)
		return err
	})
}
