package dir_test

import (
	"testing"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/archivetest"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/dir"
)

func TestContract(t *testing.T) {
	archivetest.Run(t, func(t *testing.T) archive.Store {
		s, err := dir.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}
