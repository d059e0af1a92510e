package dynamo_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/scrape-pipeline/scrape-pipeline/libs/awsemu"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(awsemu.Main(m)) }

var suffixSeq atomic.Uint64

// uniqueSuffix is a table-name suffix no other test (of this binary or of
// another one sharing moto_server) uses; contract.ValidSuffix allows 32
// characters.
func uniqueSuffix(t *testing.T) string {
	var rnd [4]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("st%d-%s", suffixSeq.Add(1), hex.EncodeToString(rnd[:]))
}

// newTables creates fresh tables on moto_server and deletes them when t
// ends.
func newTables(t *testing.T) (*dynamodb.Client, dynamo.Tables) {
	t.Helper()
	client := dynamodb.NewFromConfig(awsemu.Moto(t))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	tables, err := dynamo.CreateTables(ctx, client, uniqueSuffix(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, name := range []string{tables.Movies, tables.Runs, tables.Errors} {
			if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
				t.Errorf("delete table %s: %v", name, err)
			}
		}
	})
	return client, tables
}

func TestContractMoto(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		client, tables := newTables(t)
		return dynamo.New(client, tables)
	})
}
