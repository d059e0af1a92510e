package pipeline

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/scrape-pipeline/scrape-pipeline/infra/iampolicy"
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
func trustPolicy(sid, service string, condition iampolicy.Condition) (string, error) {
	return iampolicy.Marshal(iampolicy.Document{
		Version: iampolicy.Version,
		Statement: []iampolicy.Statement{{
			Sid:       sid,
			Effect:    iampolicy.Allow,
			Principal: &iampolicy.Principal{Service: []string{service}},
			Action:    []string{"sts:AssumeRole"},
			Condition: condition,
		}},
	})
}

// accountTrustPolicy is trustPolicy with a condition on the account id,
// known only once the program runs: key (aws:SourceAccount or
// sts:ExternalId) must equal the stack's account, so that the service
// assumes the role only on behalf of this account (the confused deputy).
func accountTrustPolicy(sid, service, key string, account pulumi.StringInput) pulumi.StringOutput {
	return account.ToStringOutput().ApplyT(func(acct string) (string, error) {
		return trustPolicy(sid, service, iampolicy.Condition{"StringEquals": {key: {acct}}})
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
		doc := iampolicy.Document{Version: iampolicy.Version}
		for i, g := range grants {
			arns, ok := vals[i].([]string)
			if !ok {
				return "", fmt.Errorf("grant %s: resources resolved to %T, want []string", g.Sid, vals[i])
			}
			if len(g.Actions) == 0 || len(arns) == 0 {
				return "", fmt.Errorf("grant %s: needs at least one action and one resource", g.Sid)
			}
			doc.Statement = append(doc.Statement, iampolicy.Statement{
				Sid:      g.Sid,
				Effect:   iampolicy.Allow,
				Action:   g.Actions,
				Resource: arns,
			})
		}
		return iampolicy.Marshal(doc)
	}).(pulumi.StringOutput)
}
