//go:build linux

package rie_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/scrape-pipeline/scrape-pipeline/tools/lambdabuild/rie"
)

// Boot a function from its deployment zip (built for this machine's
// architecture) and send it one event.
func ExampleStart() {
	ctx := context.Background()
	emulator, err := rie.Install(ctx, "")
	if err != nil {
		log.Fatal(err)
	}
	bootstrap, err := rie.ExtractBootstrap("dist/query.zip", "/tmp/query")
	if err != nil {
		log.Fatal(err)
	}
	e, err := rie.Start(ctx, rie.Config{
		Emulator:     emulator,
		Bootstrap:    bootstrap,
		FunctionName: "query",
		Env:          map[string]string{"MOVIES_TABLE": "movies-dev"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	inv, err := e.Invoke(ctx, []byte(`{"version":"2.0","rawPath":"/movies"}`))
	var fe *rie.FunctionError
	switch {
	case errors.As(err, &fe):
		fmt.Println("handler error:", fe.Type, fe.Message)
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Printf("%s (init %s)\n", inv.Payload, inv.Init)
	}
}
