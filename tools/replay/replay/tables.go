package replay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/scrape-pipeline/scrape-pipeline/libs/archive"
	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/dynamo"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store/embedded"
)

// Files of a devstack data directory that replay knows.
const (
	// TablesFile is the embedded tables in a data directory, as devstack
	// opens them.
	TablesFile = "tables.db"
	// StreamFile holds devstack's stream, checkpoints and queues.
	StreamFile = "stream.db"
	// CheckpointFile records how far a replay into the directory got.
	CheckpointFile = "replay.json"
)

var (
	// ErrInUse: another process (a devstack, a replay) has the data
	// directory's tables or stream open; bbolt allows one at a time.
	ErrInUse = errors.New("in use by another process")
	// ErrNotEmpty: a replay's target holds data that no replay of this
	// archive wrote.
	ErrNotEmpty = errors.New("target holds other data")
)

// tables is one side's tables: the target's or the live ones.
type tables struct {
	store.Store
	// desc names them for messages: "data directory X", "tables of
	// suffix S".
	desc string
	// checkpoints keeps a replay's checkpoint with the tables.
	checkpoints checkpoints
	close       func() error
}

// checkpoint is how far a replay into a target got.
type checkpoint struct {
	// Archive and the bounds say what is replayed; a replay resumes only
	// the same.
	Archive string    `json:"archive"`
	Since   time.Time `json:"since,omitzero"`
	Until   time.Time `json:"until,omitzero"`
	// After is the key of the last archive object whose records (and all
	// earlier objects') are in the tables; "" for none.
	After string `json:"after,omitempty"`
	// Complete is set when the replay read the archive to its end (as it
	// was then).
	Complete bool      `json:"complete"`
	Updated  time.Time `json:"updated"`
}

// same reports whether c is a replay of the same archive and bounds as d.
func (c checkpoint) same(d checkpoint) bool {
	return c.Archive == d.Archive && c.Since.Equal(d.Since) && c.Until.Equal(d.Until)
}

func (c checkpoint) String() string {
	s := c.Archive
	if !c.Since.IsZero() || !c.Until.IsZero() {
		s += fmt.Sprintf(" [%s, %s)", timeOrOpen(c.Since), timeOrOpen(c.Until))
	}
	return s
}

func timeOrOpen(t time.Time) string {
	if t.IsZero() {
		return "…"
	}
	return t.UTC().Format(time.RFC3339)
}

// checkpoints stores a target's checkpoint.
type checkpoints interface {
	// load returns the checkpoint, or false if there is none.
	load(ctx context.Context) (checkpoint, bool, error)
	// save makes the tables' writes so far durable, then stores c.
	save(ctx context.Context, c checkpoint) error
}

// embeddedOptions are those of every embedded store replay opens: no
// fsync per commit (a checkpoint syncs the file first), and no sweep of
// expired items (a replay writes a million markers; devstack sweeps them
// when it serves the tables).
func embeddedOptions() []embedded.Option {
	return []embedded.Option{embedded.WithNoSync(), embedded.WithSweepInterval(0)}
}

// openEmbedded opens the tables of data directory dir, which must exist.
func openEmbedded(dir, what string) (*tables, error) {
	path := filepath.Join(dir, TablesFile)
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s %s holds no %s: not a devstack data directory", what, dir, TablesFile)
		}
		return nil, fmt.Errorf("%s %s: %w", what, dir, err)
	}
	st, err := embedded.Open(path, embeddedOptions()...)
	if err != nil {
		return nil, openError(what, dir, err)
	}
	return &tables{Store: st, desc: "data directory " + dir, close: st.Close,
		checkpoints: fileCheckpoints{dir: dir}}, nil
}

// openError explains a failed open of a data directory's bbolt file.
func openError(what, dir string, err error) error {
	if errors.Is(err, berrors.ErrTimeout) {
		return fmt.Errorf("%s %s is %w (a devstack or a replay running on it?): stop it first: %w", what, dir, ErrInUse, err)
	}
	return fmt.Errorf("%s %s: %w", what, dir, err)
}

// openReplayDir prepares dir as a replay's target: a new or empty
// directory, or one a replay of the same archive and bounds left (whose
// checkpoint it returns, to resume). Anything else in it — a devstack's
// stream, another replay — is refused (ErrNotEmpty): a replay writes only
// into tables that hold nothing else.
func openReplayDir(ctx context.Context, dir string, want checkpoint) (*tables, checkpoint, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, checkpoint{}, fmt.Errorf("data directory: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, checkpoint{}, fmt.Errorf("data directory: %w", err)
	}
	var others []string
	hasTables := false
	for _, e := range entries {
		switch name := e.Name(); {
		case name == TablesFile:
			hasTables = true
		case name == CheckpointFile, strings.HasPrefix(name, "."):
		default:
			others = append(others, name)
		}
	}
	cps := fileCheckpoints{dir: dir}
	cp, found, err := cps.load(ctx)
	if err != nil {
		return nil, checkpoint{}, err
	}
	switch {
	case len(others) > 0 && found:
		return nil, checkpoint{}, fmt.Errorf("data directory %s: %w: %s besides the replay of %s (devstack ran on it since?): replay into a new directory",
			dir, ErrNotEmpty, strings.Join(others, ", "), cp)
	case len(others) > 0:
		return nil, checkpoint{}, fmt.Errorf("data directory %s: %w (%s): it is not a replay's; replay into a new directory",
			dir, ErrNotEmpty, strings.Join(others, ", "))
	case found && !cp.same(want):
		return nil, checkpoint{}, fmt.Errorf("data directory %s: %w: a replay of %s; this is a replay of %s: give the same --archive, --since and --until to resume, or replay into a new directory",
			dir, ErrNotEmpty, cp, want)
	case !found && hasTables:
		return nil, checkpoint{}, fmt.Errorf("data directory %s: %w: %s without %s, so no replay wrote it: replay into a new directory",
			dir, ErrNotEmpty, TablesFile, CheckpointFile)
	case !found:
		// The checkpoint comes first: a replay killed before its first
		// checkpoint leaves a directory it can resume.
		cp = want
		cp.Updated = time.Now().UTC()
		if err := cps.write(cp); err != nil {
			return nil, checkpoint{}, err
		}
	}
	// Bulk loading: the writes of many batches share one commit; a
	// checkpoint flushes them first.
	st, err := embedded.Open(filepath.Join(dir, TablesFile), append(embeddedOptions(), embedded.WithBulkLoad(0))...)
	if err != nil {
		return nil, checkpoint{}, openError("data directory", dir, err)
	}
	cps.tables, cps.flush = filepath.Join(dir, TablesFile), st.Flush
	return &tables{Store: st, desc: "data directory " + dir, close: st.Close, checkpoints: cps}, cp, nil
}

// fileCheckpoints keeps the checkpoint of a data directory's replay in
// CheckpointFile next to its tables.
type fileCheckpoints struct {
	dir string
	// tables is the tables file to sync before a checkpoint ("": none);
	// flush commits the store's writes first (nil: none to commit).
	tables string
	flush  func() error
}

func (f fileCheckpoints) path() string { return filepath.Join(f.dir, CheckpointFile) }

func (f fileCheckpoints) load(context.Context) (checkpoint, bool, error) {
	b, err := os.ReadFile(f.path())
	if errors.Is(err, fs.ErrNotExist) {
		return checkpoint{}, false, nil
	}
	if err != nil {
		return checkpoint{}, false, fmt.Errorf("read checkpoint: %w", err)
	}
	c, err := decodeCheckpoint(b)
	if err != nil {
		return checkpoint{}, false, fmt.Errorf("checkpoint %s: %w", f.path(), err)
	}
	return c, true, nil
}

// decodeCheckpoint reads a checkpoint as save wrote it (JSON); one that is
// not JSON, or names no archive, or holds an After that is no archive key,
// is an error (a file edited by hand, or damaged).
func decodeCheckpoint(b []byte) (checkpoint, error) {
	var c checkpoint
	if err := json.Unmarshal(b, &c); err != nil {
		return checkpoint{}, err
	}
	var errs []error
	if c.Archive == "" {
		errs = append(errs, errors.New("no archive"))
	}
	if c.After != "" {
		if err := archive.CheckKey(c.After); err != nil {
			errs = append(errs, fmt.Errorf("after: %w", err))
		}
	}
	if !c.Since.IsZero() && !c.Until.IsZero() && !c.Since.Before(c.Until) {
		errs = append(errs, fmt.Errorf("since %s is not before until %s", c.Since, c.Until))
	}
	return c, errors.Join(errs...)
}

// save commits the store's writes, syncs the tables file, then writes c.
// The store gathers its writes into large transactions and commits them
// without fsync, so the flush makes every write so far committed, and the
// sync durable after a machine crash too. (fsync flushes the file's pages
// whichever descriptor asks.)
func (f fileCheckpoints) save(_ context.Context, c checkpoint) error {
	if f.flush != nil {
		if err := f.flush(); err != nil {
			return fmt.Errorf("commit the tables before the checkpoint: %w", err)
		}
	}
	if f.tables != "" {
		if err := syncFile(f.tables); err != nil {
			return fmt.Errorf("sync tables before the checkpoint: %w", err)
		}
	}
	return f.write(c)
}

// write stores c atomically: a temporary file, synced, renamed over the
// checkpoint, the directory synced.
func (f fileCheckpoints) write(c checkpoint) error {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(f.dir, "."+CheckpointFile+"-*")
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), f.path())
	}
	if err == nil {
		err = syncFile(f.dir)
	}
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// dynamoAPI is the part of the DynamoDB client a Tool uses: the store's
// calls, creating and describing tables, and the checkpoint item.
type dynamoAPI interface {
	dynamo.Client
	dynamo.AdminClient
}

var _ dynamoAPI = (*dynamodb.Client)(nil)

// checkpointKey is the runs table item holding a replay's checkpoint (the
// runs table holds items of several kinds, by key prefix; see
// contract.RunsTable).
const checkpointKey = "REPLAY#checkpoint"

// openDynamo opens the tables of suffix through client. With create it
// makes those missing first; without, a missing table is an error that
// says to pass --create.
func openDynamo(ctx context.Context, client dynamoAPI, suffix string, create bool, serial bool) (*tables, error) {
	names := dynamo.TableNames(suffix)
	if create {
		if _, err := dynamo.CreateTables(ctx, client, suffix); err != nil {
			return nil, err
		}
	}
	var missing []string
	for _, name := range []string{names.Movies, names.Runs, names.Errors, names.History} {
		_, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		var nf *ddbtypes.ResourceNotFoundException
		switch {
		case errors.As(err, &nf):
			missing = append(missing, name)
		case err != nil:
			return nil, fmt.Errorf("describe table %s: %w", name, err)
		}
	}
	if len(missing) > 0 {
		hint := ""
		if !create {
			hint = " (pass --create to create them)"
		}
		return nil, fmt.Errorf("tables of suffix %s: %s missing%s", suffix, strings.Join(missing, ", "), hint)
	}
	var c dynamo.Client = client
	if serial {
		c = dynamo.Serial(client)
	}
	return &tables{Store: dynamo.New(c, names), desc: "tables of suffix " + suffix,
		checkpoints: dynamoCheckpoints{client: client, table: names.Runs}, close: func() error { return nil }}, nil
}

// prepareDynamo makes t, the tables of suffix, a replay's target: empty
// tables, or tables that a replay of the same archive and bounds left
// (whose checkpoint it returns).
func prepareDynamo(ctx context.Context, client dynamoAPI, t *tables, suffix string, want checkpoint) (checkpoint, error) {
	cp, found, err := t.checkpoints.load(ctx)
	if err != nil {
		return checkpoint{}, err
	}
	if found {
		if !cp.same(want) {
			return checkpoint{}, fmt.Errorf("%s: %w: a replay of %s; this is a replay of %s: give the same --archive, --since and --until to resume, or replay into tables of another suffix",
				t.desc, ErrNotEmpty, cp, want)
		}
		return cp, nil
	}
	names := dynamo.TableNames(suffix)
	for _, name := range []string{names.Movies, names.Runs, names.Errors, names.History} {
		out, err := client.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(name), Limit: aws.Int32(1),
			ProjectionExpression: aws.String("#k"), ExpressionAttributeNames: map[string]string{"#k": keyAttr(name, names)}})
		if err != nil {
			return checkpoint{}, fmt.Errorf("check table %s is empty: %w", name, err)
		}
		if len(out.Items) > 0 {
			return checkpoint{}, fmt.Errorf("%s: %w: table %s holds items: replay into tables of another suffix (--create makes them)",
				t.desc, ErrNotEmpty, name)
		}
	}
	cp = want
	cp.Updated = time.Now().UTC()
	return cp, t.checkpoints.save(ctx, cp)
}

// keyAttr is the hash key attribute of table name.
func keyAttr(name string, names dynamo.Tables) string {
	switch name {
	case names.Movies:
		return contract.MoviesTable.Hash.Name
	case names.Runs:
		return contract.RunsTable.Hash.Name
	case names.Errors:
		return contract.ErrorsTable.Hash.Name
	}
	return contract.HistoryTable.Hash.Name
}

// dynamoCheckpoints keeps a replay's checkpoint as one item of the target's
// runs table (key checkpointKey, attribute "checkpoint": the JSON). It has
// no listing keys, so no index and no listing sees it. DynamoDB writes are
// durable when they return, so save writes it at once.
type dynamoCheckpoints struct {
	client dynamoAPI
	table  string
}

func (d dynamoCheckpoints) load(ctx context.Context) (checkpoint, bool, error) {
	out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(d.table),
		Key:            map[string]ddbtypes.AttributeValue{contract.AttrPK: &ddbtypes.AttributeValueMemberS{Value: checkpointKey}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return checkpoint{}, false, fmt.Errorf("read checkpoint: %w", err)
	}
	if out.Item == nil {
		return checkpoint{}, false, nil
	}
	v, ok := out.Item["checkpoint"].(*ddbtypes.AttributeValueMemberS)
	if !ok {
		return checkpoint{}, false, fmt.Errorf("checkpoint item of table %s has no checkpoint attribute", d.table)
	}
	c, err := decodeCheckpoint([]byte(v.Value))
	if err != nil {
		return checkpoint{}, false, fmt.Errorf("checkpoint item of table %s: %w", d.table, err)
	}
	return c, true, nil
}

func (d dynamoCheckpoints) save(ctx context.Context, c checkpoint) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = d.client.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(d.table),
		Item: map[string]ddbtypes.AttributeValue{
			contract.AttrPK: &ddbtypes.AttributeValueMemberS{Value: checkpointKey},
			"checkpoint":    &ddbtypes.AttributeValueMemberS{Value: string(b)},
		},
	})
	if err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

// cleanPath returns p absolute and clean, to compare two paths.
func cleanPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return filepath.Clean(p)
}
