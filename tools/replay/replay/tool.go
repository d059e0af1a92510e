package replay

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/dir"
	"github.com/scrape-pipeline/scrape-pipeline/libs/archive/s3"
	"github.com/scrape-pipeline/scrape-pipeline/tools/devstack/awsbackend"
)

// Report is what a Tool's Run did: one of its parts is set, for the job
// it did (a replay with Verify set has both Replay and Verify).
type Report struct {
	Replay  *ReplayReport
	Verify  *VerifyReport
	Redrive *RedriveReport
}

// Tool replays, verifies or redrives (see Options). New opens everything
// it needs and refuses what it must not touch; Run does the job; Close
// releases the data directories (bbolt lets one process have them).
type Tool struct {
	o      Options
	awsCfg aws.Config
	ddb    dynamoAPI

	archive     archive.Reader
	archiveName string
	cp          checkpoint // the replay's checkpoint, to resume from
	target      *tables
	live        *tables
	queues      deadLetters // redrive: the dead-letter queue and its source
}

// New validates o and opens what its job needs: the archive, the target's
// tables (a replay's prepared as described in Options), the live tables
// to verify against, the queues to redrive. A data directory another
// process has open is an error matching ErrInUse; a replay target holding
// other data one matching ErrNotEmpty.
func New(ctx context.Context, o Options) (_ *Tool, err error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	t := &Tool{o: o}
	defer func() {
		if err != nil {
			t.Close()
		}
	}()
	if o.AWS || strings.HasPrefix(o.Archive, "s3://") {
		if o.AWSConfig != nil {
			t.awsCfg = *o.AWSConfig
		} else if t.awsCfg, err = awsbackend.LoadConfig(ctx, o.Region, o.Profile); err != nil {
			return nil, err
		}
	}
	if o.AWS {
		t.ddb = dynamodb.NewFromConfig(t.awsCfg)
	}
	switch o.job() {
	case jobReplay:
		if err := t.openArchive(); err != nil {
			return nil, err
		}
		want := checkpoint{Archive: t.archiveName, Since: o.Since.UTC(), Until: o.Until.UTC()}
		if o.Since.IsZero() {
			want.Since = time.Time{}
		}
		if o.Until.IsZero() {
			want.Until = time.Time{}
		}
		if o.AWS {
			if t.target, err = openDynamo(ctx, t.ddb, o.Suffix, o.Create, o.SerialTables); err != nil {
				return nil, err
			}
			if t.cp, err = prepareDynamo(ctx, t.ddb, t.target, o.Suffix, want); err != nil {
				return nil, err
			}
		} else if t.target, t.cp, err = openReplayDir(ctx, o.Data, want); err != nil {
			return nil, err
		}
	case jobVerify, jobRedrive:
		if o.AWS {
			t.target, err = openDynamo(ctx, t.ddb, o.Suffix, false, o.SerialTables)
		} else {
			t.target, err = openEmbedded(o.Data, "data directory")
		}
		if err != nil {
			return nil, err
		}
	}
	if o.Verify != "" {
		if o.AWS {
			t.live, err = openDynamo(ctx, t.ddb, o.Verify, false, o.SerialTables)
		} else {
			t.live, err = openEmbedded(o.Verify, "live data directory")
		}
		if err != nil {
			return nil, err
		}
	}
	if o.job() == jobRedrive {
		if t.queues, err = t.openQueues(ctx); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// openArchive opens the archive of o.Archive: an S3 location or a
// directory, which must exist (a typo must not replay nothing).
func (t *Tool) openArchive() error {
	if strings.HasPrefix(t.o.Archive, "s3://") {
		loc, err := s3.ParseLocation(t.o.Archive)
		if err != nil {
			return err
		}
		client := awss3.NewFromConfig(t.awsCfg, func(o *awss3.Options) { o.UsePathStyle = t.o.S3PathStyle })
		st, err := s3.New(client, loc, s3.Options{})
		if err != nil {
			return err
		}
		t.archive, t.archiveName = st, loc.String()
		return nil
	}
	abs, err := filepath.Abs(t.o.Archive)
	if err != nil {
		return fmt.Errorf("archive %s: %w", t.o.Archive, err)
	}
	fi, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("archive: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("archive %s is not a directory (nor s3://BUCKET/PREFIX)", t.o.Archive)
	}
	st, err := dir.New(abs)
	if err != nil {
		return err
	}
	t.archive, t.archiveName = st, abs
	return nil
}

// Run does the job. It returns the report and:
//   - for a replay stopped by ctx, an error matching ErrInterrupted, once
//     the batches in flight are applied and the checkpoint is recorded;
//   - when Verify found differences, an error matching ErrDiffer (the
//     differences are in the report and printed to Options.Out);
//   - any other failure as it is.
//
// The report is printed to Options.Out as well.
func (t *Tool) Run(ctx context.Context) (Report, error) {
	var rep Report
	out := t.o.Out
	if t.o.job() == jobReplay {
		r := newReplayer(t.o, t.archive, t.target, t.cp)
		rr, err := r.run(ctx)
		rep.Replay = &rr
		printReplay(out, rr, t.archiveName, t.target.desc)
		if err != nil {
			return rep, err
		}
	}
	if t.o.Verify != "" {
		v, err := verify(ctx, t.live.Store, t.target.Store)
		if err != nil {
			return rep, fmt.Errorf("verify: %w", err)
		}
		rep.Verify = &v
		v.print(out, t.live.desc, t.target.desc, t.o.MaxDiffs)
		if !v.Same() {
			return rep, fmt.Errorf("%w: %d differences", ErrDiffer, len(v.Differences))
		}
	}
	if t.o.job() == jobRedrive {
		r, err := t.redrive(ctx)
		rep.Redrive = &r
		r.print(out, t.target.desc)
		if err != nil {
			return rep, err
		}
	}
	return rep, nil
}

func printReplay(w interface{ Write([]byte) (int, error) }, r ReplayReport, archiveName, target string) {
	state := "complete"
	if !r.Complete {
		state = "stopped"
	}
	fmt.Fprintf(w, "replay %s: %s events in %s (%s events/s) from %s into %s\n",
		state, thousands(r.Events), r.Duration.Round(time.Millisecond), thousands(int64(r.Rate())), archiveName, target)
	fmt.Fprintf(w, "  %s objects (%s); %s movie events (%s applied, %s duplicate, %s stale), %s run events, %s errors stored, %s retried\n",
		thousands(int64(r.Objects)), bytesString(r.Bytes), thousands(r.MovieEvents), thousands(r.Applied), thousands(r.Duplicates),
		thousands(r.Stale), thousands(r.RunEvents), thousands(r.Errors), thousands(r.Retried))
	if r.Checkpoint != "" {
		fmt.Fprintf(w, "  checkpoint: %s\n", r.Checkpoint)
	}
}

// Close releases the data directories and the queues' database.
func (t *Tool) Close() error {
	var errs []error
	for _, tb := range []*tables{t.target, t.live} {
		if tb != nil && tb.close != nil {
			errs = append(errs, tb.close())
		}
	}
	if t.queues != nil {
		errs = append(errs, t.queues.close())
	}
	return errors.Join(errs...)
}
