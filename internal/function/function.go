// Package function reads and checks sluice's functions: what CodePipeline's
// Lambda invoke action (providers Function and Lambda) runs. A function is a
// command a worker runs with the job event on its standard input, or a URL the
// event is POSTed to; either way the function answers for its job itself,
// through the API, as a Lambda function calls PutJobSuccessResult.
package function

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Timeouts, in minutes: how long a command may run (or a URL take to answer
// the invocation). The action's own timeout still bounds waiting for the
// function's answer.
const (
	DefaultTimeout = 15
	MinTimeout     = 1
	MaxTimeout     = 900
)

// Function is a function definition.
type Function struct {
	Name string `json:"name"`
	// Command is the program and its arguments, run without a shell. Exactly
	// one of Command and URL is set.
	Command []string `json:"command,omitempty"`
	URL     string   `json:"url,omitempty"`
	// Environment is added to a command's environment.
	Environment map[string]string `json:"environment,omitempty"`
	// WorkingDirectory is where a command runs; empty means the job's
	// working directory, holding its first input artifact.
	WorkingDirectory string `json:"workingDirectory,omitempty"`
	TimeoutInMinutes int    `json:"timeoutInMinutes"`
	// Role is the named policy (or ready-made one, or an IAM role ARN
	// naming one) a command function's AWS credentials carry: each
	// invocation gets a short-lived access key (AWS_ACCESS_KEY_ID, …) for
	// sluice's AWS-compatible endpoint with this policy, revoked when it
	// ends. Empty: a function invoked for a job may answer for that job
	// only, one invoked by a rule gets no credentials.
	Role string `json:"role,omitempty"`
}

// New returns a function named name with the defaults and nothing to run.
func New(name string) *Function {
	return &Function{Name: name, TimeoutInMinutes: DefaultTimeout}
}

// ValidName reports whether name may name a function (1-100 letters,
// digits, ., - and _).
func ValidName(name string) bool { return nameRE.MatchString(name) }

var (
	nameRE = lazyregexp.New(`^[A-Za-z0-9._-]{1,100}$`)
	envRE  = lazyregexp.New(`^[A-Za-z_][A-Za-z0-9_]*$`)
	roleRE = lazyregexp.New(`^[A-Za-z0-9._@:/+=,-]{1,256}$`)
)

// reservedPrefix starts the variables sluice sets itself.
const reservedPrefix = "SLUICE_"

// Validate checks f. The error, if any, is a yamlnode.ErrorList naming each
// problem's field; Parse adds the file's lines.
func (f *Function) Validate() error { return f.validate().Err() }

func (f *Function) validate() yamlnode.ErrorList {
	var errs yamlnode.ErrorList
	add := func(path, format string, args ...any) {
		errs = append(errs, &yamlnode.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case f.Name == "":
		add("name", "required")
	case pipeline.CheckName(f.Name) != nil:
		add("name", "%v", pipeline.CheckName(f.Name))
	case !nameRE.MatchString(f.Name):
		add("name", "%q is not a function name (1-100 letters, digits, ., - and _)", f.Name)
	}
	switch {
	case f.Command != nil && f.URL != "":
		add("url", "give command or url, not both")
	case f.Command == nil && f.URL == "":
		add("", "nothing to run: give command (a program and its arguments) or url")
	case f.Command != nil:
		if len(f.Command) == 0 {
			add("command", "must hold at least the program to run")
		} else if strings.TrimSpace(f.Command[0]) == "" {
			add("command[0]", "the program must not be empty")
		}
		for i, a := range f.Command {
			if strings.ContainsRune(a, 0) {
				add(fmt.Sprintf("command[%d]", i), "cannot hold a NUL character")
			}
		}
	default:
		u, err := url.Parse(f.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			add("url", "%q is not an http or https URL", f.URL)
		}
	}
	for _, k := range sortedKeys(f.Environment) {
		p := "environment." + k
		switch {
		case !envRE.MatchString(k):
			add(p, "%q is not a variable name (letters, digits and _, not starting with a digit)", k)
		case strings.HasPrefix(strings.ToUpper(k), reservedPrefix):
			add(p, "names starting with %s are reserved for sluice's own variables", reservedPrefix)
		case strings.ContainsRune(f.Environment[k], 0):
			add(p, "the value cannot hold a NUL character")
		}
	}
	if f.WorkingDirectory != "" && !path.IsAbs(f.WorkingDirectory) {
		add("workingDirectory", "%q is not an absolute path", f.WorkingDirectory)
	}
	if f.URL != "" && f.Command == nil {
		if len(f.Environment) > 0 {
			add("environment", "only a command function has an environment")
		}
		if f.WorkingDirectory != "" {
			add("workingDirectory", "only a command function has a working directory")
		}
	}
	if f.Role != "" {
		switch {
		case !roleRE.MatchString(f.Role):
			add("role", "%q is not a role (a policy's name, or arn:aws:iam::ACCOUNT:role/NAME)", f.Role)
		case f.URL != "" && f.Command == nil:
			add("role", "only a command function gets credentials (a URL function answers with the job token it is sent)")
		}
	}
	if f.TimeoutInMinutes < MinTimeout || f.TimeoutInMinutes > MaxTimeout {
		add("timeoutInMinutes", "%d is out of range (%d to %d)", f.TimeoutInMinutes, MinTimeout, MaxTimeout)
	}
	return errs
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
