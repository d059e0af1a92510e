package events

import "errors"

// Identity is what identifies an event: enough to trace a record that did
// not decode to its producer and its run.
type Identity struct {
	// ID and RunID are the event's id and run id, empty unless they are
	// well-formed tokens (they end up in table keys and logs).
	ID, RunID string
	// Type is the wire type, empty unless it is one this package knows.
	Type string
}

// Peek reads the identity of raw leniently, without checking anything
// else: raw may be any bad record. An attribute that is absent, of the
// wrong JSON type or malformed stays empty; input that is not a JSON object
// yields the zero Identity. It never fails and never panics.
func Peek(raw []byte) Identity {
	if len(raw) > MaxEncodedSize {
		raw = nil // too large to be ours; nothing in it is trusted
	}
	env, err := scanEnvelope(raw)
	if err != nil {
		return Identity{}
	}
	var id Identity
	if env.id != "" && checkToken("id", env.id, MaxIDLen) == nil {
		id.ID = env.id
	}
	if env.runID != "" && checkToken("runid", env.runID, MaxRunIDLen) == nil {
		id.RunID = env.runID
	}
	if _, ok := Latest[env.typ]; ok {
		id.Type = env.typ
	}
	return id
}

// Failure is what can be known of a record that did not decode.
type Failure struct {
	// Identity is the record's, read leniently (see Peek).
	Identity
	// Movie is true when the record claims to be a movie.observed event:
	// the type of its envelope, as far as it decoded.
	Movie bool
	// Invalid is true when the event decoded but its data broke a rule
	// (ErrInvalid), false when it failed earlier.
	Invalid bool
}

// FailureOf tells what raw, which Decode refused with err, can be traced
// to. Every consumer that stores a bad record uses it, so a record is
// described the same way whoever stores it.
func FailureOf(raw []byte, err error) Failure {
	f := Failure{Identity: Peek(raw), Invalid: errors.Is(err, ErrInvalid)}
	f.Movie = f.Type == TypeMovieObserved
	var de *DecodeError
	if errors.As(err, &de) && de.Type != "" {
		f.Movie = de.Type == TypeMovieObserved
	}
	return f
}
