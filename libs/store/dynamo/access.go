package dynamo

import "github.com/scrape-pipeline/scrape-pipeline/libs/contract"

// Access is one IAM permission a Store method needs: a DynamoDB action on
// one of the stack's tables (a contract base name) or on one of its
// indexes. TransactWriteItems has no action of its own: IAM authorises each
// item's action (PutItem, UpdateItem, …) on its table.
type Access struct {
	Table  string // contract.MoviesTableBase, RunsTableBase, ErrorsTableBase or HistoryTableBase
	Index  string // "" for the table itself
	Action string // e.g. "dynamodb:UpdateItem"
}

// Accesses lists, for each Store method, every permission its calls need,
// the rare paths included. The Pulumi program's least-privilege policies
// are checked against it through each service's Store interface, and a
// test records the calls each method really makes (against moto_server)
// and fails when this table and the code disagree.
var Accesses = map[string][]Access{
	// With a digest, a GetItem of the event's progress marker; then a
	// conditional UpdateItem; when the condition fails without the old item
	// in the answer, a GetItem tells Duplicate, Stale and Conflict apart.
	"ApplyMovie": {{contract.MoviesTableBase, "", "dynamodb:UpdateItem"}, {contract.MoviesTableBase, "", "dynamodb:GetItem"},
		{contract.RunsTableBase, "", "dynamodb:GetItem"}},
	"GetMovie": {{contract.MoviesTableBase, "", "dynamodb:GetItem"}},
	// Scan of the table for all movies, Query of byYear for one year.
	"ListMovies": {{contract.MoviesTableBase, "", "dynamodb:Scan"}, {contract.MoviesTableBase, contract.MoviesByYearIndex, "dynamodb:Query"}},

	"StartRun":    {{contract.RunsTableBase, "", "dynamodb:UpdateItem"}},
	"CompleteRun": {{contract.RunsTableBase, "", "dynamodb:UpdateItem"}},
	// History: GetItem of the version, two Query (the neighbours), then
	// TransactWriteItems of Puts (observation, change points), Updates
	// (successor, version) and a Delete (a successor's change point).
	"RecordObservation": {{contract.HistoryTableBase, "", "dynamodb:GetItem"}, {contract.HistoryTableBase, "", "dynamodb:Query"},
		{contract.HistoryTableBase, "", "dynamodb:PutItem"}, {contract.HistoryTableBase, "", "dynamodb:UpdateItem"},
		{contract.HistoryTableBase, "", "dynamodb:DeleteItem"}},
	"ListHistory": {{contract.HistoryTableBase, "", "dynamodb:Query"}},

	// TransactWriteItems: Put of the marker, Update of the counter; when a
	// marker with a digest cancels it without the old item in the answer, a
	// GetItem reads the stored digest.
	"CountEvent": {{contract.RunsTableBase, "", "dynamodb:PutItem"}, {contract.RunsTableBase, "", "dynamodb:UpdateItem"},
		{contract.RunsTableBase, "", "dynamodb:GetItem"}},
	// TransactWriteItems: the marker and counter, and Put of the error item.
	"FailEvent": {{contract.RunsTableBase, "", "dynamodb:PutItem"}, {contract.RunsTableBase, "", "dynamodb:UpdateItem"}, {contract.ErrorsTableBase, "", "dynamodb:PutItem"}},
	"GetRun":    {{contract.RunsTableBase, "", "dynamodb:GetItem"}},
	"ListRuns":  {{contract.RunsTableBase, contract.RunsByStartIndex, "dynamodb:Query"}},
	// A conditional PutItem; when another holder has the lease, a GetItem
	// reads when it frees up.
	"AcquireLease": {{contract.RunsTableBase, "", "dynamodb:PutItem"}, {contract.RunsTableBase, "", "dynamodb:GetItem"}},
	"PageState":    {{contract.RunsTableBase, "", "dynamodb:GetItem"}},
	"PutPageState": {{contract.RunsTableBase, "", "dynamodb:PutItem"}},

	// A conditional UpdateItem keeping FirstFailure; a PutItem replaces an
	// expired item.
	"PutError":   {{contract.ErrorsTableBase, "", "dynamodb:UpdateItem"}, {contract.ErrorsTableBase, "", "dynamodb:PutItem"}},
	"GetError":   {{contract.ErrorsTableBase, "", "dynamodb:GetItem"}},
	"ListErrors": {{contract.ErrorsTableBase, contract.ErrorsByTimeIndex, "dynamodb:Query"}},
	// GetItem of the item and of its record's marker, then
	// TransactWriteItems: Update of the item and, to move the count, of the
	// marker and of the run.
	"ResolveError": {{contract.ErrorsTableBase, "", "dynamodb:GetItem"}, {contract.ErrorsTableBase, "", "dynamodb:UpdateItem"},
		{contract.RunsTableBase, "", "dynamodb:GetItem"}, {contract.RunsTableBase, "", "dynamodb:UpdateItem"}},
}
