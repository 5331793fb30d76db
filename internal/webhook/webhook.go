// Package webhook holds CodePipeline's webhooks as sluice serves them at
// POST /webhooks/NAME: the definition a user applies (name, target pipeline
// and action, JSONPath filters, authentication), the check of an incoming
// request's signature or address, the evaluation of the filters on its body,
// and the reading of GitHub, GitLab and Gitea push payloads.
//
// The HTTP handler is expected to do, in this order: read the body (bounded),
// Authenticate (ErrUnauthorized → 401), Match (ErrBadRequest → 400; false →
// nothing starts), then ParsePush for what to record on the execution. None
// of these logs, and no error carries the secret.
package webhook

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/ohler55/ojg/jp"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Authentication types, as CodePipeline names them.
const (
	// AuthGitHubHMAC checks an HMAC-SHA256 of the body keyed with the
	// SecretToken: GitHub's X-Hub-Signature-256 and Gitea's
	// X-Gitea-Signature, or GitLab's X-Gitlab-Token, which is the secret
	// itself.
	AuthGitHubHMAC = "GITHUB_HMAC"
	// AuthIP accepts requests whose client address is in AllowedIPRange.
	AuthIP = "IP"
	// AuthUnauthenticated accepts every request.
	AuthUnauthenticated = "UNAUTHENTICATED"
)

// Limits from CodePipeline's API reference (WebhookDefinition,
// WebhookFilterRule, WebhookAuthConfiguration).
const (
	maxFilters      = 5
	maxJSONPathLen  = 150
	maxMatchLen     = 150
	maxSecretLen    = 100
	maxIPRangeLen   = 100
	nameConstraints = "1 to 100 of A-Z a-z 0-9 . @ _ -"
)

var nameRE = lazyregexp.New(`^[A-Za-z0-9.@_-]{1,100}$`)

// Definition is CodePipeline's WebhookDefinition; its JSON form is the one
// `aws codepipeline put-webhook` takes.
type Definition struct {
	Name           string `json:"name"`
	TargetPipeline string `json:"targetPipeline"`
	// TargetAction is the source action whose configuration {Key}
	// placeholders in MatchEquals refer to; it must be in the pipeline's
	// first stage.
	TargetAction                string            `json:"targetAction"`
	Filters                     []Filter          `json:"filters"`
	Authentication              string            `json:"authentication"`
	AuthenticationConfiguration AuthConfiguration `json:"authenticationConfiguration"`
}

// Filter is one rule on the body; every filter of a definition must pass.
type Filter struct {
	// JSONPath selects values from the body, as in "$.ref".
	JSONPath string `json:"jsonPath"`
	// MatchEquals is the value one of them must equal. {Key} stands for
	// the target action's configuration value Key, as in
	// "refs/heads/{BranchName}". When empty, the path must select
	// something.
	MatchEquals string `json:"matchEquals,omitempty"`
}

// AuthConfiguration keeps CodePipeline's capitalised field names.
type AuthConfiguration struct {
	SecretToken    string `json:"SecretToken,omitempty"`
	AllowedIPRange string `json:"AllowedIPRange,omitempty"`
}

// Redacted returns a copy of d without its secret, for showing; CodePipeline
// likewise never returns a webhook's secret token. The token is emptied
// rather than masked, so that a shown definition applied back fails
// validation instead of setting the secret to the mask.
func (d *Definition) Redacted() *Definition {
	c := *d
	c.Filters = append([]Filter(nil), d.Filters...)
	c.AuthenticationConfiguration.SecretToken = ""
	return &c
}

// Validate checks d against CodePipeline's rules and returns every problem as
// a yamlnode.ErrorList whose paths name fields (filters[1].jsonPath), or nil.
// ParseDefinition adds file and line to the same errors.
func (d *Definition) Validate() error {
	var errs yamlnode.ErrorList
	add := func(path, format string, args ...any) {
		errs = append(errs, &yamlnode.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	for _, f := range []struct{ path, value, what string }{
		{"name", d.Name, "webhook name"},
		{"targetPipeline", d.TargetPipeline, "pipeline name"},
		{"targetAction", d.TargetAction, "action name"},
	} {
		switch {
		case f.value == "":
			add(f.path, "required")
		case pipeline.CheckName(f.value) != nil:
			add(f.path, "%v", pipeline.CheckName(f.value))
		case !nameRE.MatchString(f.value):
			add(f.path, "%q is not a valid %s: use %s", f.value, f.what, nameConstraints)
		}
	}

	if len(d.Filters) > maxFilters {
		add("filters", "too many filters: %d, at most %d", len(d.Filters), maxFilters)
	}
	for i, f := range d.Filters {
		fp := fmt.Sprintf("filters[%d]", i)
		if _, err := compilePath(f.JSONPath); err != nil {
			add(fp+".jsonPath", "%v", err)
		}
		if n := utf8.RuneCountInString(f.MatchEquals); n > maxMatchLen {
			add(fp+".matchEquals", "too long: %d characters, at most %d", n, maxMatchLen)
		}
	}

	ac := d.AuthenticationConfiguration
	const cp = "authenticationConfiguration"
	secret, ipRange := cp+".SecretToken", cp+".AllowedIPRange"
	switch d.Authentication {
	case AuthGitHubHMAC:
		switch n := utf8.RuneCountInString(ac.SecretToken); {
		case n == 0:
			add(secret, "required for %s", AuthGitHubHMAC)
		case n > maxSecretLen:
			add(secret, "too long: %d characters, at most %d", n, maxSecretLen)
		}
		if ac.AllowedIPRange != "" {
			add(ipRange, "only %s authentication takes an AllowedIPRange", AuthIP)
		}
	case AuthIP:
		if ac.AllowedIPRange == "" {
			add(ipRange, "required for %s: a CIDR range such as 192.0.2.0/24", AuthIP)
		} else if _, err := parseRange(ac.AllowedIPRange); err != nil {
			add(ipRange, "%v", err)
		}
		if ac.SecretToken != "" {
			add(secret, "only %s authentication takes a SecretToken", AuthGitHubHMAC)
		}
	case AuthUnauthenticated:
		if ac.SecretToken != "" {
			add(secret, "%s takes no SecretToken", AuthUnauthenticated)
		}
		if ac.AllowedIPRange != "" {
			add(ipRange, "%s takes no AllowedIPRange", AuthUnauthenticated)
		}
	case "":
		add("authentication", "required: %s, %s or %s", AuthGitHubHMAC, AuthIP, AuthUnauthenticated)
	default:
		add("authentication", "unknown authentication %q (want %s, %s or %s)", d.Authentication,
			AuthGitHubHMAC, AuthIP, AuthUnauthenticated)
	}
	return errs.Err()
}

// CheckTarget checks that the webhook's target action is a source action in
// p's first stage, as CodePipeline requires, and returns an error naming
// targetAction otherwise.
func (d *Definition) CheckTarget(p *pipeline.Pipeline) error {
	if len(p.Stages) > 0 {
		for _, a := range p.Stages[0].Actions {
			if a.Name == d.TargetAction {
				if a.ActionTypeID.Category != "" && a.ActionTypeID.Category != pipeline.CategorySource {
					break
				}
				return nil
			}
		}
	}
	return yamlnode.ErrorList{{Path: "targetAction",
		Msg: fmt.Sprintf("pipeline %q has no source action %q in its first stage", p.Name, d.TargetAction)}}
}

// ActionConfiguration returns the lookup Match takes for {Key} placeholders:
// the configuration of p's action named action in the first stage.
func ActionConfiguration(p *pipeline.Pipeline, action string) func(key string) string {
	var cfg map[string]string
	if len(p.Stages) > 0 {
		for _, a := range p.Stages[0].Actions {
			if a.Name == action {
				cfg = a.Configuration
				break
			}
		}
	}
	return func(key string) string { return cfg[key] }
}

// compilePath parses a filter's JSONPath. The library is lenient (it reads
// "" and "$.." as paths), so the shape CodePipeline's documentation uses,
// starting at the root "$", is checked first.
func compilePath(path string) (jp.Expr, error) {
	switch n := utf8.RuneCountInString(path); {
	case n == 0:
		return nil, errors.New("required: a JSONPath such as $.ref")
	case n > maxJSONPathLen:
		return nil, fmt.Errorf("too long: %d characters, at most %d", n, maxJSONPathLen)
	case !strings.HasPrefix(path, "$"):
		return nil, fmt.Errorf("invalid JSONPath %q: it must start at the root, $, as in $.ref", path)
	case strings.HasSuffix(path, ".."):
		return nil, fmt.Errorf("invalid JSONPath %q: a final .. must be followed by a name", path)
	}
	x, err := jp.ParseString(path)
	if err != nil {
		return nil, fmt.Errorf("invalid JSONPath %q: %v", path, err)
	}
	return x, nil
}

// parseRange reads AllowedIPRange: one CIDR range, IPv4 or IPv6.
func parseRange(s string) (netip.Prefix, error) {
	if n := utf8.RuneCountInString(s); n > maxIPRangeLen {
		return netip.Prefix{}, fmt.Errorf("too long: %d characters, at most %d", n, maxIPRangeLen)
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		hint := ""
		if _, aerr := netip.ParseAddr(s); aerr == nil {
			hint = "; for one address, add /32, or /128 for IPv6"
		}
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR range such as 192.0.2.0/24%s", s, hint)
	}
	return p.Masked(), nil
}
