// Package replay rebuilds the pipeline's projections from the permanent
// event log, compares them with the live ones, and redrives the records
// that failed. It is the core of tools/replay; devstack's end-to-end tests
// call it the same way:
//
//	t, err := replay.New(ctx, replay.Options{Archive: liveDir + "/archive", Data: newDir, Verify: liveDir})
//	if err != nil { … }
//	defer t.Close()
//	report, err := t.Run(ctx) // errors.Is(err, replay.ErrDiffer) when the tables differ
//
// # Replay
//
// Projections are disposable: they are a function of the events. A replay
// reads the archive (libs/archive: a directory, devstack's <data>/archive,
// or an S3 bucket, Firehose's) with archive.Scan — objects in key order,
// so hour by hour, records in line order — and hands the records to the
// processor's own code, processor.Handler.Handle, in batches. The
// processor is the one source of truth of what an event does to the
// tables; replay only feeds it. Each partition key's records stay in
// archive order (all of a key go to one lane, and Handle keeps a key's
// records in order within a batch); keys are worked on in parallel, across
// lanes and within a batch. Because the projections are idempotent and
// order-independent across keys (conditional on event order, counted once
// per event), duplicates in the archive, any batch size and any number of
// lanes give the same tables.
//
// The target is a devstack data directory — a new one: the replay creates
// its tables.db as devstack does, and `go run ./tools/devstack --data DIR`
// then serves the rebuilt tables — or, with Options.AWS, the DynamoDB
// tables of another suffix (Options.Create makes them). A replay writes
// only into a target that holds nothing else: a directory with a devstack's
// stream in it, tables no replay wrote, or tables holding items are
// refused (ErrNotEmpty), as is a data directory another process has open
// (ErrInUse: bbolt allows one).
//
// # Stopping and resuming
//
// The checkpoint is the key of the last archive object whose records (and
// all earlier objects') are in the tables; it is kept with the tables
// (<data>/replay.json, synced after the tables are; with AWS an item of
// the runs table) every few seconds and at the end. When Run's context
// ends, the reading stops, the records read are applied, the checkpoint is
// recorded, and Run returns ErrInterrupted: the same command resumes after
// the checkpoint. Records applied past it are applied again, which changes
// nothing. A replay that completed, run again, reads only the objects
// added since (Options.FromStart reads everything again).
//
// # Verify
//
// Verify compares the rebuilt tables with live ones, item by item: movies,
// each movie's history, runs (the fields events decide: trigger, counts,
// status; not the start time the scraper stamps itself) and open error items
// (stage, reason, record; not the times or attempts). Processing leaves
// marks the events do not decide (error times, progress markers, leases,
// page states): those are not compared. Differences are printed with
// go-cmp (-live +rebuilt), and Run returns ErrDiffer.
//
// # Redrive
//
// A redrive feeds the records kept in the errors table through today's
// processor (processor.Handler.Project, which stores no errors), after a
// fix: a record that now succeeds is applied and its item resolved
// (store.ResolveError moves its run's count from failed to processed);
// one that still fails stays open with one more attempt and the new
// reason. Then it empties the error sink's dead-letter queue back into the
// on-failure queue (SQS's StartMessageMoveTask on AWS, sqs.MoveMessages in
// devstack), so the error sink stores those records when it runs next.
package replay
