package s3

import "maps"

// Resources an IAM action is granted on.
const (
	// BucketResource is the bucket itself: arn:aws:s3:::BUCKET. A policy
	// can narrow s3:ListBucket to the archive with the condition
	// StringLike s3:prefix PREFIX*.
	BucketResource = "bucket"
	// ObjectsResource is the archive's objects: arn:aws:s3:::BUCKET/PREFIX*.
	ObjectsResource = "objects"
)

// Access is one IAM permission a Store method needs.
type Access struct {
	Action   string // e.g. "s3:PutObject"
	Resource string // BucketResource or ObjectsResource
}

// accesses is what each method's one S3 call needs. ListObjectsV2 is
// authorised by s3:ListBucket. A bucket encrypted with a customer managed
// KMS key also needs kms:GenerateDataKey (Put) and kms:Decrypt (Open) on
// the key; SSE-S3 needs nothing more.
var accesses = map[string][]Access{
	"Put":  {{"s3:PutObject", ObjectsResource}},
	"List": {{"s3:ListBucket", BucketResource}},
	"Open": {{"s3:GetObject", ObjectsResource}},
}

// Accesses returns, for each Store method (Put, List, Open), the IAM
// permissions its calls need, so that the Pulumi program can grant a
// function exactly those of the archive port it uses. A test records the
// calls each method really makes against moto_server and fails when this
// table and the code disagree. The map is a copy.
func Accesses() map[string][]Access {
	out := make(map[string][]Access, len(accesses))
	for m, a := range maps.All(accesses) {
		out[m] = append([]Access(nil), a...)
	}
	return out
}
