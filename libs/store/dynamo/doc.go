// Package dynamo is the store.Store on Amazon DynamoDB (aws-sdk-go-v2), over
// the four tables declared in libs/contract: movies (GSI byYear), runs
// (runs, leases, page states, progress markers; GSI byStart; TTL), errors
// (GSI byTime, projecting everything but the payload; TTL) and history
// (each movie's observations and change points).
//
// # API
//
//	client := dynamodb.NewFromConfig(cfg)
//	tables, err := dynamo.CreateTables(ctx, client, suffix) // devstack --create, tests
//	s := dynamo.New(client, tables)
//
// # How each operation maps to DynamoDB
//
//   - ApplyMovie is one UpdateItem that SETs every field (REMOVEs the
//     absent ones, so the projection is replaced, not merged), keeps
//     firstSeen with if_not_exists, under the condition
//     attribute_not_exists(id) OR lastEventTime < :t OR (lastEventTime = :t
//     AND lastEventId < :id). Times that are compared are stored as
//     fixed-width UTC strings, so string order is time order. When the
//     condition fails, ReturnValuesOnConditionCheckFailure=ALL_OLD returns
//     the stored event id, which tells Duplicate from Stale (with a
//     consistent GetItem as a fallback for an emulator that returns no
//     item). With a digest, a strongly consistent GetItem of the event's
//     progress marker comes first: a marker with another digest is a
//     Conflict, nothing written (why a read and not a transaction: see
//     [Store.ApplyMovie]); the update's condition also refuses the same
//     event id with another digest.
//   - CountEvent is TransactWriteItems: a Put of the marker
//     "MARK#<run>#<event>" conditioned on its absence (or expiry), and an
//     UpdateItem ADD on the run's counter. A cancellation caused by the
//     marker's condition is a duplicate: (false, nil), or store.ErrConflict
//     when the marker (returned with the cancellation, ALL_OLD, or read)
//     holds another digest.
//   - FailEvent is the same transaction with the failed counter and a
//     third item: a Put of the error item (with its byTime keys and TTL) in
//     the errors table. A cancellation caused by the marker's condition
//     means the event was handled before: (false, nil), nothing written.
//   - ListMovies without a year is a Scan (DynamoDB's hash order, stable),
//     with a year a Query on byYear (id order); ListErrors is a Query on
//     byTime, newest first, which holds a preview of each payload and never
//     the payload (GetError is a GetItem); ListRuns a Query on the sparse
//     byStart GSI, newest first, filtered by status in the adapter.
//   - ResolveError reads the item and its record's marker, then one
//     TransactWriteItems sets Resolved and, if the marker said failed,
//     updates it to processed and moves the run's count (ADD failed -1,
//     processed 1), each under a condition on what was read.
//   - RecordObservation reads the movie's history version and the
//     observation's neighbours, then one TransactWriteItems writes the
//     observation, its change point and its successor's, and bumps the
//     version under a condition (optimistic concurrency; a lost round is
//     read again after a jittered wait). ListHistory is one strongly
//     consistent Query of the movie's "C#" items. Page tokens hold the listing and the last key;
//     the adapter reads one item ahead so that the last page has a nil
//     Next.
//   - TTL: DynamoDB deletes expired items within days, so reads filter them
//     out (expiresAt <= now): expired markers are overwritten, expired
//     error items are not listed and are replaced on the next failure.
//
// # Failures
//
// Throttling, 5xx, transaction conflicts and timeouts are retried by the
// SDK's standard retryer with exponential backoff (see [WithRetry]) for as
// long as the context's deadline allows; what still fails is returned
// wrapped with store.ErrTransient. A failed condition is an outcome, never
// an error. Bad input is rejected before any call, with the same rules as
// the embedded store, as store.ErrInvalid; so is a top-level
// ValidationException. Every other failure (AccessDeniedException,
// ResourceNotFoundException, credential errors, unknown codes) is returned
// unclassified: it says nothing about the input, so a caller must not store
// the record as bad data.
package dynamo
