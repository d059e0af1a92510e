package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/internal/layout"
)

// ApplyMovie implements store.Store with one conditional UpdateItem and,
// when m has a digest, a strongly consistent GetItem of the event's
// progress marker before it.
//
// Why a read, then a conditional write, rather than a TransactWriteItems
// with a ConditionCheck on the marker: the read costs one read request
// unit (strongly consistent, an item under 4 KB) and a few milliseconds;
// the transaction would cost two write units for the check and two for
// the update instead of one, about 15 times the added price, and
// transactions are slower than single writes. The read and the write are
// not atomic, which is safe because the processor applies the events of
// one movie one at a time, in stream order (one partition key, one shard),
// and the marker of an event is written only after its ApplyMovie: no
// writer can add a conflicting marker for this event between the two
// calls. The update's own condition still catches, atomically, a
// conflicting digest of the movie's latest event.
func (s *Store) ApplyMovie(ctx context.Context, m store.Movie) (store.Outcome, error) {
	if err := layout.CheckMovie(m); err != nil {
		return 0, fmt.Errorf("apply movie: %w", err)
	}
	if m.LastEventDigest != "" && m.LastRunID != "" {
		mk, ok, err := s.getMarker(ctx, m.LastRunID, m.LastEventID)
		if err != nil {
			return 0, fmt.Errorf("apply movie %q: read the event's progress marker: %w", m.ID, err)
		}
		if ok && mk.Digest != "" && mk.Digest != m.LastEventDigest {
			return store.Conflict, nil
		}
	}
	item, err := attributevalue.MarshalMap(toMovieItem(m))
	if err != nil {
		return 0, fmt.Errorf("apply movie %q: %w", m.ID, err)
	}
	upd := replaceUpdate(item, movieAttrs)
	if fs, ok := item[attrFirstSeen]; ok {
		upd = upd.Set(expression.Name(attrFirstSeen), expression.Name(attrFirstSeen).IfNotExists(expression.Value(fs)))
	}
	t, id := expression.Value(item[attrLastEventTime]), expression.Value(item[attrLastEventID])
	newer := expression.Name(attrLastEventTime).LessThan(t).Or(
		expression.Name(attrLastEventTime).Equal(t).And(expression.Name(attrLastEventID).LessThan(id)))
	if m.LastEventDigest != "" {
		// The same event id with another digest is a conflict, even when
		// its time makes it newer.
		newer = newer.And(expression.Name(attrLastEventID).NotEqual(id).Or(
			expression.AttributeNotExists(expression.Name(attrLastDigest)),
			expression.Name(attrLastDigest).Equal(expression.Value(m.LastEventDigest))))
	}
	cond := expression.AttributeNotExists(expression.Name(contract.AttrID)).Or(newer)
	expr, err := expression.NewBuilder().WithUpdate(upd).WithCondition(cond).Build()
	if err != nil {
		return 0, fmt.Errorf("apply movie %q: build expression: %w", m.ID, err)
	}
	in := updateInput(s.tables.Movies, key(contract.AttrID, m.ID), expr)
	in.ReturnValuesOnConditionCheckFailure = types.ReturnValuesOnConditionCheckFailureAllOld
	_, err = s.client.UpdateItem(ctx, in, s.opt)
	if err == nil {
		return store.Applied, nil
	}
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		return 0, fmt.Errorf("apply movie %q: %w", m.ID, wrap(err))
	}
	old := ccf.Item
	if old == nil {
		// No ALL_OLD item (an emulator without it): read it back. The
		// condition failed, so an item exists, and items are never deleted.
		proj, err := expression.NewBuilder().WithProjection(expression.NamesList(expression.Name(attrLastEventID),
			expression.Name(attrLastDigest), expression.Name(attrFirstSeen))).Build()
		if err != nil {
			return 0, fmt.Errorf("apply movie %q: read the newer event: build expression: %w", m.ID, err)
		}
		out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:                aws.String(s.tables.Movies),
			Key:                      key(contract.AttrID, m.ID),
			ConsistentRead:           aws.Bool(true),
			ProjectionExpression:     proj.Projection(),
			ExpressionAttributeNames: proj.Names(),
		}, s.opt)
		if err != nil {
			return 0, fmt.Errorf("apply movie %q: read the newer event: %w", m.ID, wrap(err))
		}
		old = out.Item
	}
	if stringAttr(old, attrLastEventID) != m.LastEventID {
		if err := s.lowerFirstSeen(ctx, m.ID, item[attrFirstSeen], old); err != nil {
			return 0, fmt.Errorf("apply movie %q: %w", m.ID, err)
		}
		return store.Stale, nil
	}
	if d := stringAttr(old, attrLastDigest); d != "" && m.LastEventDigest != "" && d != m.LastEventDigest {
		return store.Conflict, nil
	}
	return store.Duplicate, nil
}

// lowerFirstSeen sets the movie's first-seen time to fs when fs is earlier
// than the stored one (old, as the failed condition returned it): a stale
// event, older than the movie's latest, may still be the earliest seen, and
// the projection must not depend on the order of delivery. Times are
// stored fixed-width, so they compare as strings; the update's condition
// makes a concurrent lowering win or lose atomically.
func (s *Store) lowerFirstSeen(ctx context.Context, id string, fs types.AttributeValue, old map[string]types.AttributeValue) error {
	v, ok := fs.(*types.AttributeValueMemberS)
	if !ok || v.Value >= stringAttr(old, attrFirstSeen) {
		return nil
	}
	expr, err := expression.NewBuilder().
		WithUpdate(expression.Set(expression.Name(attrFirstSeen), expression.Value(fs))).
		WithCondition(expression.Name(attrFirstSeen).GreaterThan(expression.Value(fs))).Build()
	if err != nil {
		return fmt.Errorf("lower first seen: build expression: %w", err)
	}
	_, err = s.client.UpdateItem(ctx, updateInput(s.tables.Movies, key(contract.AttrID, id), expr), s.opt)
	var ccf *types.ConditionalCheckFailedException
	if err != nil && !errors.As(err, &ccf) {
		return fmt.Errorf("lower first seen: %w", wrap(err))
	}
	return nil
}

// GetMovie implements store.Store with a consistent GetItem.
func (s *Store) GetMovie(ctx context.Context, id string) (store.Movie, error) {
	if err := layout.CheckID("movie id", id); err != nil {
		return store.Movie{}, fmt.Errorf("get movie: %w: %w", store.ErrNotFound, err)
	}
	out, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(s.tables.Movies),
		Key:            key(contract.AttrID, id),
		ConsistentRead: aws.Bool(true),
	}, s.opt)
	if err != nil {
		return store.Movie{}, fmt.Errorf("get movie %q: %w", id, wrap(err))
	}
	if out.Item == nil {
		return store.Movie{}, fmt.Errorf("get movie %q: %w", id, store.ErrNotFound)
	}
	return decodeMovie(out.Item)
}

// ListMovies implements store.Store: a Scan without a year (DynamoDB's hash
// order), a Query on byYear with one.
func (s *Store) ListMovies(ctx context.Context, f store.MovieFilter, limit int, token store.PageToken) (store.Page[store.Movie], error) {
	limit, err := layout.ClampLimit(limit)
	if err != nil {
		return store.Page[store.Movie]{}, fmt.Errorf("list movies: %w", err)
	}
	listing := layout.ListMovies
	if f.Year != 0 {
		listing = layout.ListMoviesByYear
	}
	var start map[string]types.AttributeValue
	if len(token) > 0 {
		last, err := layout.DecodeToken(token, listing, f.Year)
		if err != nil {
			return store.Page[store.Movie]{}, fmt.Errorf("list movies: %w", err)
		}
		start = key(contract.AttrID, last)
		if f.Year != 0 {
			start[contract.AttrYear] = &types.AttributeValueMemberN{Value: strconv.Itoa(f.Year)}
		}
	}
	var raw []map[string]types.AttributeValue
	if f.Year == 0 {
		raw, err = s.scanAhead(ctx, dynamodb.ScanInput{
			TableName:      aws.String(s.tables.Movies),
			ConsistentRead: aws.Bool(true),
		}, start, limit)
	} else {
		kc := expression.Key(contract.AttrYear).Equal(expression.Value(f.Year))
		expr, berr := expression.NewBuilder().WithKeyCondition(kc).Build()
		if berr != nil {
			return store.Page[store.Movie]{}, fmt.Errorf("list movies: build expression: %w", berr)
		}
		raw, err = s.queryAhead(ctx, dynamodb.QueryInput{
			TableName:                 aws.String(s.tables.Movies),
			IndexName:                 aws.String(contract.MoviesByYearIndex),
			KeyConditionExpression:    expr.KeyCondition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		}, start, limit)
	}
	if err != nil {
		return store.Page[store.Movie]{}, fmt.Errorf("list movies: %w", wrap(err))
	}
	page, err := pageOf(raw, limit, decodeMovie, func(last store.Movie) layout.Token {
		return layout.Token{Listing: listing, Year: f.Year, Key: last.ID}
	})
	if err != nil {
		return store.Page[store.Movie]{}, fmt.Errorf("list movies: %w", err)
	}
	return page, nil
}

// queryAhead reads a listing's page with in, from start (nil: the
// beginning), one item ahead: until it holds limit+1 items or the listing
// ends, so that an item past the page says a next page exists. It sets
// in's Limit and ExclusiveStartKey.
func (s *Store) queryAhead(ctx context.Context, in dynamodb.QueryInput, start map[string]types.AttributeValue, limit int) ([]map[string]types.AttributeValue, error) {
	return collect(ctx, start, limit+1, func(ctx context.Context, start map[string]types.AttributeValue, want int) ([]map[string]types.AttributeValue, map[string]types.AttributeValue, error) {
		in.Limit, in.ExclusiveStartKey = aws.Int32(int32(want)), start
		out, err := s.client.Query(ctx, &in, s.opt)
		if err != nil {
			return nil, nil, err
		}
		return out.Items, out.LastEvaluatedKey, nil
	})
}

// scanAhead is queryAhead for a Scan.
func (s *Store) scanAhead(ctx context.Context, in dynamodb.ScanInput, start map[string]types.AttributeValue, limit int) ([]map[string]types.AttributeValue, error) {
	return collect(ctx, start, limit+1, func(ctx context.Context, start map[string]types.AttributeValue, want int) ([]map[string]types.AttributeValue, map[string]types.AttributeValue, error) {
		in.Limit, in.ExclusiveStartKey = aws.Int32(int32(want)), start
		out, err := s.client.Scan(ctx, &in, s.opt)
		if err != nil {
			return nil, nil, err
		}
		return out.Items, out.LastEvaluatedKey, nil
	})
}

// pageOf is the page of a listing read one item ahead (raw, see
// queryAhead): its first limit items decoded, and when raw holds more, a
// Next token made from the last of them.
func pageOf[T any](raw []map[string]types.AttributeValue, limit int, decode func(map[string]types.AttributeValue) (T, error), next func(last T) layout.Token) (store.Page[T], error) {
	items := make([]T, 0, min(len(raw), limit))
	for _, av := range raw[:min(len(raw), limit)] {
		v, err := decode(av)
		if err != nil {
			return store.Page[T]{}, err
		}
		items = append(items, v)
	}
	page := store.Page[T]{Items: items}
	if len(raw) > limit {
		page.Next = next(items[limit-1]).Encode()
	}
	return page, nil
}

// fetchFunc reads up to want items from start, returning them and where to
// go on (nil at the end).
type fetchFunc func(ctx context.Context, start map[string]types.AttributeValue, want int) (items []map[string]types.AttributeValue, next map[string]types.AttributeValue, err error)

// collect calls fetch until it has want items or the listing ends: a Scan
// or Query page may hold fewer items than its Limit (the 1 MB page cap, a
// filter expression).
func collect(ctx context.Context, start map[string]types.AttributeValue, want int, fetch fetchFunc) ([]map[string]types.AttributeValue, error) {
	var items []map[string]types.AttributeValue
	for {
		got, next, err := fetch(ctx, start, want-len(items))
		if err != nil {
			return nil, err
		}
		items = append(items, got...)
		if len(items) >= want || len(next) == 0 {
			return items, nil
		}
		start = next
	}
}
