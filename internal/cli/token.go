package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/wire"
)

func newTokenCmd(g *globals) *cobra.Command {
	ready := strings.Join(iam.ReadyMadeNames(), ", ")
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens and their policies (ready-made: " + ready + ")"}
	var policy, expires string
	var awsKeys bool
	create := &cobra.Command{
		Use:   "create NAME [--policy NAME|FILE] [--expires 720h|30d] [--aws-keys]",
		Short: "Create a token and print it (it is shown only this once)",
		Long: "Create a token and print it on standard output, alone; it is shown only this once, and only its hash is kept.\n" +
			"--policy names a ready-made policy (" + ready + ") or a policy file in JSON or YAML, in IAM's shape:\n\n" +
			"  Statement:\n" +
			"    - Effect: Allow\n" +
			"      Action: [sluice:StartPipelineExecution, \"sluice:Get*\"]\n" +
			"      Resource: pipeline/app-*\n\n" +
			"A name in use is refused (409); `sluice token rotate NAME` gives a token a new secret.\n" +
			"You can hand on only what you hold: the new token's policy may allow nothing your own token does not.\n\n" +
			"--aws-keys also makes an AWS access key for the token, printed after it as AWS_ACCESS_KEY_ID=… and\n" +
			"AWS_SECRET_ACCESS_KEY=… lines: the aws CLI, boto3 and the AWS SDKs sign requests to the server's\n" +
			"AWS-compatible endpoint with it (docs/aws-api.md), under the same policy. Revoking or rotating the token\n" +
			"ends the key at once.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := tokenRequest(args[0], policy, expires)
			if err != nil {
				return err
			}
			req.AWSKeys = awsKeys
			c, err := g.client()
			if err != nil {
				return err
			}
			t, err := c.CreateTokenWith(cmd.Context(), req)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.out, t.Token)
			if t.AccessKeyID != "" {
				fmt.Fprintf(g.out, "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n", t.AccessKeyID, t.SecretAccessKey)
			}
			return nil
		},
	}
	create.Flags().StringVar(&policy, "policy", iam.PolicyViewer, "a ready-made policy ("+ready+") or a policy file (JSON or YAML)")
	create.Flags().StringVar(&expires, "expires", "", "how long the token works, such as 720h or 30d (default: until revoked)")
	create.Flags().BoolVar(&awsKeys, "aws-keys", false, "also make an AWS access key (id and secret) for SigV4 clients of the AWS-compatible endpoint")
	var format string
	list := &cobra.Command{
		Use:   "list",
		Short: "List tokens: name, policy, created, expires (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			tokens, err := c.Tokens(cmd.Context())
			if err != nil {
				return err
			}
			now := time.Now()
			return output(g.out, format, tokens, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NAME\tPOLICY\tCREATED\tEXPIRES")
				for _, t := range tokens {
					exp := "never"
					if t.Expires != nil {
						exp = t.Expires.Local().Format(time.DateTime)
						if !now.Before(*t.Expires) {
							exp += " (expired)"
						}
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.Name, t.Policy, t.Created.Local().Format(time.DateTime), exp)
				}
				tw.Flush()
			})
		},
	}
	addOutputFlag(list, &format)
	revoke := &cobra.Command{
		Use:     "revoke NAME",
		Aliases: []string{"delete"},
		Short:   "Revoke a token: it stops working at once",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			if err := c.RevokeToken(cmd.Context(), args[0]); err != nil {
				return err
			}
			fmt.Fprintf(g.out, "token %s revoked\n", args[0])
			return nil
		},
	}
	var rotPolicy, rotExpires string
	var rotAWSKeys bool
	rotate := &cobra.Command{
		Use:   "rotate NAME [--policy NAME|FILE] [--expires 720h|30d] [--aws-keys]",
		Short: "Give a token a new secret and print it; the old one stops working at once",
		Long: "Give a token a new secret and print it on standard output, alone. The token keeps its policy\n" +
			"unless --policy names one (which, as for create, may allow nothing your own token does not),\n" +
			"and its lifetime unless --expires gives one. Needs sluice:RotateToken on token/NAME.\n" +
			"The token's AWS access keys stop working with the old secret; --aws-keys prints a new one, as create does.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := wire.CreateTokenRequest{Name: args[0]}
			if rotPolicy != "" || rotExpires != "" {
				var err error
				if req, err = tokenRequest(args[0], rotPolicy, rotExpires); err != nil {
					return err
				}
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			req.AWSKeys = rotAWSKeys
			t, err := c.RotateToken(cmd.Context(), req)
			if err != nil {
				return err
			}
			fmt.Fprintln(g.out, t.Token)
			if t.AccessKeyID != "" {
				fmt.Fprintf(g.out, "AWS_ACCESS_KEY_ID=%s\nAWS_SECRET_ACCESS_KEY=%s\n", t.AccessKeyID, t.SecretAccessKey)
			}
			return nil
		},
	}
	rotate.Flags().StringVar(&rotPolicy, "policy", "", "a new policy: ready-made ("+ready+") or a policy file (default: the token's own)")
	rotate.Flags().BoolVar(&rotAWSKeys, "aws-keys", false, "also make a new AWS access key for the token")
	rotate.Flags().StringVar(&rotExpires, "expires", "", "how long the new secret works, such as 720h or 30d (default: the token's lifetime)")
	cmd.AddCommand(create, list, revoke, rotate)
	return cmd
}

// tokenRequest reads --policy (a ready-made name or a file) and --expires.
func tokenRequest(name, policy, expires string) (wire.CreateTokenRequest, error) {
	ready := strings.Join(iam.ReadyMadeNames(), ", ")
	req := wire.CreateTokenRequest{Name: name, Policy: policy}
	if policy != "" && !slices.Contains(iam.ReadyMadeNames(), policy) && policy != iam.PolicyRead {
		doc, err := os.ReadFile(policy)
		if errors.Is(err, os.ErrNotExist) {
			return req, fmt.Errorf("--policy: %q is neither a ready-made policy (%s) nor a file", policy, ready)
		}
		if err != nil {
			return req, fmt.Errorf("--policy: %w", err)
		}
		req.PolicyDocument = string(doc)
	}
	if expires != "" {
		d, err := parseLifetime(expires)
		if err != nil {
			return req, fmt.Errorf("--expires: %w", err)
		}
		req.ExpiresInSeconds = int64((d + time.Second - 1) / time.Second)
	}
	return req, nil
}

// parseLifetime reads a token's lifetime: a Go duration (720h, 90m) or a
// number of days (30d).
func parseLifetime(s string) (time.Duration, error) {
	var d time.Duration
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n > 100*365 {
			return 0, fmt.Errorf("%q is not a number of days such as 30d", s)
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, fmt.Errorf("%q is not a duration such as 720h or 30d", s)
		}
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: a token's lifetime must be more than nothing", s)
	}
	return d, nil
}
