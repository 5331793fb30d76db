// Package cli is the sluice command line: one file per subcommand, each a thin
// layer over the API client.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/api/client"
)

// ExitError carries a process exit code out of a command.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

// globals are the flags every client command shares.
type globals struct {
	server string
	// serverFrom says where server came from when it is neither the flag nor
	// SLUICE_SERVER (a data directory's server.url), for error messages.
	serverFrom    string
	serverDefault bool // neither --server nor SLUICE_SERVER was given
	token         string
	caCert        string // PEM file of certificates to trust for the server
	out           io.Writer
	errOut        io.Writer
}

func (g *globals) client() (*client.Client, error) {
	if g.token == "" {
		return nil, errors.New("no token: pass --token or set SLUICE_TOKEN (the server wrote its admin token to DATA/admin.token)")
	}
	return g.clientWith(g.token)
}

// clientWith is a client of --server with token, trusting --ca-cert.
func (g *globals) clientWith(token string) (*client.Client, error) {
	if g.serverDefault && g.server == defaultServer {
		if u, from := discoverServer(); u != "" {
			g.server, g.serverFrom = u, from
		}
	}
	var opts []client.Option
	if g.caCert != "" {
		pool, err := client.LoadCAFile(g.caCert)
		if err != nil {
			return nil, fmt.Errorf("--ca-cert: %w", err)
		}
		opts = append(opts, client.WithRootCAs(pool))
	}
	return client.New(g.server, token, opts...), nil
}

// NewRoot returns the sluice command.
func NewRoot(stdout, stderr io.Writer) *cobra.Command {
	root, _ := newRoot(stdout, stderr)
	return root
}

func newRoot(stdout, stderr io.Writer) (*cobra.Command, *globals) {
	g := &globals{out: stdout, errOut: stderr}
	root := &cobra.Command{
		Use:           "sluice",
		Short:         "sluice: continuous delivery with pipelines that depend on each other",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	defServer := os.Getenv("SLUICE_SERVER")
	if defServer == "" {
		defServer = defaultServer
	}
	root.PersistentFlags().StringVar(&g.server, "server", defServer, "server URL (env SLUICE_SERVER; default: the URL in $SLUICE_DATA/server.url or ./sluice-data/server.url that a server on this machine wrote, else "+defaultServer+")")
	// The token's default is read from the environment when a command runs,
	// never here: cobra prints a flag's default in --help, and a token must
	// not reach a terminal, a CI log or a screenshot that way.
	root.PersistentFlags().StringVar(&g.token, "token", "", "API token (default $SLUICE_TOKEN)")
	root.PersistentPreRun = func(cmd *cobra.Command, args []string) {
		g.serverDefault = os.Getenv("SLUICE_SERVER") == "" && !cmd.Flags().Changed("server")
		// The root's own flag, in case a command ever defines a --token of
		// its own that would shadow it.
		if !root.PersistentFlags().Changed("token") {
			g.token = os.Getenv("SLUICE_TOKEN")
		}
	}
	root.PersistentFlags().StringVar(&g.caCert, "ca-cert", os.Getenv("SLUICE_CA_CERT"), "PEM file of certificates to trust for an https server, such as its self-signed one (env SLUICE_CA_CERT)")

	root.AddCommand(
		newDeploymentCmd(g),
		newPipelineCmd(g),
		newStartCmd(g),
		newExecutionCmd(g),
		newExecutionsCmd(g),
		newStatusCmd(g),
		newLogsCmd(g),
		newArtifactCmd(g),
		newStopCmd(g),
		newRetryCmd(g),
		newRollbackCmd(g),
		newStageCmd(g),
		newApproveCmd(g),
		newRejectCmd(g),
		newLocksCmd(g),
		newTransitionCmd(g),
		newEventsCmd(g),
		newGraphCmd(g),
		newSecretCmd(g),
		newAdminCmd(g),
		newRepoCmd(g),
		newWebhookCmd(g),
		newTokenCmd(g),
		newSSHKeyCmd(g),
		newPRCmd(g),
		newPolicyCmd(g),
		newBuildspecCmd(g),
		newProjectCmd(g),
		newFunctionCmd(g),
		newDeployGroupCmd(g),
		newConnectionCmd(g),
		newRuleCmd(g),
		newJobCmd(g),
		newReportCmd(g),
		newAuditCmd(g),
		newVersionCmd(g),
	)
	root.AddCommand(localCommands(g)...)
	return root, g
}

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	root, g := newRoot(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	err = explainUnreachable(err, g)
	var ee *ExitError
	if errors.As(err, &ee) {
		if ee.Err != nil {
			ee.Err = explainUnreachable(ee.Err, g)
			fmt.Fprintln(stderr, "sluice:", ee.Err)
		}
		return ee.Code
	}
	fmt.Fprintln(stderr, "sluice:", err)
	return 1
}

// output prints v as json, yaml, or with text when format is "" or "text".
func output(w io.Writer, format string, v any, text func(io.Writer)) error {
	switch strings.ToLower(format) {
	case "", "text":
		text(w)
		return nil
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	case "yaml":
		// Through JSON, so YAML keys are the API's JSON names.
		raw, err := json.Marshal(v)
		if err != nil {
			return err
		}
		var generic any
		if err := json.Unmarshal(raw, &generic); err != nil {
			return err
		}
		enc := yaml.NewEncoder(w)
		enc.SetIndent(2)
		defer enc.Close()
		return enc.Encode(generic)
	}
	return fmt.Errorf("-o: unknown format %q (json, yaml or text)", format)
}

func addOutputFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "output", "o", "text", "output format: text, json or yaml")
}
