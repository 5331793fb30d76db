// Package iam holds sluice's permissions in the shape of AWS IAM policies: a
// policy is a list of statements, each allowing or denying actions
// (sluice:StartPipelineExecution, sluice:Get*) on resources (pipeline/app,
// repository/*). Everything not allowed is denied, and an explicit deny wins
// over any allow.
//
// The API names one action and one resource for every operation and asks
// Evaluate, in one place; hosted repositories ask it for sluice:GitPull and
// sluice:GitPush. This package knows nothing of HTTP: it is the vocabulary
// (Actions, ResourceTypes), the parser, the evaluation and the ready-made
// policies.
package iam

import (
	"fmt"
	"strings"
)

// Prefix is the service prefix of every action name, as "codepipeline:" is AWS's.
const Prefix = "sluice:"

// Effects of a statement.
const (
	Allow = "Allow"
	Deny  = "Deny"
)

// Policy is a policy document. Its JSON is what is stored with a token.
type Policy struct {
	Version   string      `json:"Version,omitempty"`
	Statement []Statement `json:"Statement"`
}

// Statement allows or denies Action on Resource. Action holds names with
// their prefix ("sluice:GetPipeline") or "*"; Resource holds TYPE/NAME
// patterns or "*". Both may use the wildcards * (any run of characters, "/"
// included) and ? (one character). Actions match without regard to case, as
// in IAM; resources match exactly.
type Statement struct {
	Sid      string   `json:"Sid,omitempty"`
	Effect   string   `json:"Effect"`
	Action   []string `json:"Action"`
	Resource []string `json:"Resource"`
}

// Evaluate reports whether policy allows action ("sluice:NAME") on resource
// ("pipeline/app", or "*" for operations on no single resource, such as
// lists), and why, in words fit for an error message or an audit record. A
// nil policy allows nothing.
func Evaluate(policy *Policy, action, resource string) (allowed bool, why string) {
	if policy == nil {
		return false, "no policy"
	}
	allowedBy := ""
	for i, st := range policy.Statement {
		if !st.matches(action, resource) {
			continue
		}
		if st.Effect == Deny {
			return false, "explicitly denied by " + st.name(i)
		}
		if st.Effect == Allow && allowedBy == "" {
			allowedBy = st.name(i)
		}
	}
	if allowedBy == "" {
		return false, "no statement allows it"
	}
	return true, "allowed by " + allowedBy
}

func (st Statement) matches(action, resource string) bool {
	return anyMatch(st.Action, action, true) && anyMatch(st.Resource, resource, false)
}

// name names a statement in messages: its Sid, or its place (1-based).
func (st Statement) name(i int) string {
	if st.Sid != "" {
		return fmt.Sprintf("statement %q", st.Sid)
	}
	return fmt.Sprintf("statement %d", i+1)
}

func anyMatch(patterns []string, s string, foldCase bool) bool {
	if foldCase {
		s = strings.ToLower(s)
	}
	for _, p := range patterns {
		if foldCase {
			p = strings.ToLower(p)
		}
		if Match(p, s) {
			return true
		}
	}
	return false
}

// Match reports whether s matches pattern, in which * stands for any run of
// characters (none, and "/", included) and ? for exactly one. Nothing else is
// special. It runs in time proportional to len(pattern)*len(s) at worst.
func Match(pattern, str string) bool {
	pat, s := []rune(pattern), []rune(str)
	p, n := 0, 0
	star, mark := -1, 0
	for n < len(s) {
		switch {
		case p < len(pat) && pat[p] == '*':
			star, mark = p, n
			p++
		case p < len(pat) && (pat[p] == '?' || pat[p] == s[n]):
			p++
			n++
		case star >= 0:
			// Let the last star swallow one more character and try again.
			p = star + 1
			mark++
			n = mark
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}

// JobPolicy is the policy of a job token (sjt_…), made for one function's
// job: it may answer for that job and read and write its artifacts, nothing
// else.
func JobPolicy(jobID string) *Policy {
	return &Policy{Version: Version, Statement: []Statement{{
		Sid:    "AnswerForOneJob",
		Effect: Allow,
		Action: []string{
			Prefix + "PutJobSuccessResult", Prefix + "PutJobFailureResult",
			Prefix + "GetJobInput", Prefix + "PutJobOutput",
			Prefix + "CreateJobCredentials",
		},
		Resource: []string{"job/" + jobID},
	}}}
}

// JobPolicyName is the policy name of a job token, as shown in messages.
func JobPolicyName(jobID string) string { return "job:" + jobID }
