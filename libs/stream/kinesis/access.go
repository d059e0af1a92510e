package kinesis

// Accesses lists, for each method of the adapter, the IAM actions of the
// Kinesis calls it makes (on the stream's ARN). The Pulumi program's
// least-privilege policies are checked against it through each service's
// port (the scraper's Publisher, the error sink's RangeReader), and a test
// records the calls each method really makes.
var Accesses = map[string][]string{
	"Publish":   {"kinesis:PutRecords"},
	"ReadRange": {"kinesis:GetShardIterator", "kinesis:GetRecords"},
}
