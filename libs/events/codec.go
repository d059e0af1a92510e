package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/scrape-pipeline/scrape-pipeline/libs/text"
)

// The kinds of decode failure. Every one is permanent: the same bytes will
// never decode. Test with errors.Is.
var (
	// ErrMalformed: not a JSON object, or data is not a JSON object.
	ErrMalformed = errors.New("malformed event")
	// ErrMissingAttribute: a required CloudEvents attribute is absent.
	ErrMissingAttribute = errors.New("missing attribute")
	// ErrUnknownType: the type is not one this package knows.
	ErrUnknownType = errors.New("unknown event type")
	// ErrUnknownVersion: the type is known, its schema version (or the
	// CloudEvents specversion) is not.
	ErrUnknownVersion = errors.New("unknown schema version")
	// ErrInvalid: the event is well formed but breaks a rule (a value out of
	// range, a string too long, data of the wrong shape, too large).
	ErrInvalid = errors.New("invalid event")
)

// DecodeError is the error of Decode and Encode.
type DecodeError struct {
	// Kind is ErrMalformed, ErrMissingAttribute, ErrUnknownType,
	// ErrUnknownVersion or ErrInvalid.
	Kind error
	// Attribute names the offending attribute, when there is one.
	Attribute string
	// Type, Version and EventID are set when the envelope had them, so a
	// failure can be traced to its producer.
	Type    string
	Version int
	EventID string
	// Err is the detail; nil when Kind says it all.
	Err error
}

// Error names the kind, the attribute, the event's type, version and id when known, and the detail.
func (e *DecodeError) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.Error())
	if e.Attribute != "" {
		b.WriteString(" ")
		b.WriteString(e.Attribute)
	}
	if e.Type != "" {
		fmt.Fprintf(&b, " (type %s v%d", e.Type, e.Version)
		if e.EventID != "" {
			fmt.Fprintf(&b, ", id %s", e.EventID)
		}
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(strings.ReplaceAll(e.Err.Error(), "\n", "; "))
	}
	return b.String()
}

// Unwrap lets errors.Is match both the kind and the detail.
func (e *DecodeError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// wireOut is the structured-mode JSON of an event, for Encode.
type wireOut struct {
	SpecVersion     string    `json:"specversion"`
	ID              string    `json:"id"`
	Source          string    `json:"source"`
	Type            string    `json:"type"`
	SchemaVersion   int       `json:"schemaversion"`
	RunID           string    `json:"runid"`
	Time            time.Time `json:"time"`
	Subject         string    `json:"subject"`
	DataContentType string    `json:"datacontenttype"`
	Data            Data      `json:"data"`
}

// decoders decode the data of each published (type, version); Decode then
// upcasts it to the latest version. Each gets data as bytes and, sharing
// the one copy of the input Decode made, as text.
var decoders = map[Kind]func(b []byte, text string) (Data, error){
	{TypeMovieObserved, 1}: func(b []byte, _ string) (Data, error) {
		var v MovieObservedV1
		err := json.Unmarshal(b, &v)
		return v, err
	},
	// The most common record: a decoder of its own, taking its strings
	// from text (movie_decode.go).
	{TypeMovieObserved, 2}: func(_ []byte, text string) (Data, error) { return decodeMovieV2(text) },
	{TypeScrapeStarted, 1}: func(b []byte, _ string) (Data, error) {
		var v ScrapeStartedV1
		err := json.Unmarshal(b, &v)
		return v, err
	},
	{TypeScrapeStarted, 2}: func(b []byte, _ string) (Data, error) {
		var v ScrapeStartedV2
		err := json.Unmarshal(b, &v)
		return v, err
	},
	{TypeScrapeCompleted, 1}: func(b []byte, _ string) (Data, error) {
		var v ScrapeCompletedV1
		err := json.Unmarshal(b, &v)
		return v, err
	},
}

// upcast lifts d to the latest version of its type.
func upcast(d Data) (Data, error) {
	switch v := d.(type) {
	case MovieObservedV1:
		return v.Upcast()
	case ScrapeStartedV1:
		return v.Upcast(), nil
	}
	return d, nil
}

// Decode parses one structured-mode CloudEvents JSON event, checks it and
// lifts its data to the latest version of its type. On failure it returns a
// *DecodeError whose Kind tells which permanent failure it is. It never
// panics.
func Decode(raw []byte) (Event, error) {
	if len(raw) > MaxEncodedSize {
		return Event{}, &DecodeError{Kind: ErrInvalid, Err: fmt.Errorf("event of %d bytes exceeds %d", len(raw), MaxEncodedSize)}
	}
	env, err := scanEnvelope(raw)
	if err != nil {
		return Event{}, &DecodeError{Kind: ErrMalformed, Err: err}
	}
	fail := func(kind error, attr string, err error) (Event, error) {
		if len(env.data) > 0 && !json.Valid(env.data) {
			// Broken JSON anywhere makes the event malformed, whatever
			// else is wrong with it; data's content is checked only now
			// (or by its decoder) so that it is scanned once.
			kind, attr, err = ErrMalformed, "", syntaxErr(raw)
		}
		// Type and id are echoed for tracing, clipped: they may be hostile.
		return Event{}, &DecodeError{Kind: kind, Attribute: attr, Type: text.Clip(env.typ, maxQuoted), Version: env.schemaVersion, EventID: text.Clip(env.id, maxQuoted), Err: err}
	}
	if env.attrErr != nil {
		return fail(ErrMalformed, "", env.attrErr)
	}
	switch {
	case env.specVersion == "":
		return fail(ErrMissingAttribute, "specversion", nil)
	case env.specVersion != SpecVersion:
		return fail(ErrUnknownVersion, "specversion", fmt.Errorf("%q, want %q", text.Clip(env.specVersion, maxQuoted), SpecVersion))
	case env.id == "":
		return fail(ErrMissingAttribute, "id", nil)
	case env.source == "":
		return fail(ErrMissingAttribute, "source", nil)
	case env.typ == "":
		return fail(ErrMissingAttribute, "type", nil)
	case env.schemaVersion == 0:
		return fail(ErrMissingAttribute, "schemaversion", nil)
	case env.runID == "":
		return fail(ErrMissingAttribute, "runid", nil)
	case env.time.IsZero():
		return fail(ErrMissingAttribute, "time", nil)
	case env.subject == "":
		return fail(ErrMissingAttribute, "subject", nil)
	case len(env.data) == 0 || bytes.Equal(env.data, []byte("null")):
		return fail(ErrMissingAttribute, "data", nil)
	}
	if _, ok := Latest[env.typ]; !ok {
		return fail(ErrUnknownType, "type", nil)
	}
	dec, ok := decoders[Kind{env.typ, env.schemaVersion}]
	if !ok {
		return fail(ErrUnknownVersion, "schemaversion", nil)
	}
	if env.data[0] != '{' {
		return fail(ErrMalformed, "data", errors.New("not a JSON object"))
	}
	if env.dataContentType != "" && env.dataContentType != DataContentType {
		return fail(ErrInvalid, "datacontenttype", fmt.Errorf("%q, want %q", text.Clip(env.dataContentType, maxQuoted), DataContentType))
	}
	if err := checkEnvelope(env.id, env.source, env.runID, env.subject, env.typ); err != nil {
		return fail(ErrInvalid, "", err)
	}
	d, err := dec(env.data, env.dataText)
	if err != nil {
		if _, ok := errors.AsType[*json.SyntaxError](err); ok || errors.Is(err, errDataSyntax) {
			return fail(ErrMalformed, "", syntaxErr(raw))
		}
		return fail(ErrInvalid, "data", err)
	}
	if err := d.validate(env.time); err != nil {
		return fail(ErrInvalid, "data", err)
	}
	if d, err = upcast(d); err != nil {
		return fail(ErrInvalid, "data", err)
	}
	return Event{
		ID:               env.id,
		Source:           env.source,
		Time:             env.time,
		Subject:          env.subject,
		RunID:            env.runID,
		PublishedVersion: env.schemaVersion,
		Data:             d,
	}, nil
}

// Encode checks e and returns its structured-mode JSON, with Data's own
// schema version. It fails with a *DecodeError (Kind ErrMissingAttribute or
// ErrInvalid) when Decode would refuse the result.
func Encode(e Event) ([]byte, error) {
	if err := Validate(e); err != nil {
		return nil, err
	}
	b, err := json.Marshal(wireOut{
		SpecVersion:     SpecVersion,
		ID:              e.ID,
		Source:          e.Source,
		Type:            e.Data.EventType(),
		SchemaVersion:   e.Data.SchemaVersion(),
		RunID:           e.RunID,
		Time:            e.Time,
		Subject:         e.Subject,
		DataContentType: DataContentType,
		Data:            e.Data,
	})
	if err != nil {
		return nil, &DecodeError{Kind: ErrInvalid, Type: e.Type(), EventID: e.ID, Err: err}
	}
	if len(b) > MaxEncodedSize {
		return nil, &DecodeError{Kind: ErrInvalid, Type: e.Type(), Version: e.Data.SchemaVersion(), EventID: e.ID,
			Err: fmt.Errorf("encoded event of %d bytes exceeds %d", len(b), MaxEncodedSize)}
	}
	return b, nil
}

// Validate reports, as a *DecodeError, every problem that would make Decode
// refuse e once encoded.
func Validate(e Event) error {
	fail := func(kind error, attr string, err error) error {
		de := &DecodeError{Kind: kind, Attribute: attr, EventID: e.ID, Err: err}
		if e.Data != nil {
			de.Type, de.Version = e.Data.EventType(), e.Data.SchemaVersion()
		}
		return de
	}
	switch {
	case e.Data == nil:
		return fail(ErrMissingAttribute, "data", nil)
	case e.ID == "":
		return fail(ErrMissingAttribute, "id", nil)
	case e.Source == "":
		return fail(ErrMissingAttribute, "source", nil)
	case e.RunID == "":
		return fail(ErrMissingAttribute, "runid", nil)
	case e.Time.IsZero():
		return fail(ErrMissingAttribute, "time", nil)
	case e.Subject == "":
		return fail(ErrMissingAttribute, "subject", nil)
	}
	if err := checkEnvelope(e.ID, e.Source, e.RunID, e.Subject, e.Data.EventType()); err != nil {
		return fail(ErrInvalid, "", err)
	}
	if err := e.Data.validate(e.Time); err != nil {
		return fail(ErrInvalid, "data", err)
	}
	return nil
}

func checkEnvelope(id, source, runID, subject, typ string) error {
	var p problems
	p.add(checkToken("id", id, MaxIDLen))
	p.add(checkToken("runid", runID, MaxRunIDLen))
	p.add(checkToken("subject", subject, MaxSubjectLen))
	p.add(checkURL("source", source))
	if typ == TypeMovieObserved && !ValidMovieID(subject) {
		p.add(fmt.Errorf("subject: %q is not a movie id", text.Clip(subject, maxQuoted)))
	}
	return p.err()
}

// checkToken accepts printable text without spaces.
func checkToken(field, s string, maxLen int) error {
	if len(s) > maxLen {
		return fmt.Errorf("%s: longer than %d bytes", field, maxLen)
	}
	i := 0
	for ; i < len(s) && s[i] > ' ' && s[i] < 0x7f; i++ {
		// Printable ASCII other than the space: the common case.
	}
	for _, r := range s[i:] {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return fmt.Errorf("%s: contains a space or control character", field)
		}
	}
	return nil
}

// checkURL accepts absolute http and https URLs with a host, without
// credentials, spaces or control characters. It is a strict subset of what
// net/url accepts (FuzzCheckURL holds it to that) and does not allocate (it
// runs on every decoded record) unless the URL has a percent escape, an
// IPv6 literal or a colon in its host that is not a port: then url.Parse
// must accept it too.
func checkURL(field, s string) error {
	if len(s) > MaxURLLen {
		return fmt.Errorf("%s: longer than %d bytes", field, MaxURLLen)
	}
	rest, ok := cutPrefixFold(s, "https://")
	if !ok {
		rest, ok = cutPrefixFold(s, "http://")
	}
	if !ok {
		return fmt.Errorf("%s: %q is not an absolute http(s) URL", field, text.Clip(s, maxQuoted))
	}
	host := rest
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c == '/' || c == '?' || c == '#' {
			host = rest[:i]
			break
		}
	}
	if host == "" {
		return fmt.Errorf("%s: %q has no host", field, text.Clip(s, maxQuoted))
	}
	// parse: the fast checks cannot tell, net/url must agree.
	parse := false
	colon := -1
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == ':' || c == '[' || c == ']' || c == '_' || c == '%') {
			return fmt.Errorf("%s: %q has a bad host", field, text.Clip(s, maxQuoted))
		}
		switch {
		case c == '[' || c == ']':
			parse = true // an IPv6 literal
		case c == ':' && colon >= 0:
			parse = true
		case c == ':':
			colon = i
		case colon >= 0 && (c < '0' || c > '9'):
			parse = true // not a port
		}
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == 0x7f {
			return fmt.Errorf("%s: contains a space or control character", field)
		}
		if s[i] == '%' {
			parse = true // an escape, which may be bad
		}
	}
	if parse {
		// Rare, so the allocation is paid only here.
		if u, err := url.Parse(s); err != nil || u.Host == "" {
			return fmt.Errorf("%s: %q is not a valid URL", field, text.Clip(s, maxQuoted))
		}
	}
	return nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return s, false
	}
	return s[len(prefix):], true
}

// maxQuoted is the most bytes of a value from outside that an error message
// quotes (text.Clip): enough to recognise it, never a whole hostile input.
const maxQuoted = 64
