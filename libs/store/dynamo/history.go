package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/scrape-pipeline/scrape-pipeline/libs/backoff"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/internal/layout"
)

// errNoHistoryTable: the store was made without a history table name.
var errNoHistoryTable = errors.New("no history table configured (dynamo.Tables.History)")

// Optimistic rounds (RecordObservation, ResolveError): a round is lost
// only to another writer of the same items; the next one starts after a
// jittered wait so that racing writers spread out.
const (
	maxRounds       = 10
	roundBackoff    = 5 * time.Millisecond
	maxRoundBackoff = 250 * time.Millisecond
)

// nextRound waits before round n+1 (n >= 1 rounds lost); false when ctx
// ends or its deadline comes first.
func nextRound(ctx context.Context, n int) bool {
	return backoff.Sleep(ctx, backoff.Jittered(n, roundBackoff, maxRoundBackoff))
}

// RecordObservation implements store.Store on the history table (see
// contract.HistoryTable). One round reads, strongly consistent, the
// movie's version item, the observation at o's position or the one before
// it (a Query of "O#" keys up to o's, newest first, Limit 1) and the one
// after it (Limit 1); then one TransactWriteItems puts the observation with
// its changed flag (and its change point), recomputes the successor's flag
// against it (updating the successor and putting or deleting its change
// point when the flag flips) and bumps the version, conditioned on the
// version read. The processor writes one movie's observations one at a
// time, in stream order, so rounds are rarely lost; when two writers of
// one movie do race (a redrive next to the live stream, a parallel
// replay), the version condition cancels one of them, which reads again.
// The position already recorded with the same values is a no-op: a crash
// between rounds leaves nothing half done, as each round is one
// transaction.
func (s *Store) RecordObservation(ctx context.Context, o store.Observation) error {
	if err := layout.CheckObservation(o); err != nil {
		return fmt.Errorf("record observation: %w", err)
	}
	pos := layout.HistoryPos(o.ObservedAt, o.EventID)
	if s.tables.History == "" {
		return fmt.Errorf("record observation %s of movie %q: %w", pos, o.MovieID, errNoHistoryTable)
	}
	for n := 1; n <= maxRounds; n++ {
		done, err := s.recordOnce(ctx, o, pos)
		if err != nil {
			return fmt.Errorf("record observation %s of movie %q: %w", pos, o.MovieID, err)
		}
		if done {
			return nil
		}
		if n < maxRounds && !nextRound(ctx, n) {
			break
		}
	}
	return fmt.Errorf("record observation %s of movie %q: %w: other writers of its history kept winning", pos,
		o.MovieID, store.ErrTransient)
}

// historyKey is the key of the item sk in movieID's history.
func historyKey(movieID, sk string) map[string]types.AttributeValue {
	k := key(contract.AttrPK, movieID)
	k[contract.AttrSK] = &types.AttributeValueMemberS{Value: sk}
	return k
}

// neighbour returns the first observation item of movieID from sk on in
// one direction: forward (sk > from) or backward (sk <= from).
func (s *Store) neighbour(ctx context.Context, movieID, from string, forward bool) (map[string]types.AttributeValue, error) {
	skCond := expression.Key(contract.AttrSK).LessThanEqual(expression.Value(from))
	if forward {
		skCond = expression.Key(contract.AttrSK).GreaterThan(expression.Value(from))
	}
	kc := expression.Key(contract.AttrPK).Equal(expression.Value(movieID)).And(skCond)
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return nil, fmt.Errorf("build expression: %w", err)
	}
	out, err := s.client.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.History),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(forward),
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(1),
	}, s.opt)
	if err != nil {
		return nil, wrap(err)
	}
	// The key range also holds the "C#" items (before "O#") and the
	// version item "V" (after): only an "O#" item is a neighbour.
	if len(out.Items) == 0 || !strings.HasPrefix(stringAttr(out.Items[0], contract.AttrSK), layout.HistoryObsPrefix) {
		return nil, nil
	}
	return out.Items[0], nil
}

// recordOnce is one round of RecordObservation; done is false when a
// condition failed (another writer won the round).
func (s *Store) recordOnce(ctx context.Context, o store.Observation, pos string) (bool, error) {
	table := aws.String(s.tables.History)
	vout, err := s.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: table, Key: historyKey(o.MovieID, layout.HistoryVersionSK), ConsistentRead: aws.Bool(true),
	}, s.opt)
	if err != nil {
		return false, wrap(err)
	}
	version := numberAttr(vout.Item, attrVersion)
	sk := layout.HistoryObsPrefix + pos
	obs := observationItem{PK: o.MovieID, SK: sk, RunID: o.RunID, Rank: o.Rank, Rating: o.Rating, Votes: o.Votes}

	before, err := s.neighbour(ctx, o.MovieID, sk, false)
	if err != nil {
		return false, err
	}
	var pred *observationItem
	if before != nil {
		_, it, err := observationOf(before, layout.HistoryObsPrefix)
		if err != nil {
			return false, err
		}
		if it.SK == sk { // recorded before
			if it.RunID != obs.RunID || !it.sameValues(obs) {
				return false, layout.Conflict("recorded before with other values")
			}
			return true, nil
		}
		pred = &it
	}
	after, err := s.neighbour(ctx, o.MovieID, sk, true)
	if err != nil {
		return false, err
	}
	obs.Changed = pred == nil || !pred.sameValues(obs)

	var items []types.TransactWriteItem
	put := func(it observationItem, cond *expression.ConditionBuilder) error {
		av, err := attributevalue.MarshalMap(it)
		if err != nil {
			return err
		}
		p := &types.Put{TableName: table, Item: av}
		if cond != nil {
			expr, err := expression.NewBuilder().WithCondition(*cond).Build()
			if err != nil {
				return fmt.Errorf("build expression: %w", err)
			}
			p.ConditionExpression, p.ExpressionAttributeNames, p.ExpressionAttributeValues = expr.Condition(), expr.Names(), expr.Values()
		}
		items = append(items, types.TransactWriteItem{Put: p})
		return nil
	}
	absent := expression.AttributeNotExists(expression.Name(contract.AttrSK))
	if err := put(obs, &absent); err != nil {
		return false, err
	}
	if obs.Changed {
		point := obs
		point.SK, point.Changed = layout.HistoryChangePrefix+pos, false
		if err := put(point, nil); err != nil {
			return false, err
		}
	}
	if after != nil {
		_, succ, err := observationOf(after, layout.HistoryObsPrefix)
		if err != nil {
			return false, err
		}
		if changed := !obs.sameValues(succ); changed != succ.Changed {
			flip := expression.Set(expression.Name(attrChanged), expression.Value(changed))
			exists := expression.AttributeExists(expression.Name(contract.AttrSK))
			expr, err := expression.NewBuilder().WithUpdate(flip).WithCondition(exists).Build()
			if err != nil {
				return false, fmt.Errorf("build expression: %w", err)
			}
			items = append(items, txUpdate(s.tables.History, historyKey(o.MovieID, succ.SK), expr))
			pointSK := layout.HistoryChangePrefix + strings.TrimPrefix(succ.SK, layout.HistoryObsPrefix)
			if changed {
				point := succ
				point.SK, point.Changed = pointSK, false
				if err := put(point, nil); err != nil {
					return false, err
				}
			} else {
				items = append(items, types.TransactWriteItem{Delete: &types.Delete{
					TableName: table, Key: historyKey(o.MovieID, pointSK),
				}})
			}
		}
	}
	// The version: the round's reads stand only if nobody wrote since.
	bump := expression.Set(expression.Name(attrVersion), expression.Value(version+1))
	unchanged := expression.AttributeNotExists(expression.Name(attrVersion))
	if version != 0 {
		unchanged = expression.Name(attrVersion).Equal(expression.Value(version))
	}
	vexpr, err := expression.NewBuilder().WithUpdate(bump).WithCondition(unchanged).Build()
	if err != nil {
		return false, fmt.Errorf("build expression: %w", err)
	}
	items = append(items, txUpdate(s.tables.History, historyKey(o.MovieID, layout.HistoryVersionSK), vexpr))
	_, err = s.client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items}, s.opt)
	if err == nil {
		return true, nil
	}
	var tce *types.TransactionCanceledException
	if errors.As(err, &tce) {
		for _, r := range tce.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return false, nil
			}
		}
	}
	return false, wrap(err)
}

// ListHistory implements store.Store with a strongly consistent Query of
// the movie's "C#" (change point) items within the filter's positions,
// newest first.
func (s *Store) ListHistory(ctx context.Context, movieID string, f store.HistoryFilter, limit int, token store.PageToken) (store.Page[store.Observation], error) {
	limit, err := layout.ClampLimit(limit)
	if err = errors.Join(err, layout.CheckHistory(movieID, f)); err != nil {
		return store.Page[store.Observation]{}, fmt.Errorf("list history: %w", err)
	}
	if s.tables.History == "" {
		return store.Page[store.Observation]{}, fmt.Errorf("list history of movie %q: %w", movieID, errNoHistoryTable)
	}
	lo, hi := layout.HistoryBounds(f)
	var start map[string]types.AttributeValue
	if len(token) > 0 {
		pos, err := layout.DecodeScopedToken(token, layout.ListHistory, movieID)
		if err == nil && (pos < lo || pos >= hi) {
			err = layout.Invalid(fmt.Errorf("%w: token outside the filter's bounds", store.ErrBadToken))
		}
		if err != nil {
			return store.Page[store.Observation]{}, fmt.Errorf("list history: %w", err)
		}
		start = historyKey(movieID, layout.HistoryChangePrefix+pos)
	}
	kc := expression.Key(contract.AttrPK).Equal(expression.Value(movieID)).And(
		expression.Key(contract.AttrSK).Between(expression.Value(layout.HistoryChangePrefix+lo),
			expression.Value(layout.HistoryChangePrefix+hi))) // hi is no key: Between excludes it too
	expr, err := expression.NewBuilder().WithKeyCondition(kc).Build()
	if err != nil {
		return store.Page[store.Observation]{}, fmt.Errorf("list history: build expression: %w", err)
	}
	raw, err := s.queryAhead(ctx, dynamodb.QueryInput{
		TableName:                 aws.String(s.tables.History),
		KeyConditionExpression:    expr.KeyCondition(),
		ExpressionAttributeNames:  expr.Names(),
		ExpressionAttributeValues: expr.Values(),
		ScanIndexForward:          aws.Bool(false),
		ConsistentRead:            aws.Bool(true),
	}, start, limit)
	if err != nil {
		return store.Page[store.Observation]{}, fmt.Errorf("list history of movie %q: %w", movieID, wrap(err))
	}
	decode := func(av map[string]types.AttributeValue) (store.Observation, error) {
		o, _, err := observationOf(av, layout.HistoryChangePrefix)
		return o, err
	}
	page, err := pageOf(raw, limit, decode, func(last store.Observation) layout.Token {
		return layout.Token{Listing: layout.ListHistory, Scope: movieID, Key: layout.HistoryPos(last.ObservedAt, last.EventID)}
	})
	if err != nil {
		return store.Page[store.Observation]{}, fmt.Errorf("list history of movie %q: %w", movieID, err)
	}
	return page, nil
}
