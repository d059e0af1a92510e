// Package events is the versioned event schema of scrape-pipeline: the one
// contract between the scraper (producer), the processor and the error sink
// (consumers), and anyone else who reads the stream.
//
// # Envelope
//
// Every record on the stream is one CloudEvents 1.0 event in structured JSON
// mode:
//
//	{
//	  "specversion": "1.0",
//	  "id": "5b0d…",                      // deterministic, see EventID
//	  "source": "https://example.org/chart", // the page the item came from
//	  "type": "movie.observed",
//	  "schemaversion": 2,                  // extension: version of data's schema
//	  "runid": "run-20261127-042000-3f9a2c1b", // extension: the scrape run
//	  "time": "2026-11-27T04:20:00.123Z",
//	  "subject": "the-godfather-1972",     // movie id (run id for run events)
//	  "datacontenttype": "application/json",
//	  "data": { … }
//	}
//
// Wire type strings are the constants TypeMovieObserved, TypeScrapeStarted
// and TypeScrapeCompleted; they are never derived from Go type names.
//
// # Versions
//
// Each (type, version) has its own Go type: MovieObservedV1, MovieObservedV2,
// ScrapeStartedV1, ScrapeStartedV2, ScrapeCompletedV1. The aliases MovieObserved, ScrapeStarted
// and ScrapeCompleted name the latest version. Decode lifts older versions to
// the latest (upcasting), so consumers only ever see the latest types:
//
//	e, err := events.Decode(raw)
//	switch d := e.Data.(type) {
//	case events.MovieObserved: …
//	case events.ScrapeCompleted: …
//	}
//
// A version that was ever published stays decodable forever: its golden file
// under testdata/golden and its JSON Schema under schema/ are frozen, and the
// tests fail if either disappears.
//
// # Failures
//
// Decode never panics. Every failure is a *DecodeError whose Kind is one of
// ErrMalformed, ErrMissingAttribute, ErrUnknownType, ErrUnknownVersion and
// ErrInvalid (test with errors.Is); all of them are permanent: retrying the
// same bytes cannot succeed.
//
// The package is schema only: no AWS SDK, no logging.
package events
