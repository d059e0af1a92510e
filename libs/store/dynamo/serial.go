package dynamo

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Serial returns a Client that makes one call at a time through c.
//
// It is for moto_server: moto serves requests on concurrent threads without
// locking its tables, so two concurrent conditional writes of one item can
// both pass their condition (seen: a TransactWriteItems marker counted
// twice). Real DynamoDB evaluates a condition and applies the write
// atomically, and that is what tests on moto need to rely on; Serial gives
// them that atomicity back. Do not use it against DynamoDB.
func Serial(c Client) Client { return &serialClient{c: c} }

type serialClient struct {
	mu sync.Mutex
	c  Client
}

func (s *serialClient) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.GetItem(ctx, in, optFns...)
}

func (s *serialClient) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.PutItem(ctx, in, optFns...)
}

func (s *serialClient) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.UpdateItem(ctx, in, optFns...)
}

func (s *serialClient) Query(ctx context.Context, in *dynamodb.QueryInput, optFns ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.Query(ctx, in, optFns...)
}

func (s *serialClient) Scan(ctx context.Context, in *dynamodb.ScanInput, optFns ...func(*dynamodb.Options)) (*dynamodb.ScanOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.Scan(ctx, in, optFns...)
}

func (s *serialClient) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, optFns ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.TransactWriteItems(ctx, in, optFns...)
}
