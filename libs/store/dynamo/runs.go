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

// updateRun runs an UpdateItem on the run item of id.
func (s *Store) updateRun(ctx context.Context, id string, upd expression.UpdateBuilder) error {
	expr, err := expression.NewBuilder().WithUpdate(upd).Build()
	if err != nil {
		return fmt.Errorf("build expression: %w", err)
	}
	_, err = s.client.UpdateItem(ctx, updateInput(s.tables.Runs, key(contract.AttrPK, layout.RunKey(id)), expr), s.opt)
	return wrap(err)
}

// setIfAbsent adds SET name = if_not_exists(name, v) for a non-empty v.
func setIfAbsent(u expression.UpdateBuilder, name, v string) expression.UpdateBuilder {
	if v == "" {
		return u
	}
	return u.Set(expression.Name(name), expression.Name(name).IfNotExists(expression.Value(v)))
}

// setStart adds what StartRun and CompleteRun fill where it is still
// absent: the source, the trigger, the start time and with it the byStart
// GSI keys (set together, so a run is listed under its start time from
// the moment it has one).
func setStart(u expression.UpdateBuilder, r store.Run) expression.UpdateBuilder {
	u = setIfAbsent(u, "source", r.Source)
	u = setIfAbsent(u, attrTrigger, r.Trigger)
	if !r.StartedAt.IsZero() {
		u = setIfAbsent(u, attrStartedAt, formatTime(r.StartedAt))
		u = setIfAbsent(u, contract.AttrListPK, layout.RunsListPK)
		u = setIfAbsent(u, contract.AttrListSK, layout.RunsListSK(r.StartedAt, r.ID))
	}
	return u
}

// StartRun implements store.Store. It sets the run's Source, Trigger and
// StartedAt (with the byStart keys) where they are not set yet
// (if_not_exists), so a run that progress counting created first still
// gets them; everything else of an existing run is left as it is.
func (s *Store) StartRun(ctx context.Context, r store.Run) error {
	if err := layout.CheckRun(r); err != nil {
		return fmt.Errorf("start run: %w", err)
	}
	u := setStart(expression.Set(expression.Name(contract.AttrID), expression.Value(r.ID)), r)
	if err := s.updateRun(ctx, r.ID, u); err != nil {
		return fmt.Errorf("start run %q: %w", r.ID, err)
	}
	return nil
}

// CompleteRun implements store.Store. Source, Trigger and StartedAt are
// also taken from r where the run has none yet.
func (s *Store) CompleteRun(ctx context.Context, r store.Run) error {
	if err := layout.CheckRun(r); err != nil {
		return fmt.Errorf("complete run: %w", err)
	}
	item, err := attributevalue.MarshalMap(runItem{
		FinishedAt: formatTime(r.FinishedAt), Completed: true, Published: r.Published,
		PublishFailed: r.PublishFailed, Skipped: r.Skipped, Pages: r.Pages, Unchanged: r.Unchanged,
		DurationMs: r.DurationMs, Error: r.Error,
	})
	if err != nil {
		return fmt.Errorf("complete run %q: %w", r.ID, err)
	}
	u := replaceUpdate(item, runFinalAttrs)
	u = setStart(u.Set(expression.Name(contract.AttrID), expression.Value(r.ID)), r)
	if err := s.updateRun(ctx, r.ID, u); err != nil {
		return fmt.Errorf("complete run %q: %w", r.ID, err)
	}
	return nil
}

// CountEvent implements store.Store with TransactWriteItems: the marker's
// Put (conditioned on its absence or expiry) and the counter's ADD commit
// together or not at all. When the marker exists and digest is set, the
// stored digest comes back with the cancellation (ALL_OLD), or from a
// consistent GetItem where the answer lacks it.
func (s *Store) CountEvent(ctx context.Context, runID, eventID string, c store.Counter, digest string) (bool, error) {
	if err := errors.Join(layout.CheckID("run id", runID), layout.CheckID("event id", eventID), layout.CheckCounter(c),
		layout.CheckDigest(digest)); err != nil {
		return false, fmt.Errorf("count event: %w", err)
	}
	counted, err := s.transactMarker(ctx, runID, eventID, c, digest, nil)
	if err != nil {
		return false, fmt.Errorf("count event %q of run %q: %w", eventID, runID, err)
	}
	return counted, nil
}

// FailEvent implements store.Store with TransactWriteItems: the marker's
// Put (conditioned on its absence or expiry, as CountEvent's), the ADD to
// the run's failed counter and the Put of the error item commit together
// or not at all. e is cleaned as PutError cleans it and carries every
// attribute PutError writes (byTime keys, TTL); an item with e.ID
// (possible only if it outlived its event's marker) is replaced by e.
func (s *Store) FailEvent(ctx context.Context, runID, eventID string, e store.ErrorItem) (bool, error) {
	e, err := layout.CleanError(e)
	if err = errors.Join(layout.CheckID("run id", runID), layout.CheckID("event id", eventID), err); err != nil {
		return false, fmt.Errorf("fail event: %w", err)
	}
	item, err := attributevalue.MarshalMap(toErrorItem(e))
	if err != nil {
		return false, fmt.Errorf("fail event %q of run %q: %w", eventID, runID, err)
	}
	failed, err := s.transactMarker(ctx, runID, eventID, store.CounterFailed, "", &types.TransactWriteItem{
		Put: &types.Put{TableName: aws.String(s.tables.Errors), Item: item},
	})
	if err != nil {
		return false, fmt.Errorf("fail event %q of run %q: %w", eventID, runID, err)
	}
	return failed, nil
}

// transactMarker writes, in one TransactWriteItems, the progress marker of
// event eventID of run runID (conditioned on its absence or expiry), the
// ADD of one to counter c of the run, and extra if it is not nil. It
// reports false, with nothing written, when the marker's condition
// cancelled the transaction, and then an error matching store.ErrConflict
// if digest is set and the marker holds another one; other failures are
// classified by wrap.
func (s *Store) transactMarker(ctx context.Context, runID, eventID string, c store.Counter, digest string, extra *types.TransactWriteItem) (bool, error) {
	now := s.now()
	marker, err := attributevalue.MarshalMap(markerItem{
		PK: layout.MarkerKey(runID, eventID), Counter: string(c), Digest: digest,
		ExpiresAt: layout.EpochSeconds(now.Add(layout.MarkerTTL)),
	})
	if err != nil {
		return false, err
	}
	absent := expression.AttributeNotExists(expression.Name(contract.AttrPK)).Or(
		expression.Name(contract.AttrExpiresAt).LessThanEqual(expression.Value(now.Unix())))
	condExpr, err := expression.NewBuilder().WithCondition(absent).Build()
	if err != nil {
		return false, fmt.Errorf("build expression: %w", err)
	}
	add := expression.Set(expression.Name(contract.AttrID), expression.Value(runID)).
		Add(expression.Name(string(c)), expression.Value(1))
	updExpr, err := expression.NewBuilder().WithUpdate(add).Build()
	if err != nil {
		return false, fmt.Errorf("build expression: %w", err)
	}
	items := []types.TransactWriteItem{
		{Put: &types.Put{
			TableName:                           aws.String(s.tables.Runs),
			Item:                                marker,
			ConditionExpression:                 condExpr.Condition(),
			ExpressionAttributeNames:            condExpr.Names(),
			ExpressionAttributeValues:           condExpr.Values(),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		txUpdate(s.tables.Runs, key(contract.AttrPK, layout.RunKey(runID)), updExpr),
	}
	if extra != nil {
		items = append(items, *extra)
	}
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}, s.opt)
	if err == nil {
		return true, nil
	}
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) || len(tce.CancellationReasons) == 0 ||
		aws.ToString(tce.CancellationReasons[0].Code) != "ConditionalCheckFailed" {
		return false, wrap(err)
	}
	if digest == "" {
		return false, nil
	}
	var old markerItem
	if item := tce.CancellationReasons[0].Item; item != nil {
		if err := attributevalue.UnmarshalMap(item, &old); err != nil {
			return false, fmt.Errorf("decode the marker: %w", err)
		}
	} else if old, _, err = s.getMarker(ctx, runID, eventID); err != nil {
		return false, fmt.Errorf("read the marker: %w", err)
	}
	if old.Digest != "" && old.Digest != digest {
		return false, layout.Conflict("counted before with digest %q, now %q", old.Digest, digest)
	}
	return false, nil
}

// getMarker reads the progress marker of eventID in run runID (strongly
// consistent); an expired one is absent.
func (s *Store) getMarker(ctx context.Context, runID, eventID string) (markerItem, bool, error) {
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.tables.Runs),
		Key:            key(contract.AttrPK, layout.MarkerKey(runID, eventID)),
		ConsistentRead: aws.Bool(true),
	}, s.opt)
	if err != nil {
		return markerItem{}, false, wrap(err)
	}
	var m markerItem
	if out.Item == nil {
		return m, false, nil
	}
	if err := attributevalue.UnmarshalMap(out.Item, &m); err != nil {
		return markerItem{}, false, fmt.Errorf("decode marker: %w", err)
	}
	if layout.Expired(m.ExpiresAt, s.now()) {
		return markerItem{}, false, nil
	}
	return m, true, nil
}

// ListRuns implements store.Store with a Query on the sparse byStart GSI,
// newest first, filtering by status in the adapter (a status is derived
// from several attributes, which a filter expression cannot compute).
func (s *Store) ListRuns(ctx context.Context, f store.RunFilter, limit int, token store.PageToken) (store.Page[store.Run], error) {
	limit, err := layout.ClampLimit(limit)
	if err = errors.Join(err, layout.CheckRunFilter(f)); err != nil {
		return store.Page[store.Run]{}, fmt.Errorf("list runs: %w", err)
	}
	var start map[string]types.AttributeValue
	if len(token) > 0 {
		sk, err := layout.DecodeScopedToken(token, layout.ListRuns, string(f.Status))
		if err != nil {
			return store.Page[store.Run]{}, fmt.Errorf("list runs: %w", err)
		}
		id, _ := layout.RunIDFromListSK(sk) // DecodeScopedToken checked the form
		start = key(contract.AttrPK, layout.RunKey(id))
		start[contract.AttrListPK] = &types.AttributeValueMemberS{Value: layout.RunsListPK}
		start[contract.AttrListSK] = &types.AttributeValueMemberS{Value: sk}
	}
	kc := expression.Key(contract.AttrListPK).Equal(expression.Value(layout.RunsListPK))
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return store.Page[store.Run]{}, fmt.Errorf("list runs: build expression: %w", err)
	}
	var page store.Page[store.Run]
	items := make([]store.Run, 0, min(limit+1, 64))
	var lastSK string
	examined := 0
	for {
		want := limit + 1 - len(items)
		if f.Status != "" {
			want = max(want, 100) // a filter skips runs: read ahead
		}
		out, err := s.client.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.tables.Runs),
			IndexName:                 aws.String(contract.RunsByStartIndex),
			KeyConditionExpression:    expr.KeyCondition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
			ScanIndexForward:          aws.Bool(false),
			Limit:                     aws.Int32(int32(min(want, layout.MaxRunsExamined-examined))),
			ExclusiveStartKey:         start,
		}, s.opt)
		if err != nil {
			return store.Page[store.Run]{}, fmt.Errorf("list runs: %w", wrap(err))
		}
		for _, av := range out.Items {
			r, err := decodeRun(av)
			if err != nil {
				return store.Page[store.Run]{}, fmt.Errorf("list runs: %w", err)
			}
			examined++
			lastSK = stringAttr(av, contract.AttrListSK)
			if f.Status != "" && r.Status() != f.Status {
				continue
			}
			if items = append(items, r); len(items) > limit {
				last := items[limit-1]
				page.Items = items[:limit]
				page.Next = layout.Token{Listing: layout.ListRuns, Scope: string(f.Status),
					Key: layout.RunsListSK(last.StartedAt, last.ID)}.Encode()
				return page, nil
			}
		}
		if len(out.LastEvaluatedKey) == 0 {
			break
		}
		if examined >= layout.MaxRunsExamined {
			page.Next = layout.Token{Listing: layout.ListRuns, Scope: string(f.Status), Key: lastSK}.Encode()
			break
		}
		start = out.LastEvaluatedKey
	}
	page.Items = items
	return page, nil
}

// GetRun implements store.Store with a consistent GetItem.
func (s *Store) GetRun(ctx context.Context, id string) (store.Run, error) {
	if err := layout.CheckID("run id", id); err != nil {
		return store.Run{}, fmt.Errorf("get run: %w: %w", store.ErrNotFound, err)
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.tables.Runs),
		Key:            key(contract.AttrPK, layout.RunKey(id)),
		ConsistentRead: aws.Bool(true),
	}, s.opt)
	if err != nil {
		return store.Run{}, fmt.Errorf("get run %q: %w", id, wrap(err))
	}
	if out.Item == nil {
		return store.Run{}, fmt.Errorf("get run %q: %w", id, store.ErrNotFound)
	}
	return decodeRun(out.Item)
}

// AcquireLease implements store.Store with a PutItem conditioned on the
// lease being absent, expired at now, or held by holder (who may take it
// again, extending it to now+ttl).
func (s *Store) AcquireLease(ctx context.Context, host, holder string, now time.Time, ttl time.Duration) (bool, time.Duration, error) {
	if err := layout.CheckLease(host, holder, ttl); err != nil {
		return false, 0, fmt.Errorf("acquire lease: %w", err)
	}
	until := now.Add(ttl)
	item, err := attributevalue.MarshalMap(leaseItem{
		PK: layout.LeaseKey(host), Holder: holder, Until: until.UnixNano(), ExpiresAt: layout.EpochSeconds(until),
	})
	if err != nil {
		return false, 0, fmt.Errorf("acquire lease: %w", err)
	}
	cond := expression.AttributeNotExists(expression.Name(contract.AttrPK)).Or(
		expression.Name(attrHolder).Equal(expression.Value(holder)),
		expression.Name(attrUntil).LessThanEqual(expression.Value(now.UnixNano())))
	expr, err := expression.NewBuilder().WithCondition(cond).Build()
	if err != nil {
		return false, 0, fmt.Errorf("acquire lease: build expression: %w", err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                           aws.String(s.tables.Runs),
		Item:                                item,
		ConditionExpression:                 expr.Condition(),
		ExpressionAttributeNames:            expr.Names(),
		ExpressionAttributeValues:           expr.Values(),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}, s.opt)
	if err == nil {
		return true, 0, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return false, 0, fmt.Errorf("acquire lease of %q: %w", host, wrap(err))
	}
	old := ccf.Item
	if old == nil {
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(s.tables.Runs),
			Key:            key(contract.AttrPK, layout.LeaseKey(host)),
			ConsistentRead: aws.Bool(true),
		}, s.opt)
		if err != nil {
			return false, 0, fmt.Errorf("acquire lease of %q: read the holder's lease: %w", host, wrap(err))
		}
		old = out.Item
	}
	return false, max(time.Duration(numberAttr(old, attrUntil)-now.UnixNano()), 0), nil
}

// PageState implements store.Store.
func (s *Store) PageState(ctx context.Context, url string) (store.PageState, error) {
	if err := layout.CheckURL(url); err != nil {
		return store.PageState{}, fmt.Errorf("page state: %w: %w", store.ErrNotFound, err)
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.tables.Runs),
		Key:            key(contract.AttrPK, layout.PageKey(url)),
		ConsistentRead: aws.Bool(true),
	}, s.opt)
	if err != nil {
		return store.PageState{}, fmt.Errorf("page state of %q: %w", url, wrap(err))
	}
	if out.Item == nil {
		return store.PageState{}, fmt.Errorf("page state of %q: %w", url, store.ErrNotFound)
	}
	var it pageItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return store.PageState{}, fmt.Errorf("page state of %q: decode: %w", url, err)
	}
	fetched, err := parseTime(it.FetchedAt)
	if err != nil {
		return store.PageState{}, fmt.Errorf("page state of %q: %w", url, err)
	}
	return store.PageState{URL: it.URL, ETag: it.ETag, LastModified: it.LastModified, FetchedAt: fetched}, nil
}

// PutPageState implements store.Store with a PutItem.
func (s *Store) PutPageState(ctx context.Context, ps store.PageState) error {
	if err := layout.CheckPageState(ps); err != nil {
		return fmt.Errorf("put page state: %w", err)
	}
	item, err := attributevalue.MarshalMap(pageItem{
		PK: layout.PageKey(ps.URL), URL: ps.URL, ETag: ps.ETag, LastModified: ps.LastModified,
		FetchedAt: formatTime(ps.FetchedAt),
	})
	if err != nil {
		return fmt.Errorf("put page state: %w", err)
	}
	_, err = s.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.tables.Runs), Item: item}, s.opt)
	if err != nil {
		return fmt.Errorf("put page state of %q: %w", ps.URL, wrap(err))
	}
	return nil
}
