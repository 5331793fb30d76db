package build

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/shellword"
)

// tokenUser is the user name sent with a bare token, as the gitsource
// provider sends it (GitHub and Gitea take it).
const tokenUser = "x-access-token"

// gitCredentials are the credentials env.git-credential-helper gives git:
// those of the action's CredentialsSecret (USER:PASSWORD, or a bare token),
// the secret a GitRemote source action names too. They are read once per job,
// on the first build that asks for them.
type gitCredentials struct {
	once           sync.Once
	user, password string // empty: none
	err            error
}

func (c *gitCredentials) get(ctx context.Context, job *provider.Job) (string, string, error) {
	c.once.Do(func() { c.user, c.password, c.err = readGitCredentials(ctx, job) })
	return c.user, c.password, c.err
}

// readGitCredentials reads the action's CredentialsSecret, says in the log
// which secret git authenticates with (never its value), and has the
// password masked in the log when the log can mask.
func readGitCredentials(ctx context.Context, job *provider.Job) (string, string, error) {
	name := strings.TrimSpace(job.Configuration["CredentialsSecret"])
	if name == "" {
		fmt.Fprintln(job.Log, "[Container] git-credential-helper: no credentials are available to git: the action has no CredentialsSecret")
		return "", "", nil
	}
	if job.Secret == nil {
		return "", "", fmt.Errorf("git-credential-helper: configuration CredentialsSecret %s: this worker cannot read secrets", name)
	}
	raw, err := job.Secret(ctx, name)
	if err != nil {
		return "", "", fmt.Errorf("git-credential-helper: configuration CredentialsSecret %s: %w", name, err)
	}
	value := strings.TrimSpace(string(raw))
	switch {
	case strings.HasPrefix(value, "-----BEGIN"):
		fmt.Fprintf(job.Log, "[Container] git-credential-helper: no credentials are available to git: secret %s holds an SSH private key, and the helper serves http(s) only\n", name)
		return "", "", nil
	case value == "":
		return "", "", fmt.Errorf("git-credential-helper: configuration CredentialsSecret %s is empty", name)
	case strings.ContainsAny(value, "\n\r\x00"):
		// git's credential protocol is one attribute a line.
		return "", "", fmt.Errorf("git-credential-helper: configuration CredentialsSecret %s holds a line break; want USER:PASSWORD or a token", name)
	}
	user, password, ok := strings.Cut(value, ":")
	if !ok {
		user, password = tokenUser, value
	}
	// The worker masks the secret's whole value; the password alone may show
	// too (a build printing what git sent).
	addMask(job.Log, []byte(password))
	fmt.Fprintf(job.Log, "[Container] git-credential-helper: git authenticates with the credentials in secret %s\n", name)
	return user, password, nil
}

// installGitHelper makes git, run with HOME home, ask a helper in dir (the
// build's scratch directory) for credentials: the helper reads them from a
// file beside it and prints them to git on stdout, so they are on no command
// line and in no environment variable. With no credentials it answers
// nothing and git goes on as without it. The helper answers for every host,
// as CodeBuild's does for the build's source: git asks only when a server
// demands authentication.
func installGitHelper(home, dir, user, password string) error {
	creds := filepath.Join(dir, "git-credentials")
	data := ""
	if user != "" {
		data = "username=" + user + "\npassword=" + password + "\n"
	}
	if err := os.WriteFile(creds, []byte(data), 0o600); err != nil {
		return fmt.Errorf("git-credential-helper: %w", err)
	}
	helper := filepath.Join(dir, "git-credential-sluice")
	script := "#!/bin/sh\n" +
		"# Written by sluice for env.git-credential-helper: gives git the build's credentials.\n" +
		"case $1 in get) ;; *) exit 0 ;; esac\n" +
		"# git's request comes first, up to an empty line; the answer is the same for any.\n" +
		"while IFS= read -r l && [ -n \"$l\" ]; do :; done\n" +
		"while IFS= read -r l; do printf '%s\\n' \"$l\"; done < " + shellword.Quote(creds) + "\n"
	if err := os.WriteFile(helper, []byte(script), 0o700); err != nil {
		return fmt.Errorf("git-credential-helper: %w", err)
	}
	// Appended, so that a .gitconfig the build's cache brought back keeps
	// its settings; git tries every helper in order.
	f, err := os.OpenFile(filepath.Join(home, ".gitconfig"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("git-credential-helper: %w", err)
	}
	_, err = io.WriteString(f, "# Written by sluice: the buildspec sets env.git-credential-helper.\n[credential]\n\thelper = "+gitConfigQuote("!"+shellword.Quote(helper))+"\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("git-credential-helper: %w", err)
	}
	return nil
}

// gitConfigQuote writes s as a double-quoted git config value.
func gitConfigQuote(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}
