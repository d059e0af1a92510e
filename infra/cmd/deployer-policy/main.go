// Command deployer-policy prints the IAM policy an organiser attaches to
// an attendee's IAM user so that the attendee can deploy, use and destroy
// their own stack, and nobody else's (see package deployer). The policy is
// more than one IAM managed policy may hold (6,144 characters), so it
// comes in parts: --parts prints how many, --part N prints part N.
//
//	n=$(go run ./infra/cmd/deployer-policy --suffix courseX --region eu-west-2 --account 123456789012 --parts)
//	for part in $(seq "$n"); do
//	  go run ./infra/cmd/deployer-policy --suffix courseX --region eu-west-2 --account 123456789012 --part "$part" > courseX-$part.json
//	  aws iam create-policy --policy-name scrape-pipeline-courseX-$part --policy-document file://courseX-$part.json
//	  aws iam attach-user-policy --user-name courseX --policy-arn arn:aws:iam::123456789012:policy/scrape-pipeline-courseX-$part
//	done
//
// Without --part it prints the whole policy when it fits in one, and
// otherwise fails, saying how many parts there are. Without --region or
// --account the policy holds for any ("*"); with --api-id (the id in
// pulumi stack output apiUrl, after the first deployment) POST /scrape is
// allowed on that API only.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/scrape-pipeline/scrape-pipeline/infra/deployer"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "deployer-policy:", err)
		}
		os.Exit(2)
	}
}

// run parses args and writes the policy, indented, to stdout.
func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("deployer-policy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o deployer.Options
	fs.StringVar(&o.Suffix, "suffix", "", "the attendee's stack suffix (stack config suffix, default the stack name); required")
	fs.StringVar(&o.Region, "region", "", "the stack's region (aws:region); default any")
	fs.StringVar(&o.Account, "account", "", "the workshop account's id; default any")
	fs.StringVar(&o.APIID, "api-id", "", "the attendee's HTTP API id, once deployed; default any API of the account")
	part := fs.Int("part", 0, "print part `N` of the policy (1 to --parts)")
	parts := fs.Bool("parts", false, "print how many parts the policy has, and nothing else")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	docs, err := deployer.Policies(o)
	if err != nil {
		return err
	}
	if *parts {
		_, err := fmt.Fprintln(stdout, len(docs))
		return err
	}
	switch {
	case *part == 0 && len(docs) > 1:
		return fmt.Errorf("the policy is more than one IAM managed policy may hold (%d characters): it comes in %d parts; "+
			"print each with --part 1 to --part %d and attach them all", deployer.MaxPolicySize, len(docs), len(docs))
	case *part == 0:
		*part = 1
	case *part < 1 || *part > len(docs):
		return fmt.Errorf("--part %d: the policy has parts 1 to %d", *part, len(docs))
	}
	doc := docs[*part-1]
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("marshal policy: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "%s\n", b)
	return err
}
