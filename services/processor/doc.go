// Package processor turns batches of Kinesis records into the pipeline's
// projections (movies, runs) and puts every record that can never be
// projected into the errors table, so that no record blocks its shard and
// none is lost.
//
// The core takes the project's own types: [Handler.Handle] takes a batch
// of [Record]s and returns a [Result]. Lambda's event types stay in package
// lambdaadapter, which maps a Kinesis event in and the partial batch
// response out; the Lambda entry point (cmd/lambda) hands its function to
// lambda.Start and devstack's event source mapping invokes that same
// function with the same event JSON. tools/replay calls the core directly
// with the records of the archive.
//
// # Outcomes of a record
//
// Each record of a batch ends in exactly one of these states:
//
//   - done: decoded and projected (movie.observed → ApplyMovie, which may
//     answer Applied, Duplicate or Stale, then RecordObservation into the
//     movie's history; scrape.started → StartRun, with its trigger;
//     scrape.completed → CompleteRun), its run progress counted; or a
//     permanent failure (undecodable, unknown type or version, invalid,
//     from the future: stamped more than Options.MaxClockSkew ahead of
//     the processor's clock, a conflict: an event id applied before with
//     other content, or refused by the store for good: store.ErrInvalid)
//     stored in errors and counted as failed for its run. Done records
//     are not reported.
//   - failed: any other store failure (store.ErrTransient, the context's
//     deadline or cancellation, a failed PutError, and every error the
//     store did not classify, such as a missing IAM permission or a table
//     being recreated: those are no verdict on the record, and storing it
//     in errors would move the checkpoint past it). Reported; the mapping
//     retries it and, when its retries run out, the on-failure
//     destination and errorsink store it. Failures not known to be
//     transient are logged at error level.
//   - skipped: an earlier record of the same partition key failed in this
//     batch, so this one was not attempted (applying it would let a later
//     event overtake an earlier one). Reported.
//   - not started: the deadline was near (see Options.DeadlineMargin).
//     Reported.
//
// # Duplicates and conflicts
//
// Event ids are deterministic (run, source, movie), so a record whose id
// was applied before is a redelivery. Each movie event carries a digest of
// its bytes into the projection and its run's progress marker: the same
// id with the same digest is a silent duplicate; with another digest it is
// a conflict (stage conflict in errors), never applied — even when the id
// is no longer its movie's latest event.
//
// # Redrive
//
// [Handler.Project] applies one record as Handle would but stores nothing
// in errors and returns the verdict: tools/replay's redrive feeds the
// records kept in errors through it after a fix.
//
// # Checkpoint semantics
//
// With ReportBatchItemFailures, Lambda checkpoints a shard just before the
// lowest sequence number in batchItemFailures and redelivers every record
// from there on, reported or not. The handler therefore reports every
// record that is not done in Result.Retry (the lowest failing one of each
// shard is among them) and nothing else; records that were done after the lowest failure
// are redelivered anyway and are idempotent (Duplicate outcomes, counted
// once). Every record below the lowest reported one is done: either
// projected or stored in errors.
//
// # Concurrency
//
// A batch is split by partition key. Up to Options.Concurrency keys are
// worked on at once; the records of one key are handled one after the
// other, in batch order, by one goroutine. Keys start in the order of their
// first record, so that when the deadline stops the batch the done records
// cluster at its start and the checkpoint advances as far as possible.
//
// # Metrics and logs
//
// Each batch writes one CloudWatch Embedded Metric Format line (see
// [Metrics]) to Options.Metrics and one slog summary line; every failed
// record is logged with its event id, run id, shard and sequence number.
package processor
