//go:build !sluiceclient

package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/buildspec"
	"github.com/sluice-ci/sluice/internal/logmask"
	"github.com/sluice-ci/sluice/internal/worker"
)

func newBuildCmd(g *globals) *cobra.Command {
	var specFile, source, artifacts string
	var envs, secretEnvs []string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "build [--buildspec FILE] [--source DIR] [--artifacts DIR] [--env K=V]... [--secret-env K=VAR]...",
		Short: "Run a buildspec here, without a server, as CodeBuild's local agent does",
		Long: `Runs a buildspec in a fresh copy of the source directory, printing the phases as they
go, and writes the primary artifact's files into --artifacts (each secondary artifact
into a subdirectory named by its identifier). --secret-env K=VAR gives the build the
variable K with the value of this shell's variable VAR. Exits non-zero when the build fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			variables, err := keyValues("--env", envs)
			if err != nil {
				return err
			}
			secretVars, err := keyValues("--secret-env", secretEnvs)
			if err != nil {
				return err
			}
			secrets := map[string]string{}
			for k, from := range secretVars {
				v, ok := os.LookupEnv(from)
				if !ok {
					return fmt.Errorf("--secret-env %s=%s: variable %s is not set in this shell", k, from, from)
				}
				secrets[k] = v
			}
			if specFile == "" {
				specFile = filepath.Join(source, "buildspec.yml")
			}
			data, err := os.ReadFile(specFile)
			if err != nil {
				return err
			}
			spec, warnings, err := buildspec.Parse(specFile, data)
			for _, w := range warnings {
				fmt.Fprintln(g.errOut, "warning:", w)
			}
			if err != nil {
				return &ExitError{Code: 1, Err: err}
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			res, err := runLocalBuild(ctx, g, spec, source, variables, secrets)
			defer os.RemoveAll(res.workspace)
			if err != nil {
				return err
			}
			for _, r := range res.reports {
				fmt.Fprintf(g.out, "report %s: %s\n", r.Group, r.Report.Summary())
			}
			if reachedArtifacts(res) && artifacts != "" {
				if err := writeArtifacts(spec, res.dir, artifacts); err != nil {
					return &ExitError{Code: 1, Err: err}
				}
				fmt.Fprintf(g.out, "artifacts written to %s\n", artifacts)
			}
			if !res.Succeeded {
				return &ExitError{Code: 1, Err: fmt.Errorf("build failed: %s", res.Message)}
			}
			fmt.Fprintln(g.out, "build succeeded")
			return nil
		},
	}
	cmd.Flags().StringVar(&specFile, "buildspec", "", "buildspec file (default: SOURCE/buildspec.yml)")
	cmd.Flags().StringVar(&source, "source", ".", "source directory, copied into a fresh workspace")
	cmd.Flags().StringVar(&artifacts, "artifacts", "", "directory to write the artifacts into")
	cmd.Flags().StringArrayVar(&envs, "env", nil, "environment variable K=V for the build (repeatable)")
	cmd.Flags().StringArrayVar(&secretEnvs, "secret-env", nil, "secret variable K=VAR taken from this shell's VAR (repeatable)")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Hour, "build timeout; the whole process tree is killed when it passes")
	return cmd
}

func keyValues(flag string, kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%s %q: want NAME=VALUE", flag, kv)
		}
		out[k] = v
	}
	return out, nil
}

type localResult struct {
	buildspec.Result
	dir       string // the source's copy, where the build ran
	workspace string // everything to remove afterwards, the build's HOME included
	reports   []buildspec.GroupReport
}

// runLocalBuild copies the source into a fresh workspace and runs the buildspec
// there, so that the build cannot change the source it was given.
func runLocalBuild(ctx context.Context, g *globals, spec *buildspec.Spec, source string, variables, secrets map[string]string) (localResult, error) {
	ws, err := os.MkdirTemp("", "sluice-build-")
	if err != nil {
		return localResult{}, err
	}
	dir := filepath.Join(ws, "src")
	if err := artifact.CopyTree(source, dir); err != nil {
		return localResult{workspace: ws}, fmt.Errorf("copy source: %w", err)
	}
	// The build gets a HOME of its own, as on a server and in a fresh
	// CodeBuild container: nothing of the caller's (credentials, caches,
	// dotfiles) reaches it, and what it leaves there goes with the workspace.
	home := filepath.Join(ws, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		return localResult{workspace: ws}, err
	}
	env := slices.DeleteFunc(worker.DefaultBaseEnv(), func(kv string) bool { return strings.HasPrefix(kv, "HOME=") })
	env = append(env, "HOME="+home)
	owned := []string{home}
	if spec.UsesRunAs() {
		// A run-as user must reach the source's copy and its HOME.
		if err := os.Chmod(ws, 0o711); err != nil {
			return localResult{workspace: ws}, err
		}
	}
	var b [16]byte
	rand.Read(b[:])
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80 // a version 4 UUID, as CodeBuild's build ids hold
	h := hex.EncodeToString(b[:])
	buildID := "local:" + h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	// CodeBuild names the user who started a build as its initiator.
	initiator := "sluice-build"
	if u, err := user.Current(); err == nil && u.Username != "" {
		initiator = u.Username
	}
	// Secret values never reach the terminal, as in builds on the server.
	out := logmask.New(g.out)
	for _, v := range secrets {
		out.Add([]byte(v))
	}
	res, err := buildspec.Run(ctx, spec, buildspec.RunConfig{
		Dir: dir, Env: env, Owned: owned, Variables: variables, Secrets: secrets,
		BuildID: buildID, BuildARN: "arn:sluice:codebuild:local:local:build/" + buildID, BuildNumber: "1",
		Initiator: initiator, Region: "local",
		Log: out,
	})
	// The test reports are read as the server reads them: when the build
	// got as far as its artifacts, whether it passed or not.
	var reports []buildspec.GroupReport
	if err == nil && reachedArtifacts(localResult{Result: res}) {
		reports = buildspec.ReadReports(spec, dir, out)
	}
	out.Flush()
	res.Message = out.Redact(res.Message)
	return localResult{Result: res, dir: dir, workspace: ws, reports: reports}, err
}

func reachedArtifacts(r localResult) bool {
	for _, p := range r.Phases {
		if p.Step == buildspec.StepUploadArtifacts {
			return true
		}
	}
	return false
}

func writeArtifacts(spec *buildspec.Spec, dir, out string) error {
	if spec.Artifacts == nil {
		return nil
	}
	write := func(a buildspec.Artifact, to string) error {
		files, err := a.Collect(dir)
		if err != nil {
			return err
		}
		return buildspec.WriteDir(to, files)
	}
	if len(spec.Artifacts.Files) > 0 {
		if err := write(spec.Artifacts.Artifact, out); err != nil {
			return err
		}
	}
	for _, s := range spec.Artifacts.Secondary {
		if err := write(s, filepath.Join(out, s.Identifier)); err != nil {
			return fmt.Errorf("secondary artifact %s: %w", s.Identifier, err)
		}
	}
	return nil
}
