package pipeline

import (
	"fmt"
	"strings"
)

// Variable references have CodePipeline's syntax, #{namespace.name}:
//
//	#{variables.NAME}                  a pipeline-level variable
//	#{codepipeline.PipelineExecutionId} the execution's id (also PipelineName)
//	#{NS.NAME}                         an output variable of the action whose namespace is NS
//	#{upstream.NAME}                   of the execution whose end started this one through a
//	                                   Pipeline trigger: PipelineName, PipelineExecutionId,
//	                                   Status, RevisionId (its first source revision),
//	                                   RevisionId_ACTION, and its pipeline variables by name
//	#{trigger.NAME}                    what the git host event that started the execution
//	                                   says (TriggerVariables: PullRequestId, SourceBranch…)
//
// Both parts use the characters CodePipeline allows in namespaces and variable
// names: A-Z a-z 0-9 @ _ -. Substitution happens once: a value that itself
// holds #{...} is not expanded again, so a variable's value (a commit message,
// say) cannot pull in other variables.
//
// A "#{" that does not begin a well-formed reference is left as it is by
// Resolve and not returned by References. CodePipeline has no escape for a
// literal "#{", and shell commands (Ruby's "#{x + 1}", say) can hold one, so
// sluice only treats text as a reference when it is one. Validate, however,
// rejects text that looks like a reference gone wrong, where a user most
// likely meant one: "#{sourceCommitId}" or "#{ source.CommitId }" (the braces
// hold only reference characters, dots and blanks) and "#{source.CommitId"
// (no closing brace). See badReferences.

// Reserved namespaces.
const (
	NamespaceVariables    = "variables"
	NamespaceCodePipeline = "codepipeline"
	NamespaceUpstream     = "upstream"
	// NamespaceTrigger holds what the git host event that started an
	// execution says: TriggerVariables. Each resolves to "" in an
	// execution another trigger started.
	NamespaceTrigger = "trigger"
)

// TriggerVariables are the names of the trigger namespace: the pull
// request's, for an execution a pull-request trigger started (CodePipeline
// has no variables for them; these are sluice's), and the event's commit and
// branch for a push through a git host connection.
var TriggerVariables = []string{
	"PullRequestId", "PullRequestTitle", "PullRequestUrl", "PullRequestEvent",
	"SourceBranch", "DestinationBranch", "SourceCommitId", "DestinationCommitId",
	"BranchName", "CommitId", "FullRepositoryName", "ProviderType",
}

// Trigger variables sluice keeps beside CodePipeline's for a pull
// request's execution (not resolvable as #{...}): the reference holding
// its head in the pull request's repository, and the fork the head is in
// ("" for a pull request within the repository).
const (
	TriggerHeadRef        = "PullRequestHeadRef"
	TriggerHeadRepository = "PullRequestHeadRepository"
)

// ConfigHeadRef is the configuration key of a pull request's source job
// that names the reference to fetch its head from: set by the engine from
// TriggerHeadRef, never by a declaration (the connection source's keys are
// checked at apply).
const ConfigHeadRef = "PullRequestHeadRef"

// Ref is one variable reference, #{Namespace.Name}.
type Ref struct {
	Namespace string
	Name      string
}

func (r Ref) String() string { return "#{" + r.Namespace + "." + r.Name + "}" }

// UnresolvedError lists the references Resolve could not resolve.
type UnresolvedError struct {
	Refs []Ref
}

func (e *UnresolvedError) Error() string {
	names := make([]string, len(e.Refs))
	for i, r := range e.Refs {
		names[i] = r.String()
	}
	if len(names) == 1 {
		return "unresolved variable " + names[0]
	}
	return "unresolved variables " + strings.Join(names, ", ")
}

// References returns each distinct well-formed reference in s, in order of
// first appearance.
func References(s string) []Ref {
	var refs []Ref
	seen := map[Ref]bool{}
	scanReferences(s, func(start, end int, r Ref) {
		if !seen[r] {
			seen[r] = true
			refs = append(refs, r)
		}
	}, nil)
	return refs
}

// Resolve replaces every reference in s with the value lookup gives for it.
// When some cannot be resolved it returns an *UnresolvedError naming all of
// them.
func Resolve(s string, lookup func(namespace, name string) (string, bool)) (string, error) {
	var b strings.Builder
	var missing []Ref
	seen := map[Ref]bool{}
	last := 0
	scanReferences(s, func(start, end int, r Ref) {
		v, ok := lookup(r.Namespace, r.Name)
		if !ok {
			if !seen[r] {
				seen[r] = true
				missing = append(missing, r)
			}
			return
		}
		b.WriteString(s[last:start])
		b.WriteString(v)
		last = end
	}, nil)
	if len(missing) > 0 {
		return "", &UnresolvedError{Refs: missing}
	}
	if last == 0 {
		return s, nil
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// badReference is text in a string that looks like a reference but is not one.
type badReference struct {
	Text string
	Msg  string
}

// badReferences returns what Validate rejects in s; see the comment at the
// top of this file.
func badReferences(s string) []badReference {
	var bad []badReference
	scanReferences(s, nil, func(b badReference) { bad = append(bad, b) })
	return bad
}

func isRefChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' ||
		c == '@' || c == '_' || c == '-'
}

// parseRef parses "namespace.name".
func parseRef(s string) (Ref, bool) {
	ns, name, ok := strings.Cut(s, ".")
	if !ok || ns == "" || name == "" {
		return Ref{}, false
	}
	for i := 0; i < len(ns); i++ {
		if !isRefChar(ns[i]) {
			return Ref{}, false
		}
	}
	for i := 0; i < len(name); i++ {
		if !isRefChar(name[i]) {
			return Ref{}, false
		}
	}
	return Ref{Namespace: ns, Name: name}, true
}

// scanReferences calls ref for each well-formed reference in s, with its byte
// span, and bad for each near miss. Either may be nil.
func scanReferences(s string, ref func(start, end int, r Ref), bad func(badReference)) {
	for i := 0; ; {
		j := strings.Index(s[i:], "#{")
		if j < 0 {
			return
		}
		start := i + j
		k := start + 2
		for k < len(s) && (isRefChar(s[k]) || s[k] == '.' || s[k] == ' ' || s[k] == '\t') {
			k++
		}
		body := s[start+2 : k]
		r, ok := parseRef(body)
		switch {
		case k < len(s) && s[k] == '}' && ok:
			if ref != nil {
				ref(start, k+1, r)
			}
			i = k + 1
			continue
		case k < len(s) && s[k] == '}':
			if bad != nil {
				text := s[start : k+1]
				bad(badReference{Text: text, Msg: fmt.Sprintf("malformed variable reference %q (want #{namespace.name})", text)})
			}
			i = k + 1
			continue
		case ok || (k == len(s) && strings.TrimSpace(body) != ""):
			if bad != nil {
				text := s[start:k]
				bad(badReference{Text: text, Msg: fmt.Sprintf("unterminated variable reference %q (want #{namespace.name})", text)})
			}
		}
		i = start + 2
	}
}
