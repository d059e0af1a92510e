package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/internal/layout"
)

// PutError implements store.Store. It also stores the payload's first
// store.PreviewBytes as "preview", which the byTime GSI projects for
// ListErrors. An existing, unexpired item is updated
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
	_, err = s.client.UpdateItem(ctx, updateInput(s.tables.Errors, key(contract.AttrID, e.ID), expr), s.opt)
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
// leaving out expired items. The index projects every attribute but the
// payload (contract.ErrorsListingAttributes), so a page reads its previews
// and never the payloads.
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
	raw, err := s.queryAhead(ctx, dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.Errors),
		IndexName:                 aws.String(contract.ErrorsByTimeIndex),
		KeyConditionExpression:    expr.KeyCondition(),
		FilterExpression:          expr.Filter(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(false),
	}, start, limit)
	if err != nil {
		return store.Page[store.ErrorItem]{}, fmt.Errorf("list errors: %w", wrap(err))
	}
	page, err := pageOf(raw, limit, decodeErrorListing, func(last store.ErrorItem) layout.Token {
		return layout.Token{Listing: layout.ListErrors, Key: layout.ErrorsListSK(last.FirstFailure, last.ID)}
	})
	if err != nil {
		return store.Page[store.ErrorItem]{}, fmt.Errorf("list errors: %w", err)
	}
	return page, nil
}

// GetError implements store.Store with a consistent GetItem.
func (s *Store) GetError(ctx context.Context, id string) (store.ErrorItem, error) {
	if err := layout.CheckID("error id", id); err != nil {
		return store.ErrorItem{}, fmt.Errorf("get error: %w: %w", store.ErrNotFound, err)
	}
	av, err := s.liveError(ctx, id, s.now())
	if err != nil {
		return store.ErrorItem{}, fmt.Errorf("get error %q: %w", id, err)
	}
	return decodeError(av)
}

// liveError reads error item id consistently: store.ErrNotFound when it is
// not there or expired at now (TTL deletes it later).
func (s *Store) liveError(ctx context.Context, id string, now time.Time) (map[string]types.AttributeValue, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.tables.Errors),
		Key:            key(contract.AttrID, id),
		ConsistentRead: aws.Bool(true),
	}, s.opt)
	if err != nil {
		return nil, wrap(err)
	}
	if out.Item == nil || layout.Expired(numberAttr(out.Item, contract.AttrExpiresAt), now) {
		return nil, store.ErrNotFound
	}
	return out.Item, nil
}

// ResolveError implements store.Store: a consistent read of the item and
// of its record's progress marker, then one TransactWriteItems that sets
// Resolved (conditioned on the item being there, unexpired and not yet
// resolved) and, when the marker said failed, updates the marker to
// processed (conditioned on it still saying failed) and moves the run's
// count with ADD failed -1, processed 1. If the marker's condition fails
// (it changed since the read) the whole is read and tried again.
func (s *Store) ResolveError(ctx context.Context, id string, at time.Time) (bool, error) {
	if err := errors.Join(layout.CheckID("error id", id), layout.CheckResolved(at)); err != nil {
		return false, fmt.Errorf("resolve error: %w", err)
	}
	for n := 1; n <= maxRounds; n++ {
		done, resolved, err := s.resolveOnce(ctx, id, at)
		if err != nil {
			return false, fmt.Errorf("resolve error %q: %w", id, err)
		}
		if done {
			return resolved, nil
		}
		if n < maxRounds && !nextRound(ctx, n) {
			break
		}
	}
	return false, fmt.Errorf("resolve error %q: %w: the item or its record's progress marker kept changing", id, store.ErrTransient)
}

// resolveOnce is one round of ResolveError; done is false when the marker
// changed under it.
func (s *Store) resolveOnce(ctx context.Context, id string, at time.Time) (done, resolved bool, err error) {
	now := s.now()
	av, err := s.liveError(ctx, id, now)
	if err != nil {
		return false, false, err
	}
	var it errorItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return false, false, fmt.Errorf("decode error item: %w", err)
	}
	if it.Resolved != "" {
		return true, false, nil
	}
	resolve := expression.Set(expression.Name(attrResolved), expression.Value(formatTime(at.UTC())))
	live := expression.AttributeExists(expression.Name(contract.AttrID)).And(
		expression.AttributeNotExists(expression.Name(attrResolved)),
		expression.Name(contract.AttrExpiresAt).GreaterThan(expression.Value(now.Unix())))
	items := []types.TransactWriteItem{}
	expr, err := expression.NewBuilder().WithUpdate(resolve).WithCondition(live).Build()
	if err != nil {
		return false, false, fmt.Errorf("build expression: %w", err)
	}
	items = append(items, txUpdate(s.tables.Errors, key(contract.AttrID, id), expr))
	if it.RunID != "" {
		eventKey := store.EventKey(it.EventID, it.ShardID, it.SequenceNumber)
		m, ok, err := s.getMarker(ctx, it.RunID, eventKey)
		if err != nil {
			return false, false, fmt.Errorf("read the record's progress marker: %w", err)
		}
		if ok && m.Counter == string(store.CounterFailed) {
			move, err := s.moveCount(it.RunID, eventKey, now)
			if err != nil {
				return false, false, err
			}
			items = append(items, move...)
		}
	}
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}, s.opt)
	if err == nil {
		return true, true, nil
	}
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) || len(tce.CancellationReasons) == 0 {
		return false, false, wrap(err)
	}
	if aws.ToString(tce.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
		return false, false, nil // resolved, expired or gone meanwhile: read again
	}
	if len(tce.CancellationReasons) > 1 && aws.ToString(tce.CancellationReasons[1].Code) == "ConditionalCheckFailed" {
		return false, false, nil // the marker changed: read again
	}
	return false, false, wrap(err)
}

// moveCount is the part of ResolveError's transaction that records the
// marker of eventKey as processed, if it still says failed, and moves one
// count of run runID from failed to processed.
func (s *Store) moveCount(runID, eventKey string, now time.Time) ([]types.TransactWriteItem, error) {
	mark := expression.Set(expression.Name(attrCounter), expression.Value(string(store.CounterProcessed)))
	stillFailed := expression.Name(attrCounter).Equal(expression.Value(string(store.CounterFailed))).And(
		expression.Name(contract.AttrExpiresAt).GreaterThan(expression.Value(now.Unix())))
	markExpr, err := expression.NewBuilder().WithUpdate(mark).WithCondition(stillFailed).Build()
	if err != nil {
		return nil, fmt.Errorf("build expression: %w", err)
	}
	move := expression.Add(expression.Name(string(store.CounterFailed)), expression.Value(-1)).
		Add(expression.Name(string(store.CounterProcessed)), expression.Value(1))
	moveExpr, err := expression.NewBuilder().WithUpdate(move).Build()
	if err != nil {
		return nil, fmt.Errorf("build expression: %w", err)
	}
	return []types.TransactWriteItem{
		txUpdate(s.tables.Runs, key(contract.AttrPK, layout.MarkerKey(runID, eventKey)), markExpr),
		txUpdate(s.tables.Runs, key(contract.AttrPK, layout.RunKey(runID)), moveExpr),
	}, nil
}
