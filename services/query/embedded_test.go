package query

import (
	"testing"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
)

func TestHandlerEmbedded(t *testing.T) {
	runHandlerSuite(t, embedded.NewMemory())
}

func TestLambdaEventsEmbedded(t *testing.T) {
	runLambdaEvents(t, embedded.NewMemory())
}
