// Package buildproject reads and checks build projects: CodeBuild's project,
// the parts that apply to sluice. A project names a buildspec (a path inside
// the primary source, or inline YAML), environment variables, a timeout and
// how builds are isolated.
package buildproject

import (
	"fmt"
	"path"
	"strings"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/sluice-ci/sluice/internal/buildspec"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Environment variable types, CodeBuild's.
const (
	TypePlaintext      = "PLAINTEXT"
	TypeParameterStore = "PARAMETER_STORE"
	TypeSecretsManager = "SECRETS_MANAGER"
)

// Isolation settings.
const (
	IsolationAuto       = "auto"
	IsolationBubblewrap = "bubblewrap"
	IsolationNone       = "none"
)

// Defaults, CodeBuild's where it has one.
const (
	DefaultBuildspec = "buildspec.yml"
	DefaultTimeout   = 60
	MinTimeout       = 5
	MaxTimeout       = 2160
)

// Project is a build project.
type Project struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Buildspec is a path inside the primary source, or the buildspec itself
	// (see Inline).
	Buildspec            string                `json:"buildspec"`
	EnvironmentVariables []EnvironmentVariable `json:"environmentVariables,omitempty"`
	TimeoutInMinutes     int                   `json:"timeoutInMinutes"`
	Isolation            string                `json:"isolation"`
	Network              bool                  `json:"network"`
	// ServiceRole names the policy the project's builds run with, as
	// written (CodeBuild's serviceRole: a role's name or ARN, whose name
	// pipeline.RoleName reads): it decides which secrets they get. Empty: the
	// pipeline's role. Applying resolves it as a pipeline's role.
	ServiceRole string `json:"serviceRole,omitempty"`
	// Connection names an aws connection (a sluice field; CodeBuild has
	// none): with it, SECRETS_MANAGER and PARAMETER_STORE variables, and a
	// buildspec's env.secrets-manager and env.parameter-store, are read
	// from AWS Secrets Manager and SSM Parameter Store through it instead
	// of from sluice's secrets.
	Connection string `json:"connection,omitempty"`
}

// EnvironmentVariable is one of a project's variables. For PARAMETER_STORE and
// SECRETS_MANAGER, Value names a sluice secret.
type EnvironmentVariable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type"`
}

// IsSecret reports whether v's value names a secret rather than being the value.
func (v EnvironmentVariable) IsSecret() bool {
	return v.Type == TypeParameterStore || v.Type == TypeSecretsManager
}

// New returns a project named name with the defaults.
func New(name string) *Project {
	return &Project{Name: name, Buildspec: DefaultBuildspec, TimeoutInMinutes: DefaultTimeout, Isolation: IsolationAuto, Network: true}
}

var (
	nameRE    = lazyregexp.New(`^[A-Za-z0-9][A-Za-z0-9_-]{1,254}$`)
	versionRE = lazyregexp.New(`(?m)^[ \t]*["']?version["']?[ \t]*:`)
)

// IsInline reports whether a buildspec field holds the buildspec itself rather
// than a path: CodeBuild's rule, a string holding a "version:" line.
func IsInline(spec string) bool { return versionRE.MatchString(spec) }

// Inline reports whether p's buildspec is inline YAML rather than a path.
func (p *Project) Inline() bool { return IsInline(p.Buildspec) }

// Validate checks p. The error, if any, is a yamlnode.ErrorList naming each
// problem's field; Parse adds the file's lines.
func (p *Project) Validate() error { return p.validate("", nil).Err() }

// validate checks p; an inline buildspec's errors are reported in the file
// named file at the line inlineLine gives for its own line (nil: none).
func (p *Project) validate(file string, inlineLine func(int) int) yamlnode.ErrorList {
	var errs yamlnode.ErrorList
	add := func(path, format string, args ...any) {
		errs = append(errs, &yamlnode.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case p.Name == "":
		add("name", "required")
	case pipeline.CheckName(p.Name) != nil:
		add("name", "%v", pipeline.CheckName(p.Name))
	case !nameRE.MatchString(p.Name):
		add("name", "%q is not a project name (2-255 letters, digits, - and _, starting with a letter or digit)", p.Name)
	}
	if p.Connection != "" && pipeline.CheckName(p.Connection) != nil {
		add("connection", "%v", pipeline.CheckName(p.Connection))
	}
	if p.ServiceRole != "" && pipeline.CheckName(pipeline.RoleName(p.ServiceRole)) != nil {
		add("serviceRole", "%v", pipeline.CheckName(pipeline.RoleName(p.ServiceRole)))
	}
	if len(p.Description) > 255 {
		add("description", "longer than 255 characters")
	}
	switch {
	case strings.TrimSpace(p.Buildspec) == "":
		add("buildspec", "must not be empty (a path inside the source, or the buildspec itself)")
	case p.Inline():
		_, _, err := buildspec.Parse("buildspec", []byte(p.Buildspec))
		list, _ := err.(yamlnode.ErrorList)
		for _, e := range list {
			pe := &yamlnode.Error{Path: "buildspec", Msg: e.Msg}
			if e.Path != "" {
				pe.Path += "." + e.Path
			}
			if inlineLine != nil {
				pe.File, pe.Line = file, inlineLine(e.Line)
			}
			errs = append(errs, pe)
		}
		if err != nil && list == nil {
			add("buildspec", "%v", err)
		}
	default:
		clean := path.Clean(p.Buildspec)
		if path.IsAbs(p.Buildspec) || clean == ".." || strings.HasPrefix(clean, "../") || clean == "." {
			add("buildspec", "%q is not a path inside the source (nor inline YAML: it has no version: line)", p.Buildspec)
		}
	}
	seen := map[string]int{}
	for i, v := range p.EnvironmentVariables {
		vp := fmt.Sprintf("environmentVariables[%d]", i)
		switch first, dup := seen[v.Name]; {
		case v.Name == "":
			add(vp+".name", "required")
		case dup:
			add(vp+".name", "%s given twice (first as environmentVariables[%d])", v.Name, first)
		case strings.HasPrefix(strings.ToUpper(v.Name), "CODEBUILD_"):
			add(vp+".name", "%s: names starting with CODEBUILD_ are reserved", v.Name)
		case strings.ContainsAny(v.Name, "=\x00"):
			add(vp+".name", "%q: a name cannot hold = or NUL", v.Name)
		}
		if _, dup := seen[v.Name]; !dup {
			seen[v.Name] = i
		}
		switch v.Type {
		case TypePlaintext:
		case TypeParameterStore, TypeSecretsManager:
			if v.Value == "" {
				add(vp+".value", "required: the name of the sluice secret holding the value")
			}
		default:
			add(vp+".type", "unknown type %q (%s, %s or %s)", v.Type, TypePlaintext, TypeParameterStore, TypeSecretsManager)
		}
	}
	if p.TimeoutInMinutes < MinTimeout || p.TimeoutInMinutes > MaxTimeout {
		add("timeoutInMinutes", "%d is out of range (%d to %d)", p.TimeoutInMinutes, MinTimeout, MaxTimeout)
	}
	switch p.Isolation {
	case IsolationAuto, IsolationBubblewrap, IsolationNone:
	default:
		add("isolation", "unknown isolation %q (%s, %s or %s)", p.Isolation, IsolationAuto, IsolationBubblewrap, IsolationNone)
	}
	return errs
}
