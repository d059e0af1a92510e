package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/internal/layout"
)

// PutError implements store.Store. An existing, unexpired item is updated
// in place (firstFailure and listSk kept with if_not_exists); an expired one
// that DynamoDB has not deleted yet is replaced, as if it were gone. An item
// whose ExpiresAt is zero expires contract.ErrorTTL after its LastFailure;
// ExpiresAt is kept in whole seconds, rounded up. Invalid UTF-8 in its text
// fields is replaced by U+FFFD; a Payload longer than store.MaxPayload is an
// error.
func (s *Store) PutError(ctx context.Context, e store.ErrorItem) error {
	e, err := layout.CleanError(e)
	if err != nil {
		return fmt.Errorf("put error: %w", err)
	}
	item, err := attributevalue.MarshalMap(toErrorItem(e))
	if err != nil {
		return fmt.Errorf("put error %q: %w", e.ID, err)
	}
	u := replaceUpdate(item, errorAttrs)
	u = u.Set(expression.Name(attrFirstFailure), expression.Name(attrFirstFailure).IfNotExists(expression.Value(item[attrFirstFailure])))
	u = u.Set(expression.Name(contract.AttrListSK), expression.Name(contract.AttrListSK).IfNotExists(expression.Value(item[contract.AttrListSK])))
	live := expression.AttributeNotExists(expression.Name(contract.AttrID)).Or(
		expression.Name(contract.AttrExpiresAt).GreaterThan(expression.Value(s.now().Unix())))
	expr, err := expression.NewBuilder().WithUpdate(u).WithCondition(live).Build()
	if err != nil {
		return fmt.Errorf("put error %q: build expression: %w", e.ID, err)
	}
	_, err = s.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(s.tables.Errors),
		Key:                       key(contract.AttrID, e.ID),
		UpdateExpression:          expr.Update(),
		ConditionExpression:       expr.Condition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
	}, s.opt)
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.tables.Errors), Item: item}, s.opt)
	}
	if err != nil {
		return fmt.Errorf("put error %q: %w", e.ID, wrap(err))
	}
	return nil
}

// ListErrors implements store.Store with a Query on byTime, newest first,
// leaving out expired items.
func (s *Store) ListErrors(ctx context.Context, limit int, token store.PageToken) (store.Page[store.ErrorItem], error) {
	limit, err := layout.ClampLimit(limit)
	if err != nil {
		return store.Page[store.ErrorItem]{}, fmt.Errorf("list errors: %w", err)
	}
	var start map[string]types.AttributeValue
	if len(token) > 0 {
		sk, err := layout.DecodeToken(token, layout.ListErrors, 0)
		if err != nil {
			return store.Page[store.ErrorItem]{}, fmt.Errorf("list errors: %w", err)
		}
		id, _ := layout.ErrorIDFromListSK(sk) // DecodeToken checked the form
		start = key(contract.AttrID, id)
		start[contract.AttrListPK] = &types.AttributeValueMemberS{Value: layout.ErrorsListPK}
		start[contract.AttrListSK] = &types.AttributeValueMemberS{Value: sk}
	}
	kc := expression.Key(contract.AttrListPK).Equal(expression.Value(layout.ErrorsListPK))
	live := expression.Name(contract.AttrExpiresAt).GreaterThan(expression.Value(s.now().Unix()))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).WithFilter(live).Build()
	if err != nil {
		return store.Page[store.ErrorItem]{}, fmt.Errorf("list errors: build expression: %w", err)
	}
	fetch := func(ctx context.Context, start map[string]types.AttributeValue, want int) ([]map[string]types.AttributeValue, map[string]types.AttributeValue, error) {
		out, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.tables.Errors),
			IndexName:                 aws.String(contract.ErrorsByTimeIndex),
			KeyConditionExpression:    expr.KeyCondition(),
			FilterExpression:          expr.Filter(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ScanIndexForward:          aws.Bool(false),
			Limit:                     aws.Int32(int32(want)),
			ExclusiveStartKey:         start,
		}, s.opt)
		if err != nil {
			return nil, nil, err
		}
		return out.Items, out.LastEvaluatedKey, nil
	}
	raw, err := collect(ctx, start, limit+1, fetch)
	if err != nil {
		return store.Page[store.ErrorItem]{}, fmt.Errorf("list errors: %w", wrap(err))
	}
	items, err := decodeItems(raw, limit, decodeError)
	if err != nil {
		return store.Page[store.ErrorItem]{}, fmt.Errorf("list errors: %w", err)
	}
	page := store.Page[store.ErrorItem]{Items: items}
	if len(raw) > limit {
		last := page.Items[limit-1]
		page.Next = layout.Token{Listing: layout.ListErrors, Key: layout.ErrorsListSK(last.FirstFailure, last.ID)}.Encode()
	}
	return page, nil
}
