package iam

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// The rule for handing on permissions, for tokens and roles alike: you can
// hand on only what you hold. Creating or rotating a token with a policy, and
// applying a pipeline or build project that runs with a role, require that the
// caller's policy allows everything the granted policy allows. sluice has no
// PassRole/PassPolicy permission: holding the rights is the permission to pass
// them on, so an admin passes anything and a token allowed only CreateToken
// can mint nothing but tokens that may themselves do no more than it can.

// Covers reports whether holder allows everything granted allows: for every
// action of the finite Actions list, every resource a statement of granted
// opens (its Allow patterns, less what its own Deny patterns take away) is
// allowed by holder and touched by none of holder's Deny patterns. When not,
// why names the first action and resource pattern not held.
//
// Patterns are compared as sets of strings, with * and ? as Match reads
// them. The comparison is sound but not complete: a granted pattern must be
// contained in one single Allow pattern of holder (not in a union of several),
// and a Deny of holder must be inside one single Deny pattern of granted (or
// miss the granted pattern altogether). When it cannot tell, it refuses.
func Covers(holder, granted *Policy) (ok bool, why string) {
	if granted == nil {
		return true, "the granted policy allows nothing"
	}
	if holder == nil {
		holder = &Policy{}
	}
	for _, name := range Actions {
		action := Prefix + name
		hAllow, hDeny := holder.patterns(action)
		gAllow, gDeny := granted.patterns(action)
		for _, g := range gAllow {
			if containedInAny(g, gDeny) {
				continue // the granted policy itself takes it away again
			}
			if !containedInAny(g, hAllow) {
				return false, fmt.Sprintf("%s on %s", action, g)
			}
			for _, d := range hDeny {
				if Intersects(g, d) && !containedInAny(d, gDeny) {
					return false, fmt.Sprintf("%s on %s (denied on %s)", action, g, d)
				}
			}
		}
	}
	return true, "every permission it grants is held"
}

// patterns returns the resource patterns the Allow and the Deny statements
// of p name for action.
func (p *Policy) patterns(action string) (allow, deny []string) {
	for _, st := range p.Statement {
		if !anyMatch(st.Action, action, true) {
			continue
		}
		switch st.Effect {
		case Allow:
			allow = append(allow, st.Resource...)
		case Deny:
			deny = append(deny, st.Resource...)
		}
	}
	return allow, deny
}

func containedInAny(p string, in []string) bool {
	for _, q := range in {
		if Contains(q, p) {
			return true
		}
	}
	return false
}

// Contains reports whether every string sub matches also matches pattern
// (both in Match's syntax). It is sound, not complete: true means contained;
// false may be said of a few contained pairs whose wildcards line up
// differently ("*?" contains "?*"), and then the caller refuses.
//
// It reads sub as a string of symbols and asks whether pattern matches that
// string when a * of pattern may stand for any run of sub's symbols, a ? of
// pattern for one literal or ? of sub, and a literal of pattern only for the
// same literal. A * of sub can only be absorbed by a * of pattern.
func Contains(pattern, sub string) bool {
	p, s := []rune(pattern), []rune(sub)
	// m[i][j]: pattern[i:] contains sub[j:].
	m := make([][]bool, len(p)+1)
	for i := range m {
		m[i] = make([]bool, len(s)+1)
	}
	m[len(p)][len(s)] = true
	for i := len(p); i >= 0; i-- {
		for j := len(s); j >= 0; j-- {
			if i == len(p) {
				m[i][j] = j == len(s)
				continue
			}
			switch p[i] {
			case '*':
				// The star stands for nothing, or swallows sub's next symbol.
				m[i][j] = m[i+1][j] || (j < len(s) && m[i][j+1])
			case '?':
				m[i][j] = j < len(s) && s[j] != '*' && m[i+1][j+1]
			default:
				m[i][j] = j < len(s) && s[j] == p[i] && m[i+1][j+1]
			}
		}
	}
	return m[0][0]
}

// Intersects reports whether some string matches both a and b. It is exact.
func Intersects(a, b string) bool {
	x, y := []rune(a), []rune(b)
	// m[i][j]: some string matches both x[i:] and y[j:].
	m := make([][]bool, len(x)+1)
	for i := range m {
		m[i] = make([]bool, len(y)+1)
	}
	for i := len(x); i >= 0; i-- {
		for j := len(y); j >= 0; j-- {
			switch {
			case i == len(x) && j == len(y):
				m[i][j] = true
			case i < len(x) && x[i] == '*':
				// x's star makes nothing more, or also makes what y[j] makes.
				m[i][j] = m[i+1][j] || (j < len(y) && m[i][j+1])
			case j < len(y) && y[j] == '*':
				m[i][j] = m[i][j+1] || (i < len(x) && m[i+1][j])
			case i == len(x) || j == len(y):
				m[i][j] = false
			default:
				m[i][j] = (x[i] == '?' || y[j] == '?' || x[i] == y[j]) && m[i+1][j+1]
			}
		}
	}
	return m[0][0]
}

// Describe names a granted policy in an audit record or a message: a
// ready-made one by name, a document by its file's name and its digest.
func Describe(name, document string) string {
	if document == "" {
		return name
	}
	return strings.TrimSpace(name + " (inline policy " + Digest(document) + ")")
}

// Digest names a policy document by content: sha256: and the first 16 hex
// digits of its SHA-256.
func Digest(document string) string {
	sum := sha256.Sum256([]byte(document))
	return "sha256:" + hex.EncodeToString(sum[:8])
}

// AllowsAny reports whether policy may allow action on some resource
// matching pattern: an Allow statement for it opens a resource pattern that
// meets pattern and is not wholly denied. It is the check made before a
// request's body is read to learn which resource it names: a caller that may
// do action on no resource of the type is refused without the body being
// parsed.
func AllowsAny(policy *Policy, action, pattern string) bool {
	if policy == nil {
		return false
	}
	allow, deny := policy.patterns(action)
	for _, a := range allow {
		if Intersects(a, pattern) && !containedInAny(a, deny) && !containedInAny(pattern, deny) {
			return true
		}
	}
	return false
}
