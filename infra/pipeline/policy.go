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
}

// PolicyPrincipal names the principals of a trust policy statement.
type PolicyPrincipal struct {
	Service []string `json:"Service,omitempty"`
}

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
	doc := PolicyDocument{
		Version: PolicyVersion,
		Statement: []PolicyStatement{{
			Sid:       "LambdaAssumeRole",
			Effect:    "Allow",
			Principal: &PolicyPrincipal{Service: []string{"lambda.amazonaws.com"}},
			Action:    []string{"sts:AssumeRole"},
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return "", fmt.Errorf("marshal trust policy: %w", err)
	}
	return string(b), nil
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
				Effect:   "Allow",
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
