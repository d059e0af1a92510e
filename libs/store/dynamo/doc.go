// Package dynamo is the store.Store on Amazon DynamoDB (aws-sdk-go-v2), over
// the three tables declared in libs/contract: movies (GSI byYear), runs
// (runs, leases, page states, progress markers; TTL) and errors (GSI byTime;
// TTL).
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
//     item).
//   - CountEvent is TransactWriteItems: a Put of the marker
//     "MARK#<run>#<event>" conditioned on its absence (or expiry), and an
//     UpdateItem ADD on the run's counter. A cancellation caused by the
//     marker's condition is a duplicate: (false, nil).
//   - FailEvent is the same transaction with the failed counter and a
//     third item: a Put of the error item (with its byTime keys and TTL) in
//     the errors table. A cancellation caused by the marker's condition
//     means the event was handled before: (false, nil), nothing written.
//   - ListMovies without a year is a Scan (DynamoDB's hash order, stable),
//     with a year a Query on byYear (id order); ListErrors is a Query on
//     byTime, newest first. Page tokens hold the listing and the last key;
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
