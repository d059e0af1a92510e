package pipeline

import (
	"encoding/json"
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// PolicyVersion is the IAM policy language version.
const PolicyVersion = "2012-10-17"

// PolicyDocument is an IAM policy document, marshalled with encoding/json
// so that no policy is ever a hand-written JSON string.
type PolicyDocument struct {
	Version   string            `json:"Version"`
	Statement []PolicyStatement `json:"Statement"`
}

// PolicyStatement is one statement of a PolicyDocument.
type PolicyStatement struct {
	Sid       string           `json:"Sid,omitempty"`
	Effect    string           `json:"Effect"`
	Principal *PolicyPrincipal `json:"Principal,omitempty"`
	Action    []string         `json:"Action"`
	Resource  []string         `json:"Resource,omitempty"`
	Condition PolicyCondition  `json:"Condition,omitempty"`
}

// PolicyPrincipal names the principals of a trust or resource policy
// statement: AWS services, or AWS principals (an account's root ARN, or
// "*" for anyone).
type PolicyPrincipal struct {
	AWS     []string `json:"AWS,omitempty"`
	Service []string `json:"Service,omitempty"`
}

// PolicyCondition is a statement's Condition block: operator (such as
// "StringEquals") to condition key to the values it accepts. encoding/json
// writes the keys of both maps in order, so a document marshals the same
// way every time.
type PolicyCondition map[string]map[string][]string

// Policy effects.
const (
	Allow = "Allow"
	Deny  = "Deny"
)

// Grant allows Actions on Resources, whose ARNs are usually known only once
// the resources exist.
type Grant struct {
	// Sid names the statement (letters and digits only).
	Sid string
	// Actions are full IAM action names ("dynamodb:GetItem"), never "*".
	Actions []string
	// Resources are ARNs; "*" only for actions that AWS authorises on no
	// narrower resource, said in Sid and in a comment where the grant is
	// made.
	Resources pulumi.StringArrayInput
}

// assumeRolePolicy is the trust policy that lets Lambda assume a
// function's role.
func assumeRolePolicy() (string, error) {
	return trustPolicy("LambdaAssumeRole", "lambda.amazonaws.com", nil)
}

// trustPolicy is a trust policy that lets one AWS service assume a role,
// under condition (nil for none).
func trustPolicy(sid, service string, condition PolicyCondition) (string, error) {
	return marshalPolicy(PolicyDocument{
		Version: PolicyVersion,
		Statement: []PolicyStatement{{
			Sid:       sid,
			Effect:    Allow,
			Principal: &PolicyPrincipal{Service: []string{service}},
			Action:    []string{"sts:AssumeRole"},
			Condition: condition,
		}},
	})
}

// marshalPolicy marshals a policy document.
func marshalPolicy(doc PolicyDocument) (string, error) {
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("marshal policy: %w", err)
	}
	return string(b), nil
}

// accountTrustPolicy is trustPolicy with a condition on the account id,
// known only once the program runs: key (aws:SourceAccount or
// sts:ExternalId) must equal the stack's account, so that the service
// assumes the role only on behalf of this account (the confused deputy).
func accountTrustPolicy(sid, service, key string, account pulumi.StringInput) pulumi.StringOutput {
	return account.ToStringOutput().ApplyT(func(acct string) (string, error) {
		return trustPolicy(sid, service, PolicyCondition{"StringEquals": {key: {acct}}})
	}).(pulumi.StringOutput)
}

// policyJSON resolves the grants' resources and marshals them as one
// "Allow" document, statements in the order given.
func policyJSON(grants []Grant) pulumi.StringOutput {
	resources := make([]any, len(grants))
	for i, g := range grants {
		resources[i] = g.Resources
	}
	return pulumi.All(resources...).ApplyT(func(vals []any) (string, error) {
		doc := PolicyDocument{Version: PolicyVersion}
		for i, g := range grants {
			arns, ok := vals[i].([]string)
			if !ok {
				return "", fmt.Errorf("grant %s: resources resolved to %T, want []string", g.Sid, vals[i])
			}
			if len(g.Actions) == 0 || len(arns) == 0 {
				return "", fmt.Errorf("grant %s: needs at least one action and one resource", g.Sid)
			}
			doc.Statement = append(doc.Statement, PolicyStatement{
				Sid:      g.Sid,
				Effect:   Allow,
				Action:   g.Actions,
				Resource: arns,
			})
		}
		b, err := json.Marshal(doc)
		if err != nil {
			return "", fmt.Errorf("marshal policy: %w", err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)
}
