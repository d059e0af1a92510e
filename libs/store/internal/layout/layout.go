// Package layout is the item layout shared by the store implementations
// (embedded and dynamo): the runs-table key prefixes, the errors and runs
// listing sort keys, the history positions, page tokens, the input limits that keep every key inside DynamoDB's
// key-size limits, and the time encodings. Both implementations use it so
// that they agree on keys, orderings and what counts as bad input.
//
// Every error of its Check functions, CleanError, ClampLimit and
// DecodeToken matches store.ErrInvalid (see Invalid): callers decide on
// that, never on the message.
package layout

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scrape-pipeline/scrape-pipeline/libs/contract"
	"github.com/scrape-pipeline/scrape-pipeline/libs/store"
)

// Runs-table key prefixes (see contract.RunsTable).
const (
	RunPrefix    = "RUN#"
	LeasePrefix  = "LEASE#"
	PagePrefix   = "PAGE#"
	MarkerPrefix = "MARK#"
)

// RunKey is the runs-table key of run id.
func RunKey(id string) string { return RunPrefix + id }

// LeaseKey is the runs-table key of host's scrape lease.
func LeaseKey(host string) string { return LeasePrefix + host }

// PageKey is the runs-table key of url's conditional-GET state.
func PageKey(url string) string { return PagePrefix + url }

// MarkerKey is the runs-table key of the progress marker of eventID in run
// runID: "MARK#<run>#<event>", with '%' and '#' in the run id escaped
// (%25, %23) so that no two (run, event) pairs share a key.
func MarkerKey(runID, eventID string) string {
	return string(AppendMarkerKey(nil, runID, eventID))
}

// AppendMarkerKey appends MarkerKey(runID, eventID) to dst: one
// allocation at most, for the hot path of ApplyMovie.
func AppendMarkerKey(dst []byte, runID, eventID string) []byte {
	dst = slices.Grow(dst, len(MarkerPrefix)+len(runID)+1+len(eventID))
	dst = append(dst, MarkerPrefix...)
	if !strings.ContainsAny(runID, "%#") { // the usual run id: nothing to escape
		return append(append(append(dst, runID...), '#'), eventID...)
	}
	for i := 0; i < len(runID); i++ {
		switch c := runID[i]; c {
		case '%':
			dst = append(dst, "%25"...)
		case '#':
			dst = append(dst, "%23"...)
		default:
			dst = append(dst, c)
		}
	}
	dst = append(dst, '#')
	return append(dst, eventID...)
}

// ErrorsListPK is the byTime GSI hash key shared by every error item.
const ErrorsListPK = "ERR"

// RunsListPK is the byStart GSI hash key of every run item that has a
// start time (contract.RunsByStartIndex; sparse: only runs carry it).
const RunsListPK = "RUN"

// History-table sort-key prefixes (see contract.HistoryTable): every
// observation is an "O#<pos>" item, each change point also a "C#<pos>"
// item, and "V" holds the movie's history version (optimistic
// concurrency between writers of one movie).
const (
	HistoryObsPrefix    = "O#"
	HistoryChangePrefix = "C#"
	HistoryVersionSK    = "V"
)

// HistoryPos is an observation's position in its movie's history:
// "<time in TimeFormat>#<event id>", so byte order is (time, event id)
// order.
func HistoryPos(t time.Time, eventID string) string { return string(AppendHistoryPos(nil, t, eventID)) }

// AppendHistoryPos appends HistoryPos(t, eventID) to dst.
func AppendHistoryPos(dst []byte, t time.Time, eventID string) []byte {
	dst = slices.Grow(dst, len(TimeFormat)+1+len(eventID))
	dst = appendTime(dst, t)
	return append(append(dst, '#'), eventID...)
}

// appendTime appends t in TimeFormat, as t.UTC().AppendFormat(dst,
// TimeFormat) does (a fuzz test keeps the two equal), at a fraction of its
// cost: a replay writes a history position per observation. Years outside
// 0 to 9999 (not fixed-width) are left to AppendFormat.
func appendTime(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return t.AppendFormat(dst, TimeFormat)
	}
	hour, minute, sec := t.Clock()
	var b [len(TimeFormat)]byte
	put := func(at, width, v int) {
		for i := at + width - 1; i >= at; i-- {
			b[i] = byte('0' + v%10)
			v /= 10
		}
	}
	put(0, 4, year)
	b[4] = '-'
	put(5, 2, int(month))
	b[7] = '-'
	put(8, 2, day)
	b[10] = 'T'
	put(11, 2, hour)
	b[13] = ':'
	put(14, 2, minute)
	b[16] = ':'
	put(17, 2, sec)
	b[19] = '.'
	put(20, 9, t.Nanosecond())
	b[29] = 'Z'
	return append(dst, b[:]...)
}

// ParseHistoryPos splits a HistoryPos.
func ParseHistoryPos(pos string) (time.Time, string, bool) { return splitTimeKey(pos) }

// HistoryBounds returns the positions a history listing with filter f
// covers: from lo (inclusive) to hi (exclusive). A zero bound is open.
func HistoryBounds(f store.HistoryFilter) (lo, hi string) {
	lo = FormatTime(time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)) + "#"
	if !f.Since.IsZero() {
		lo = FormatTime(f.Since) + "#"
	}
	hi = FormatTime(time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)) + "$"
	if !f.Until.IsZero() {
		hi = FormatTime(f.Until) + "$" // '$' follows '#': every position of that time is below
	}
	return lo, hi
}

// RunsListSK is the byStart GSI range key of a run: its start time in
// TimeFormat, '#', its id.
func RunsListSK(startedAt time.Time, id string) string { return FormatTime(startedAt) + "#" + id }

// splitTimeKey splits "<TimeFormat>#<rest>" with a non-empty rest.
func splitTimeKey(s string) (time.Time, string, bool) {
	if len(s) < len(TimeFormat)+2 || s[len(TimeFormat)] != '#' {
		return time.Time{}, "", false
	}
	t, ok := parseCanonicalTime(s[:len(TimeFormat)])
	if !ok {
		return time.Time{}, "", false
	}
	return t, s[len(TimeFormat)+1:], true
}

// parseCanonicalTime parses s if it is a time as FormatTime writes it:
// what ParseTime accepts and FormatTime gives back unchanged. Listings
// parse one key per item; this costs a fraction of time.Parse and
// FormatTime (a fuzz test keeps the two ways equal).
func parseCanonicalTime(s string) (time.Time, bool) {
	if len(s) != len(TimeFormat) {
		return time.Time{}, false
	}
	var f [7]int // year, month, day, hour, minute, second, nanosecond
	n := 0
	for i := 0; i < len(s); i++ {
		c, want := s[i], TimeFormat[i]
		if want < '0' || want > '9' { // a separator
			if c != want {
				return time.Time{}, false
			}
			n++
			continue
		}
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		f[n] = f[n]*10 + int(c-'0')
	}
	year, month, day := f[0], f[1], f[2]
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || f[3] > 23 || f[4] > 59 || f[5] > 59 {
		return time.Time{}, false
	}
	return time.Date(year, time.Month(month), day, f[3], f[4], f[5], f[6], time.UTC), true
}

// daysIn is the number of days of month in year (proleptic Gregorian, as
// package time counts them).
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// MarkerTTL is how long a progress marker is kept. A redelivery after it
// expires would be counted again, so it is beyond the longest stream
// retention the pipeline allows (contract.MaxStreamRetention).
const MarkerTTL = contract.ProgressMarkerTTL

// Limits on input, chosen so that every key stays well inside DynamoDB's
// limits (2048 bytes for a hash key, 1024 for a range key) and both
// implementations reject the same input.
const (
	MaxIDLen  = 512  // movie, run, event, error ids, hosts, lease holders
	MaxURLLen = 1800 // page-state URLs
	// MaxLimit caps a page: larger limits are served as MaxLimit.
	MaxLimit = 1000
)

// TimeFormat is the fixed-width UTC form of a time used wherever times are
// compared or sorted as strings (lastEventTime, the errors listSk): every
// field zero-padded, nine fraction digits, so byte order is time order for
// years 1 to 9999.
const TimeFormat = "2006-01-02T15:04:05.000000000Z"

// FormatTime returns t in TimeFormat.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// ParseTime parses a TimeFormat string.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(TimeFormat, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// ErrorsListSK is the byTime GSI range key of an error item: its first
// failure in TimeFormat, '#', its id.
func ErrorsListSK(firstFailure time.Time, id string) string {
	return FormatTime(firstFailure) + "#" + id
}

// ErrorIDFromListSK returns the error id ending listSk.
func ErrorIDFromListSK(listSK string) (string, bool) {
	_, id, ok := splitTimeKey(listSK)
	return id, ok
}

// RunIDFromListSK returns the run id ending a runs listSk.
func RunIDFromListSK(listSK string) (string, bool) {
	_, id, ok := splitTimeKey(listSK)
	return id, ok
}

// EpochSeconds is the TTL attribute value of an expiry: epoch seconds,
// rounded up so that an item never expires early.
func EpochSeconds(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// ErrorExpiry is the expiry stored for e: e.ExpiresAt, or LastFailure plus
// ttl when it is zero, rounded up to a whole second (DynamoDB's TTL attribute
// holds epoch seconds).
func ErrorExpiry(e store.ErrorItem, ttl time.Duration) time.Time {
	exp := e.ExpiresAt
	if exp.IsZero() {
		exp = e.LastFailure.Add(ttl)
	}
	return time.Unix(EpochSeconds(exp), 0).UTC()
}

// Expired reports whether an item with TTL value expiresAt (epoch seconds,
// 0 for none) is expired at now. DynamoDB deletes such items eventually;
// both implementations hide them at once.
func Expired(expiresAt int64, now time.Time) bool {
	return expiresAt != 0 && expiresAt <= now.Unix()
}

// invalidError is a validation failure: its message is err's own, and it
// matches both err's chain and store.ErrInvalid.
type invalidError struct{ err error }

func (e *invalidError) Error() string   { return e.err.Error() }
func (e *invalidError) Unwrap() []error { return []error{e.err, store.ErrInvalid} }

// Invalid marks err as input the store refuses for good: the result matches
// store.ErrInvalid and everything err matches, and its message is err's,
// unchanged. Invalid(nil) is nil.
func Invalid(err error) error {
	if err == nil {
		return nil
	}
	return &invalidError{err}
}

// Conflict returns an error matching store.ErrConflict and
// store.ErrInvalid, saying what conflicts.
func Conflict(format string, args ...any) error {
	return Invalid(fmt.Errorf("%w: %s", store.ErrConflict, fmt.Sprintf(format, args...)))
}

// ClampLimit validates a page limit: below 1 is an error, above MaxLimit is
// served as MaxLimit.
func ClampLimit(limit int) (int, error) {
	if limit < 1 {
		return 0, Invalid(fmt.Errorf("page limit %d: must be at least 1", limit))
	}
	return min(limit, MaxLimit), nil
}

func checkID(what, s string, maxLen int) error {
	switch {
	case s == "":
		return fmt.Errorf("%s is empty", what)
	case len(s) > maxLen:
		return fmt.Errorf("%s is %d bytes long, more than %d", what, len(s), maxLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%s %q is not valid UTF-8", what, s)
	}
	return nil
}

func checkText(what, s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("%s %q is not valid UTF-8", what, s)
	}
	return nil
}

func checkTime(what string, t time.Time) error {
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return fmt.Errorf("%s %v is outside years 1-9999", what, t)
	}
	return nil
}

// CheckID validates an id-like key part (ids, hosts, holders).
func CheckID(what, s string) error { return Invalid(checkID(what, s, MaxIDLen)) }

// CheckURL validates a page-state URL.
func CheckURL(url string) error { return Invalid(checkID("url", url, MaxURLLen)) }

// CheckDigest validates a content digest: empty (unknown) or an id-like
// string.
func CheckDigest(d string) error {
	if d == "" {
		return nil
	}
	return Invalid(checkID("digest", d, MaxIDLen))
}

// CheckCounter validates a progress counter name.
func CheckCounter(c store.Counter) error {
	switch c {
	case store.CounterProcessed, store.CounterFailed:
		return nil
	}
	return Invalid(fmt.Errorf("unknown counter %q", c))
}

// CheckLease validates the arguments of AcquireLease: a host, a holder and
// a positive ttl.
func CheckLease(host, holder string, ttl time.Duration) error {
	errs := []error{CheckID("host", host), CheckID("holder", holder)}
	if ttl <= 0 {
		errs = append(errs, Invalid(fmt.Errorf("lease ttl %v: must be positive", ttl)))
	}
	return errors.Join(errs...)
}

// CheckMovie validates a movie before it is applied: an id, valid UTF-8 text
// (DynamoDB stores strings as UTF-8), a finite rating and storable times.
func CheckMovie(m store.Movie) error {
	if movieOK(m) {
		return nil
	}
	errs := []error{checkID("movie id", m.ID, MaxIDLen), checkID("event id", m.LastEventID, MaxIDLen),
		CheckDigest(m.LastEventDigest)}
	for _, f := range []struct{ what, s string }{
		{"title", m.Title}, {"director", m.Director}, {"detail url", m.DetailURL},
		{"source", m.Source}, {"last run id", m.LastRunID},
	} {
		errs = append(errs, checkText(f.what, f.s))
	}
	for _, g := range m.Genres {
		errs = append(errs, checkText("genre", g))
	}
	if math.IsNaN(m.Rating) || math.IsInf(m.Rating, 0) {
		errs = append(errs, fmt.Errorf("rating %v is not a finite number", m.Rating))
	}
	errs = append(errs, checkTime("first seen", m.FirstSeen), checkTime("last seen", m.LastSeen),
		checkTime("last event time", m.LastEventTime))
	if err := errors.Join(errs...); err != nil {
		return Invalid(fmt.Errorf("movie %q: %w", m.ID, err))
	}
	return nil
}

// movieOK is CheckMovie's fast path: true when m is valid, without
// building any error.
func movieOK(m store.Movie) bool {
	okID := func(s string) bool { return s != "" && len(s) <= MaxIDLen && utf8.ValidString(s) }
	if !okID(m.ID) || !okID(m.LastEventID) || math.IsNaN(m.Rating) || math.IsInf(m.Rating, 0) ||
		(m.LastEventDigest != "" && !okID(m.LastEventDigest)) {
		return false
	}
	for _, s := range [...]string{m.Title, m.Director, m.DetailURL, m.Source, m.LastRunID} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	for _, g := range m.Genres {
		if !utf8.ValidString(g) {
			return false
		}
	}
	for _, t := range [...]time.Time{m.FirstSeen, m.LastSeen, m.LastEventTime} {
		if y := t.UTC().Year(); y < 1 || y > 9999 {
			return false
		}
	}
	return true
}

// CheckRun validates a run passed to StartRun or CompleteRun.
func CheckRun(r store.Run) error {
	errs := []error{checkID("run id", r.ID, MaxIDLen), checkText("source", r.Source), checkText("error", r.Error),
		checkTime("started at", r.StartedAt), checkTime("finished at", r.FinishedAt)}
	if r.Trigger != "" {
		errs = append(errs, checkID("trigger", r.Trigger, MaxIDLen))
	}
	if err := errors.Join(errs...); err != nil {
		return Invalid(fmt.Errorf("run %q: %w", r.ID, err))
	}
	return nil
}

// CheckResolved validates the time of ResolveError: set, in years 1-9999.
func CheckResolved(at time.Time) error {
	if at.IsZero() {
		return Invalid(errors.New("resolved at: the zero time"))
	}
	return Invalid(checkTime("resolved at", at))
}

// CheckRunFilter validates a runs listing filter.
func CheckRunFilter(f store.RunFilter) error {
	switch f.Status {
	case "", store.RunRunning, store.RunCompleted, store.RunUnchanged, store.RunFailed:
		return nil
	}
	return Invalid(fmt.Errorf("unknown run status %q", f.Status))
}

// CheckObservation validates an observation: movie and event ids, valid
// UTF-8, a finite rating and a storable time.
func CheckObservation(o store.Observation) error {
	if observationOK(o) {
		return nil
	}
	return checkObservation(o)
}

// checkObservation is CheckObservation without the fast path.
func checkObservation(o store.Observation) error {
	errs := []error{checkID("movie id", o.MovieID, MaxIDLen), checkID("event id", o.EventID, MaxIDLen),
		checkTime("observed at", o.ObservedAt)}
	if len(o.RunID) > MaxIDLen || !utf8.ValidString(o.RunID) {
		errs = append(errs, fmt.Errorf("run id %.40q: not valid UTF-8 or longer than %d bytes", o.RunID, MaxIDLen))
	}
	if math.IsNaN(o.Rating) || math.IsInf(o.Rating, 0) {
		errs = append(errs, fmt.Errorf("rating %v is not a finite number", o.Rating))
	}
	if err := errors.Join(errs...); err != nil {
		return Invalid(fmt.Errorf("observation of %q: %w", o.MovieID, err))
	}
	return nil
}

// observationOK is CheckObservation's fast path: true when o is valid,
// without building any error.
func observationOK(o store.Observation) bool {
	okID := func(s string) bool { return s != "" && len(s) <= MaxIDLen && utf8.ValidString(s) }
	y := o.ObservedAt.UTC().Year()
	return okID(o.MovieID) && okID(o.EventID) && y >= 1 && y <= 9999 && len(o.RunID) <= MaxIDLen &&
		utf8.ValidString(o.RunID) && !math.IsNaN(o.Rating) && !math.IsInf(o.Rating, 0)
}

// CheckHistory validates the arguments of a history listing: a movie id
// and bounds in years 1-9999, Since not after Until.
func CheckHistory(movieID string, f store.HistoryFilter) error {
	errs := []error{checkID("movie id", movieID, MaxIDLen)}
	if !f.Since.IsZero() {
		errs = append(errs, checkTime("since", f.Since))
	}
	if !f.Until.IsZero() {
		errs = append(errs, checkTime("until", f.Until))
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && f.Since.After(f.Until) {
		errs = append(errs, fmt.Errorf("since %v is after until %v", f.Since, f.Until))
	}
	if err := errors.Join(errs...); err != nil {
		return Invalid(fmt.Errorf("history: %w", err))
	}
	return nil
}

// CheckPageState validates a page state.
func CheckPageState(s store.PageState) error {
	errs := []error{CheckURL(s.URL), checkText("etag", s.ETag), checkText("last modified", s.LastModified),
		checkTime("fetched at", s.FetchedAt)}
	if err := errors.Join(errs...); err != nil {
		return Invalid(fmt.Errorf("page state: %w", err))
	}
	return nil
}

// CleanError validates e and returns it ready to store: string fields made
// valid UTF-8 (invalid bytes become U+FFFD — the errors table is the sink of
// last resort, so text derived from a bad record must not make it fail),
// the expiry filled in (see ErrorExpiry, with contract.ErrorTTL) and PayloadSize at least
// len(Payload).
func CleanError(e store.ErrorItem) (store.ErrorItem, error) {
	errs := []error{checkID("error id", e.ID, MaxIDLen), checkTime("first failure", e.FirstFailure),
		checkTime("last failure", e.LastFailure), checkTime("resolved", e.Resolved)}
	if len(e.Payload) > store.MaxPayload {
		errs = append(errs, fmt.Errorf("payload is %d bytes, more than store.MaxPayload (%d): cut it first", len(e.Payload), store.MaxPayload))
	}
	if err := errors.Join(errs...); err != nil {
		return store.ErrorItem{}, Invalid(fmt.Errorf("error item: %w", err))
	}
	for _, p := range []*string{&e.Reason, &e.EventID, &e.RunID, &e.ShardID, &e.SequenceNumber,
		&e.PartitionKey, &e.StreamARN, &e.Condition} {
		*p = strings.ToValidUTF8(*p, "\uFFFD")
	}
	e.Stage = store.Stage(strings.ToValidUTF8(string(e.Stage), "\uFFFD"))
	e.ExpiresAt = ErrorExpiry(e, contract.ErrorTTL)
	e.PayloadSize = max(e.PayloadSize, len(e.Payload))
	if len(e.Payload) == 0 {
		e.Payload = nil
	}
	return e, nil
}

// Listing names what a page token continues.
type Listing byte

// Listings.
const (
	ListMovies       Listing = 1 // all movies, stable order
	ListMoviesByYear Listing = 2 // one year's movies, id order
	ListErrors       Listing = 3 // errors, newest first
	ListHistory      Listing = 4 // one movie's change points, newest first
	ListRuns         Listing = 5 // runs of one status filter, newest first
)

// MaxRunsExamined bounds how many runs one ListRuns call examines when a
// status filter skips runs: past it the page ends early, with a Next that
// continues after the last run examined.
const MaxRunsExamined = 2000

// tokenMagic starts every page token, with a format version.
var tokenMagic = []byte{'s', 't', 'k', 1}

// Token is a decoded page token.
type Token struct {
	Listing Listing
	// Year is the year of a ListMoviesByYear token.
	Year int
	// Scope is what else the listing is bound to: the movie id of a
	// ListHistory token, the status filter of a ListRuns token.
	Scope string
	// Key is the last key returned (or examined): a movie id, an errors or
	// runs listSk, a history position.
	Key string
}

// scoped reports whether tokens of l carry a Scope.
func (l Listing) scoped() bool { return l == ListHistory || l == ListRuns }

// Encode returns t as an opaque page token.
func (t Token) Encode() store.PageToken {
	b := make([]byte, 0, len(tokenMagic)+1+2*binary.MaxVarintLen64+len(t.Scope)+len(t.Key))
	b = append(b, tokenMagic...)
	b = append(b, byte(t.Listing))
	if t.Listing == ListMoviesByYear {
		b = binary.AppendVarint(b, int64(t.Year))
	}
	if t.Listing.scoped() {
		b = binary.AppendUvarint(b, uint64(len(t.Scope)))
		b = append(b, t.Scope...)
	}
	b = binary.AppendUvarint(b, uint64(len(t.Key)))
	return append(b, t.Key...)
}

// DecodeToken returns the key of tok, which must have been issued for
// listing l (and year, for ListMoviesByYear). Anything else is
// store.ErrBadToken (and store.ErrInvalid).
func DecodeToken(tok store.PageToken, l Listing, year int) (string, error) {
	t, err := parseToken(tok)
	if err != nil {
		return "", Invalid(fmt.Errorf("%w: %v", store.ErrBadToken, err))
	}
	if t.Listing != l || t.Year != year || t.Scope != "" {
		return "", Invalid(fmt.Errorf("%w: token of another listing", store.ErrBadToken))
	}
	return t.Key, nil
}

// DecodeScopedToken returns the key of tok, which must have been issued
// for listing l and scope (a movie id, a status filter). Anything else is
// store.ErrBadToken (and store.ErrInvalid).
func DecodeScopedToken(tok store.PageToken, l Listing, scope string) (string, error) {
	t, err := parseToken(tok)
	if err != nil {
		return "", Invalid(fmt.Errorf("%w: %v", store.ErrBadToken, err))
	}
	if t.Listing != l || !l.scoped() || t.Scope != scope {
		return "", Invalid(fmt.Errorf("%w: token of another listing", store.ErrBadToken))
	}
	return t.Key, nil
}

func parseToken(tok []byte) (Token, error) {
	rest, ok := bytes.CutPrefix(tok, tokenMagic)
	if !ok || len(rest) == 0 {
		return Token{}, errors.New("not a page token")
	}
	t := Token{Listing: Listing(rest[0])}
	rest = rest[1:]
	switch t.Listing {
	case ListMovies, ListErrors, ListHistory, ListRuns:
	case ListMoviesByYear:
		y, n := binary.Varint(rest)
		if n <= 0 || y < math.MinInt32 || y > math.MaxInt32 {
			return Token{}, errors.New("bad year")
		}
		t.Year, rest = int(y), rest[n:]
	default:
		return Token{}, fmt.Errorf("unknown listing %d", t.Listing)
	}
	if t.Listing.scoped() {
		n, m := binary.Uvarint(rest)
		if m <= 0 || n > uint64(len(rest)-m) || n > MaxIDLen {
			return Token{}, errors.New("bad scope length")
		}
		t.Scope, rest = string(rest[m:m+int(n)]), rest[m+int(n):]
		if !utf8.ValidString(t.Scope) {
			return Token{}, errors.New("scope is not UTF-8")
		}
	}
	n, m := binary.Uvarint(rest)
	if m <= 0 || n != uint64(len(rest)-m) || n == 0 {
		return Token{}, errors.New("bad key length")
	}
	t.Key = string(rest[m:])
	if !utf8.ValidString(t.Key) {
		return Token{}, errors.New("key is not UTF-8")
	}
	if t.Listing == ListErrors || t.Listing == ListRuns || t.Listing == ListHistory {
		if _, _, ok := splitTimeKey(t.Key); !ok {
			return Token{}, errors.New("bad listing key")
		}
	}
	// One token per position: no padded varints.
	if !bytes.Equal(t.Encode(), tok) {
		return Token{}, errors.New("not in canonical form")
	}
	return t, nil
}
