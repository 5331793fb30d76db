package pipeline

import (
	"fmt"
	"strings"

	"github.com/sluice-ci/sluice/internal/lazyregexp"
)

// Providers of the source actions that read a repository on a git host
// (GitHub, GitHub Enterprise, GitLab, Bitbucket, Gitea) through a
// connection. CodeConnections is CodeStarSourceConnection under the name
// CodePipeline gave it when CodeStar Connections became CodeConnections;
// GitHub is the version 1 GitHub action (OAuth token), through a connection
// or a secret.
const (
	ProviderCodeStarSourceConnection = "CodeStarSourceConnection"
	ProviderCodeConnections          = "CodeConnections"
	ProviderGitHub                   = "GitHub"
)

// IsHostSource reports whether provider reads a repository on a git host
// through a connection.
func IsHostSource(provider string) bool {
	return provider == ProviderCodeStarSourceConnection || provider == ProviderCodeConnections || provider == ProviderGitHub
}

// CodePipeline's keys of the connection source and of GitHub version 1;
// sluice adds Connection to the latter, naming a git host connection.
var (
	connectionSourceKeys = []string{"ConnectionArn", "FullRepositoryId", "BranchName", "OutputArtifactFormat", "DetectChanges"}
	gitHubSourceKeys     = []string{"Owner", "Repo", "Branch", "OAuthToken", "PollForSourceChanges", ConfigConnection}
)

var (
	// connectionARNRE is a CodeStar Connections or CodeConnections
	// connection ARN, as CodePipeline's ConnectionArn holds it; its second
	// group is the connection's id.
	connectionARNRE = lazyregexp.New(`^arn:aws[a-z-]*:(codestar-connections|codeconnections):[a-z0-9-]+:[0-9]{12}:connection/([A-Za-z0-9._-]+)$`)
	// repoSegmentRE is one segment of a repository's full name on GitHub,
	// GitLab (groups and subgroups), Bitbucket or Gitea.
	repoSegmentRE = lazyregexp.New(`^[A-Za-z0-9_.-]{1,100}$`)
	// resolveRE is CloudFormation's dynamic reference to a Secrets Manager
	// secret, as templates give GitHub's OAuthToken:
	// {{resolve:secretsmanager:NAME[:SecretString[:KEY]]}}.
	resolveRE = lazyregexp.New(`^\{\{resolve:secretsmanager:([^:{}]+)(?::SecretString(?::([^:{}]*))?)?(?::[^{}]*)?\}\}$`)
	// tokenRE matches what looks like a GitHub token itself rather than the
	// name of a secret holding one.
	tokenRE = lazyregexp.New(`^(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}|[0-9a-f]{40})$`)
)

// CheckConnectionARN says whether s is a connection ARN as CodePipeline
// spells it.
func CheckConnectionARN(s string) error {
	if !connectionARNRE.MatchString(s) {
		return fmt.Errorf("%q is not a connection ARN (arn:aws:codeconnections:REGION:ACCOUNT:connection/ID, or codestar-connections)", s)
	}
	return nil
}

// ConnectionARNID returns the id at the end of a connection ARN.
func ConnectionARNID(arn string) (string, bool) {
	m := connectionARNRE.FindStringSubmatch(arn)
	if m == nil {
		return "", false
	}
	return m[2], true
}

// CheckFullRepositoryID says whether s names a repository as
// FullRepositoryId does: OWNER/NAME (GROUP/SUBGROUP/NAME on GitLab).
func CheckFullRepositoryID(s string) error {
	parts := strings.Split(s, "/")
	ok := len(parts) >= 2
	for _, p := range parts {
		ok = ok && repoSegmentRE.MatchString(p) && p != "." && p != ".." && !strings.HasSuffix(p, ".git")
	}
	if !ok {
		return fmt.Errorf("%q is not a repository's full name (OWNER/NAME, as in my-org/my-repo; GROUP/SUBGROUP/NAME on GitLab)", s)
	}
	return nil
}

// OAuthTokenSecret returns the sluice secret a GitHub action's OAuthToken
// names, and the JSON key within it when it names one: a bare secret name,
// or CloudFormation's {{resolve:secretsmanager:NAME:SecretString:KEY}}. It
// refuses the token itself, which must not be written in a pipeline, and the
// **** CodePipeline shows in place of a stored token.
func OAuthTokenSecret(v string) (secret, key string, err error) {
	v = strings.TrimSpace(v)
	switch {
	case v == "":
		return "", "", fmt.Errorf("empty: name the sluice secret holding the token")
	case strings.Trim(v, "*") == "":
		return "", "", fmt.Errorf("%q is the mask CodePipeline shows in place of the token: name the sluice secret holding it (or give Connection)", v)
	case tokenRE.MatchString(v):
		return "", "", fmt.Errorf("looks like a token itself: store it in a sluice secret (sluice secret put) and give the secret's name, so the token is not in the pipeline")
	}
	if m := resolveRE.FindStringSubmatch(v); m != nil {
		secret, key = m[1], m[2]
	} else if strings.HasPrefix(v, "{{") {
		return "", "", fmt.Errorf("%q: want a secret's name or {{resolve:secretsmanager:NAME}} (or NAME:SecretString:KEY for a key of a JSON secret)", v)
	} else {
		secret = v
	}
	if strings.HasPrefix(secret, "arn:") {
		return "", "", fmt.Errorf("%q: name the sluice secret by its name, not a Secrets Manager ARN", secret)
	}
	if err := CheckPathName(secret); err != nil {
		return "", "", err
	}
	return secret, key, nil
}

// connectionSourceConfig checks a CodeStarSourceConnection or
// CodeConnections action's configuration.
func connectionSourceConfig(cfg map[string]string) []ConfigProblem {
	out := unknownKeysSuggest(cfg, connectionSourceKeys)
	if v := cfg["ConnectionArn"]; v != "" && !hasVariables(v) {
		if err := CheckConnectionARN(v); err != nil {
			out = append(out, ConfigProblem{Key: "ConnectionArn", Msg: err.Error()})
		}
	}
	if v := cfg["FullRepositoryId"]; v != "" && !hasVariables(v) {
		if err := CheckFullRepositoryID(v); err != nil {
			out = append(out, ConfigProblem{Key: "FullRepositoryId", Msg: err.Error()})
		}
	}
	out = append(out, checkBranchKey(cfg, "BranchName")...)
	if f, ok := cfg["OutputArtifactFormat"]; ok && !hasVariables(f) && f != "CODE_ZIP" && f != "CODEBUILD_CLONE_REF" {
		out = append(out, ConfigProblem{Key: "OutputArtifactFormat", Msg: fmt.Sprintf("%q is not CODE_ZIP or CODEBUILD_CLONE_REF", f)})
	}
	if v, ok := cfg["DetectChanges"]; ok && !hasVariables(v) && v != "true" && v != "false" {
		out = append(out, ConfigProblem{Key: "DetectChanges", Msg: fmt.Sprintf("%q is not true or false", v)})
	}
	return out
}

// gitHubSourceConfig checks a GitHub (version 1) action's configuration.
// Its OAuthToken is checked by RequireRunnable: a definition exported from
// CodePipeline holds **** there, which imports but cannot run.
func gitHubSourceConfig(cfg map[string]string) []ConfigProblem {
	out := unknownKeysSuggest(cfg, gitHubSourceKeys)
	for _, k := range []string{"Owner", "Repo"} {
		if v := cfg[k]; v != "" && !hasVariables(v) && (!repoSegmentRE.MatchString(v) || v == "." || v == "..") {
			out = append(out, ConfigProblem{Key: k, Msg: fmt.Sprintf("%q is not a GitHub %s name (letters, digits, ., _ and -)", v, strings.ToLower(k))})
		}
	}
	out = append(out, checkBranchKey(cfg, "Branch")...)
	if v, ok := cfg["PollForSourceChanges"]; ok && !hasVariables(v) && v != "true" && v != "false" {
		out = append(out, ConfigProblem{Key: "PollForSourceChanges", Msg: fmt.Sprintf("%q is not true or false", v)})
	}
	if c, ok := cfg[ConfigConnection]; ok && !hasVariables(c) {
		if err := CheckName(c); err != nil {
			out = append(out, ConfigProblem{Key: ConfigConnection, Msg: err.Error()})
		}
	}
	return out
}

// checkBranchKey checks a branch name as git check-ref-format would.
func checkBranchKey(cfg map[string]string, key string) []ConfigProblem {
	b, ok := cfg[key]
	if !ok || b == "" || hasVariables(b) {
		return nil
	}
	name := strings.TrimPrefix(b, "refs/heads/")
	bad := name == "" || name == "HEAD" || strings.HasPrefix(name, "-") || strings.HasSuffix(name, "/") ||
		strings.HasSuffix(name, ".") || strings.Contains(name, "..") || strings.Contains(name, "@{") ||
		strings.Contains(name, "//") || strings.ContainsFunc(name, func(r rune) bool {
		return r < 0x20 || r == 0x7f || strings.ContainsRune(" ~^:?*[\\", r)
	})
	for part := range strings.SplitSeq(name, "/") {
		bad = bad || strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock")
	}
	if bad {
		return []ConfigProblem{{Key: key, Msg: fmt.Sprintf("%q is not a valid branch name", b)}}
	}
	return nil
}

// hostSourceRunnable finds what a host source action needs to run beyond
// what a definition needs to import.
func hostSourceRunnable(a Action) string {
	if a.ActionTypeID.Provider != ProviderGitHub {
		return ""
	}
	cfg := a.Configuration
	conn, token := cfg[ConfigConnection], cfg["OAuthToken"]
	switch {
	case conn != "" && token != "" && strings.Trim(token, "*") != "":
		return "give Connection (a git host connection) or OAuthToken (a sluice secret holding the token), not both"
	case conn != "":
		return ""
	case token == "":
		return "missing OAuthToken or Connection: a GitHub action reads its repository with the token in a sluice secret (OAuthToken: SECRET, or {{resolve:secretsmanager:SECRET}}) or through a git host connection (Connection: NAME)"
	case hasVariables(token):
		return ""
	}
	if _, _, err := OAuthTokenSecret(token); err != nil {
		return "OAuthToken " + err.Error()
	}
	return ""
}
