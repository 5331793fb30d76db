package pipeline

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// CheckName is the one rule every user-given name obeys, whatever it names
// (pipelines, stages, actions, locks, repositories, build projects,
// functions, rules, webhooks, tokens, policies, and each segment of a
// secret's name): not empty, not "." or ".." (names become path segments of
// URLs, resources and files, where those mean something else), no "/", no
// control characters, valid UTF-8. Each kind of name then has its own,
// narrower alphabet (CodePipeline's, CodeCommit's, CodeBuild's), checked
// where it is declared; this rule is what none may skip, and what the API
// applies to names it decodes from URLs.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("a name must not be empty")
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a name: . and .. mean a directory", name)
	case !utf8.ValidString(name):
		return fmt.Errorf("%q is not a name: not valid UTF-8", name)
	case strings.Contains(name, "/"):
		return fmt.Errorf("%q is not a name: it holds a /", name)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%q is not a name: it holds a control character", name)
		}
	}
	return nil
}

// CheckPathName is CheckName for names made of /-separated segments (a
// secret's, as AWS Secrets Manager allows ci/npm): each segment obeys
// CheckName.
func CheckPathName(name string) error {
	if name == "" {
		return CheckName(name)
	}
	for _, seg := range strings.Split(name, "/") {
		if err := CheckName(seg); err != nil {
			if seg == "" {
				return fmt.Errorf("%q is not a name: it has an empty segment", name)
			}
			return fmt.Errorf("%q is not a name: segment %w", name, err)
		}
	}
	return nil
}

// RoleName reads a role as pipelines and build projects give it: a policy's
// name, or an IAM role's ARN (arn:aws:iam::ACCOUNT:role/PATH/NAME, as
// CodePipeline's roleArn and CodeBuild's serviceRole hold), read as NAME.
func RoleName(s string) string {
	name, _ := roleName(s)
	return name
}

// IsRoleARN reports whether s is an IAM role's ARN rather than a name.
func IsRoleARN(s string) bool {
	_, arn := roleName(s)
	return arn
}

func roleName(s string) (string, bool) {
	if rest, ok := strings.CutPrefix(s, "arn:"); ok {
		if i := strings.Index(rest, ":role/"); i >= 0 {
			path := rest[i+len(":role/"):]
			return path[strings.LastIndex(path, "/")+1:], true
		}
	}
	return s, false
}
