package embedded

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/internal/layout"
)

// The history keeps every observation of a movie in bHistory, keyed by
// historyPrefix(movie) + position ((time, event id), see
// layout.HistoryPos), each with a changed flag relative to the observation
// just before it; the change points are also in bHistoryChanges under the
// same key, so a listing reads only them. Inserting an observation sets its
// own flag against its predecessor and recomputes its successor's against
// it, in one transaction: the result does not depend on the order in which
// observations arrive (t1:A, t3:A, then t2:B turns t3 into a change point).
// RecordObservation is the only writer of the history: a bulk load caches
// each movie's greatest key (see bulkcache.go).

// historyPrefix is the key prefix of movieID's history: its length as a
// uvarint, then the id, so that no movie's keys continue another's.
func historyPrefix(movieID string) []byte { return appendHistoryPrefix(nil, movieID) }

func appendHistoryPrefix(dst []byte, movieID string) []byte {
	return append(binary.AppendUvarint(dst, uint64(len(movieID))), movieID...)
}

func sameValues(a, b observation) bool {
	return a.Rank == b.Rank && a.Rating == b.Rating && a.Votes == b.Votes
}

// RecordObservation implements store.Store.
func (s *Store) RecordObservation(ctx context.Context, o store.Observation) error {
	if err := layout.CheckObservation(o); err != nil {
		return fmt.Errorf("record observation: %w", err)
	}
	// One allocation: the key, which the transaction keeps.
	key := appendHistoryPrefix(make([]byte, 0, binary.MaxVarintLen16+len(o.MovieID)+len(layout.TimeFormat)+1+len(o.EventID)), o.MovieID)
	prefix := key[:len(key):len(key)]
	key = layout.AppendHistoryPos(key, o.ObservedAt, o.EventID)
	pos := key[len(prefix):] // for messages
	obs := observation{RunID: o.RunID, Rank: o.Rank, Rating: o.Rating, Votes: o.Votes}
	err := s.update(ctx, func(tx writeTx) error { return recordObservation(tx, o.MovieID, key, prefix, obs) })
	if err != nil {
		return fmt.Errorf("record observation %s of movie %q: %w", pos, o.MovieID, err)
	}
	return nil
}

// recordObservation records obs of movieID at key (prefix is the movie's
// key prefix). In a bulk load, an observation after the movie's greatest
// key waits in the cache; any other is looked up in the tree, once the
// movie's waiting ones are there.
func recordObservation(tx writeTx, movieID string, key, prefix []byte, obs observation) error {
	c := cacheOf(tx)
	if c != nil {
		tail, ok := c.history[movieID]
		if ok && bytes.Compare(key, tail.key) > 0 {
			// Not there yet; the greatest is its predecessor, and it has
			// no successor.
			obs.Changed = !sameValues(tail.obs, obs)
			p := pendingObs{key: key, v: encodeObservation(obs), changed: obs.Changed}
			set(c.history, &c.historyUndo, movieID, historyTail{key: key, obs: obs, gen: c.gen, pending: append(tail.pending, p)})
			return nil
		}
		u := tx.(*undoTx)
		if err := c.writeMoviePending(u, movieID); err != nil {
			return err
		}
		tx = rawTx{u} // the history cache is this function's business
	}
	if v := tx.get(bHistory, key); v != nil {
		cur, err := decodeObservation(v)
		if err != nil {
			return err
		}
		if cur.RunID != obs.RunID || !sameValues(cur, obs) {
			return layout.Conflict("observation %s of movie %q recorded before with other values", key[len(prefix):], movieID)
		}
		return nil
	}
	var pred, succ *observation
	var succKey []byte
	var derr error
	tx.descend(bHistory, key, func(k, v []byte) bool {
		if bytes.HasPrefix(k, prefix) {
			p, err := decodeObservation(v)
			pred, derr = &p, err
		}
		return false
	})
	tx.ascend(bHistory, key, func(k, v []byte) bool {
		if bytes.HasPrefix(k, prefix) {
			n, err := decodeObservation(v)
			succ, succKey, derr = &n, bytes.Clone(k), errors.Join(derr, err)
		}
		return false
	})
	if derr != nil {
		return derr
	}
	obs.Changed = pred == nil || !sameValues(*pred, obs)
	if err := putObservation(tx, key, obs, true); err != nil {
		return err
	}
	if succ == nil {
		if c != nil { // the movie's greatest key now
			set(c.history, &c.historyUndo, movieID, historyTail{key: key, obs: obs, gen: c.gen})
		}
		return nil
	}
	if changed := !sameValues(obs, *succ); changed != succ.Changed {
		if c != nil {
			// The successor may be the cached greatest key, whose
			// observation changes.
			drop(c.history, &c.historyUndo, movieID)
		}
		succ.Changed = changed
		if err := putObservation(tx, succKey, *succ, false); err != nil {
			return err
		}
		if !changed {
			return tx.del(bHistoryChanges, succKey)
		}
	}
	return nil
}

// putObservation stores o at key, and in the change points if it is one
// (removing it from there is the caller's business). With isNew the key
// is known to be in neither bucket.
func putObservation(tx writeTx, key []byte, o observation, isNew bool) error {
	put := tx.put
	if isNew {
		put = tx.insert
	}
	v := encodeObservation(o)
	if err := put(bHistory, key, v); err != nil {
		return err
	}
	if o.Changed {
		// Neither key nor value is ever modified: both buckets may hold them.
		return put(bHistoryChanges, key, v)
	}
	return nil
}

// ListHistory implements store.Store: a descending walk of the movie's
// change points.
func (s *Store) ListHistory(ctx context.Context, movieID string, f store.HistoryFilter, limit int, token store.PageToken) (store.Page[store.Observation], error) {
	limit, err := layout.ClampLimit(limit)
	if err = errors.Join(err, layout.CheckHistory(movieID, f)); err != nil {
		return store.Page[store.Observation]{}, fmt.Errorf("list history: %w", err)
	}
	lo, hi := layout.HistoryBounds(f)
	before := hi
	if len(token) > 0 {
		if before, err = decodeHistoryToken(token, movieID, lo, hi); err != nil {
			return store.Page[store.Observation]{}, fmt.Errorf("list history: %w", err)
		}
	}
	prefix := historyPrefix(movieID)
	items := make([]store.Observation, 0, min(limit+1, 64))
	err = s.view(ctx, func(tx readTx) error {
		var derr error
		tx.descend(bHistoryChanges, append(bytes.Clone(prefix), before...), func(k, v []byte) bool {
			if !bytes.HasPrefix(k, prefix) || string(k[len(prefix):]) < lo {
				return false
			}
			var o store.Observation
			o, derr = observationAt(movieID, string(k[len(prefix):]), v)
			if derr != nil {
				return false
			}
			items = append(items, o)
			return len(items) <= limit
		})
		return derr
	})
	if err != nil {
		return store.Page[store.Observation]{}, fmt.Errorf("list history of movie %q: %w", movieID, err)
	}
	page := store.Page[store.Observation]{Items: items}
	if len(items) > limit {
		last := items[limit-1]
		page.Items = items[:limit]
		page.Next = layout.Token{Listing: layout.ListHistory, Scope: movieID,
			Key: layout.HistoryPos(last.ObservedAt, last.EventID)}.Encode()
	}
	return page, nil
}

// decodeHistoryToken returns the position a history token continues
// before, which must lie within [lo, hi).
func decodeHistoryToken(token store.PageToken, movieID, lo, hi string) (string, error) {
	pos, err := layout.DecodeScopedToken(token, layout.ListHistory, movieID)
	if err != nil {
		return "", err
	}
	if pos < lo || pos >= hi {
		return "", layout.Invalid(fmt.Errorf("%w: token outside the filter's bounds", store.ErrBadToken))
	}
	return pos, nil
}

// observationAt decodes the history entry of movieID at pos.
func observationAt(movieID, pos string, v []byte) (store.Observation, error) {
	t, eventID, ok := layout.ParseHistoryPos(pos)
	if !ok {
		return store.Observation{}, fmt.Errorf("bad history position %q", pos)
	}
	o, err := decodeObservation(v)
	if err != nil {
		return store.Observation{}, err
	}
	return store.Observation{MovieID: movieID, ObservedAt: t, EventID: eventID, RunID: o.RunID,
		Rank: o.Rank, Rating: o.Rating, Votes: o.Votes}, nil
}
