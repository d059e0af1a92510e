// Package iampolicy is the IAM policy document as Go types, marshalled
// with encoding/json so that no policy is ever a hand-written JSON string.
//
// It depends on nothing but the standard library: the Pulumi program
// (package pipeline) builds its roles' and resources' policies with it,
// and the deployer policy (package deployer, cmd/deployer-policy) builds
// the attendees' policy with it without linking the Pulumi SDKs.
package iampolicy

import (
	"encoding/json"
	"fmt"
)

// Version is the IAM policy language version.
const Version = "2012-10-17"

// Document is an IAM policy document.
type Document struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one statement of a Document.
type Statement struct {
	Sid       string     `json:"Sid,omitempty"`
	Effect    string     `json:"Effect"`
	Principal *Principal `json:"Principal,omitempty"`
	Action    []string   `json:"Action"`
	Resource  []string   `json:"Resource,omitempty"`
	Condition Condition  `json:"Condition,omitempty"`
}

// Principal names the principals of a trust or resource policy statement:
// AWS services, or AWS principals (an account's root ARN, or "*" for
// anyone).
type Principal struct {
	AWS     []string `json:"AWS,omitempty"`
	Service []string `json:"Service,omitempty"`
}

// Condition is a statement's Condition block: operator (such as
// "StringEquals") to condition key to the values it accepts. encoding/json
// writes the keys of both maps in order, so a document marshals the same
// way every time.
type Condition map[string]map[string][]string

// Statement effects.
const (
	Allow = "Allow"
	Deny  = "Deny"
)

// Marshal marshals doc as the JSON IAM reads.
func Marshal(doc Document) (string, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("marshal policy: %w", err)
	}
	return string(b), nil
}
