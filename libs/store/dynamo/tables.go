package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
)

// AdminClient is the part of *dynamodb.Client that CreateTables uses.
type AdminClient interface {
	CreateTable(ctx context.Context, in *dynamodb.CreateTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error)
	DescribeTable(ctx context.Context, in *dynamodb.DescribeTableInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error)
	DescribeTimeToLive(ctx context.Context, in *dynamodb.DescribeTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error)
	UpdateTimeToLive(ctx context.Context, in *dynamodb.UpdateTimeToLiveInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error)
}

var _ AdminClient = (*dynamodb.Client)(nil)

// TableNames returns the deployed names of the tables for suffix.
func TableNames(suffix string) Tables {
	return Tables{
		Movies:  contract.Name(contract.MoviesTable.Base, suffix),
		Runs:    contract.Name(contract.RunsTable.Base, suffix),
		Errors:  contract.Name(contract.ErrorsTable.Base, suffix),
		History: contract.Name(contract.HistoryTable.Base, suffix),
	}
}

// CreateTables creates the tables of libs/contract for suffix
// (on-demand billing, their GSIs, TTL on their TTL attribute), waits until
// they are ACTIVE and returns their names. Tables that exist already are
// kept as they are (their TTL is still turned on), so it is safe to run
// again. It is for devstack --create and tests; infra creates the deployed
// tables from the same declarations.
func CreateTables(ctx context.Context, client AdminClient, suffix string) (Tables, error) {
	if err := contract.ValidSuffix(suffix); err != nil {
		return Tables{}, fmt.Errorf("create tables: %w", err)
	}
	names := TableNames(suffix)
	for _, t := range []struct {
		schema contract.Table
		name   string
	}{{contract.MoviesTable, names.Movies}, {contract.RunsTable, names.Runs}, {contract.ErrorsTable, names.Errors},
		{contract.HistoryTable, names.History}} {
		if err := createTable(ctx, client, t.schema, t.name); err != nil {
			return Tables{}, fmt.Errorf("create table %s: %w", t.name, err)
		}
	}
	return names, nil
}

// CreateTableInput is the CreateTable request for table t named name.
func CreateTableInput(t contract.Table, name string) *dynamodb.CreateTableInput {
	var defs []types.AttributeDefinition
	seen := map[string]bool{}
	def := func(a contract.Attr) {
		if !seen[a.Name] {
			seen[a.Name] = true
			defs = append(defs, types.AttributeDefinition{AttributeName: aws.String(a.Name),
				AttributeType: types.ScalarAttributeType(a.Type)})
		}
	}
	schema := func(hash contract.Attr, rng *contract.Attr) []types.KeySchemaElement {
		def(hash)
		ks := []types.KeySchemaElement{{AttributeName: aws.String(hash.Name), KeyType: types.KeyTypeHash}}
		if rng != nil {
			def(*rng)
			ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(rng.Name), KeyType: types.KeyTypeRange})
		}
		return ks
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   schema(t.Hash, t.Range),
	}
	for _, ix := range t.Indexes {
		proj := &types.Projection{ProjectionType: types.ProjectionType(ix.Projects)}
		if len(ix.NonKeyAttributes) > 0 {
			proj.NonKeyAttributes = slices.Clone(ix.NonKeyAttributes)
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(ix.Name),
			KeySchema:  schema(ix.Hash, ix.Range),
			Projection: proj,
		})
	}
	in.AttributeDefinitions = defs
	return in
}

func createTable(ctx context.Context, client AdminClient, t contract.Table, name string) error {
	_, err := client.CreateTable(ctx, CreateTableInput(t, name))
	var inUse *types.ResourceInUseException
	if err != nil && !errors.As(err, &inUse) {
		return wrap(err)
	}
	waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 100*time.Millisecond, 2*time.Second
	})
	if err := waiter.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, 5*time.Minute); err != nil {
		return fmt.Errorf("wait until active: %w", wrap(err))
	}
	if t.TTLAttribute == "" {
		return nil
	}
	ttl, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(name)})
	if err != nil {
		return fmt.Errorf("describe ttl: %w", wrap(err))
	}
	if d := ttl.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == t.TTLAttribute &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(name),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(t.TTLAttribute),
			Enabled:       aws.Bool(true),
		},
	})
	if err != nil {
		return fmt.Errorf("turn on ttl: %w", wrap(err))
	}
	return nil
}
