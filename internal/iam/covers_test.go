package iam

import (
	"strings"
	"testing"
)

func TestContains(t *testing.T) {
	for _, tc := range []struct {
		pattern, sub string
		want         bool
	}{
		{"*", "*", true},
		{"*", "token/ci-*", true},
		{"*", "", true},
		{"token/*", "token/ci-*", true},
		{"token/ci-*", "token/ci-*", true},
		{"token/ci-*", "token/ci-x", true},
		{"token/ci-*", "token/ci-*-x", true},
		{"token/ci-*", "token/*", false},
		{"token/ci-*", "*", false},
		{"token/ci-*", "token/admin", false},
		{"token/ci-?", "token/ci-*", false},
		{"token/ci-*", "token/ci-?", true},
		{"token/ci-?", "token/ci-?", true},
		{"token/ci-?", "token/ci-a", true},
		{"token/ci-?", "token/ci-ab", false},
		{"token/?", "token/*", false},
		{"job/*", "*", false},
		{"*/*", "job/*", true},
		{"*/*", "*", false}, // "*" also matches "x", which has no slash
		{"a*b", "a*b", true},
		{"a*b", "ab", true},
		{"a*b", "a*", false},
		{"a*", "a*b*", true},
		{"*a*", "b*a", true},
		{"secret/a", "secret/a", true},
		{"secret/a", "secret/?", false},
		{"secret/a", "secret/b", false},
		{"", "", true},
		{"", "*", false},
		{"**", "*", true},
	} {
		if got := Contains(tc.pattern, tc.sub); got != tc.want {
			t.Errorf("Contains(%q, %q) = %v, want %v", tc.pattern, tc.sub, got, tc.want)
		}
	}
}

// TestContainsIsSound checks Contains against Match on every short string of
// a small alphabet: whenever it says contained, no string matches sub but
// not pattern.
func TestContainsIsSound(t *testing.T) {
	pats := []string{"", "*", "?", "a", "b", "a*", "*a", "?*", "*?", "a?", "?a", "a*b", "*a*", "ab", "??", "a**", "*b*a"}
	var strs []string
	var gen func(string, int)
	gen = func(s string, n int) {
		strs = append(strs, s)
		if n == 0 {
			return
		}
		for _, c := range []string{"a", "b", "*"} {
			gen(s+c, n-1)
		}
	}
	gen("", 4)
	for _, p := range pats {
		for _, q := range pats {
			contained := true
			for _, s := range strs {
				if Match(q, s) && !Match(p, s) {
					contained = false
					break
				}
			}
			if Contains(p, q) && !contained {
				t.Errorf("Contains(%q, %q) = true, but a string matches %q and not %q", p, q, q, p)
			}
			inter := false
			for _, s := range strs {
				if Match(p, s) && Match(q, s) {
					inter = true
					break
				}
			}
			// Intersects is exact; strings of up to 4 symbols witness every
			// intersection of patterns this short.
			if got := Intersects(p, q); got != inter {
				t.Errorf("Intersects(%q, %q) = %v, want %v", p, q, got, inter)
			}
		}
	}
}

func TestIntersects(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"*", "job/*", true},
		{"pipeline/*", "job/*", false},
		{"*/prod", "secret/*", true},
		{"secret/a", "secret/?", true},
		{"secret/ab", "secret/?", false},
		{"*a*", "*b*", true},
		{"a*", "b*", false},
		{"?", "", false},
		{"", "*", true},
	} {
		if got := Intersects(tc.a, tc.b); got != tc.want {
			t.Errorf("Intersects(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := Intersects(tc.b, tc.a); got != tc.want {
			t.Errorf("Intersects(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}

func stmt(effect string, actions []string, resources ...string) Statement {
	return Statement{Effect: effect, Action: actions, Resource: resources}
}

func TestCovers(t *testing.T) {
	ready := func(name string) *Policy {
		p, ok := ReadyMade(name)
		if !ok {
			t.Fatalf("no ready-made %s", name)
		}
		return p
	}
	pol := func(sts ...Statement) *Policy { return &Policy{Statement: sts} }
	a := func(names ...string) []string { return actions(names...) }
	ciMinter := pol(stmt(Allow, a("CreateToken"), "token/ci-*"))
	for _, tc := range []struct {
		name            string
		holder, granted *Policy
		want            bool
		why             string
	}{
		// The case: a token allowed only CreateToken on token/ci-*
		// cannot mint admin.
		{"ci minter mints admin", ciMinter, ready("admin"), false, "sluice:ListPipelines on *"},
		{"ci minter mints itself", ciMinter, ciMinter, true, ""},
		{"ci minter mints less", ciMinter, pol(stmt(Allow, a("CreateToken"), "token/ci-web")), true, ""},
		{"ci minter mints more", ciMinter, pol(stmt(Allow, a("CreateToken"), "token/*")), false, "sluice:CreateToken on token/*"},
		{"ci minter mints other action", ciMinter, pol(stmt(Allow, a("RevokeToken"), "token/ci-a")), false, "sluice:RevokeToken on token/ci-a"},
		{"admin covers everything", ready("admin"), ready("admin"), true, ""},
		{"admin covers viewer", ready("admin"), ready("viewer"), true, ""},
		{"admin covers default role", ready("admin"), ready("default-pipeline"), true, ""},
		{"viewer covers viewer", ready("viewer"), ready("viewer"), true, ""},
		{"viewer does not cover admin", ready("viewer"), ready("admin"), false, "sluice:ListPipelines on * (denied on job/*)"},
		{"operator covers viewer", ready("operator"), ready("viewer"), true, ""},
		{"operator covers approver", ready("operator"), ready("approver"), true, ""},
		{"viewer does not cover approver", ready("viewer"), ready("approver"), false, "sluice:PutApprovalResult on *"},
		{"viewer does not cover worker", ready("viewer"), ready("worker"), false, "sluice:PollForJobs on *"},
		{"viewer does not cover default role", ready("viewer"), ready("default-pipeline"), false, "sluice:GetSecretValue on secret/* (denied on *)"},
		// Wildcards in actions: sluice:Get* grants GetSecretValue too.
		{"wildcard action", pol(stmt(Allow, a("GetPipeline"), "*")), pol(stmt(Allow, a("Get*"), "pipeline/app")), false, "sluice:GetPipelineState on pipeline/app"},
		{"wildcard action held", pol(stmt(Allow, []string{"sluice:*"}, "pipeline/*")), pol(stmt(Allow, a("Get*", "List*"), "pipeline/app")), true, ""},
		{"case of actions", pol(stmt(Allow, []string{"SLUICE:getpipeline"}, "*")), pol(stmt(Allow, a("GetPipeline"), "pipeline/x")), true, ""},
		// Deny wins: what the holder is denied it cannot pass on.
		{"deny wins", pol(stmt(Allow, []string{"*"}, "*"), stmt(Deny, a("GetSecretValue"), "secret/*")), ready("default-pipeline"), false, "sluice:GetSecretValue on secret/* (denied on secret/*)"},
		{"deny of part", pol(stmt(Allow, []string{"*"}, "*"), stmt(Deny, a("GetSecretValue"), "secret/prod-*")), ready("default-pipeline"), false, "sluice:GetSecretValue on secret/* (denied on secret/prod-*)"},
		{"deny elsewhere", pol(stmt(Allow, []string{"*"}, "*"), stmt(Deny, a("GetSecretValue"), "secret/prod-*")), pol(stmt(Allow, a("GetSecretValue"), "secret/dev-*")), true, ""},
		{"granted denies it too", pol(stmt(Allow, []string{"*"}, "*"), stmt(Deny, a("GetSecretValue"), "secret/prod-*")),
			pol(stmt(Allow, a("GetSecretValue"), "secret/*"), stmt(Deny, a("GetSecretValue"), "secret/prod-*")), true, ""},
		{"granted denies less", pol(stmt(Allow, []string{"*"}, "*"), stmt(Deny, a("GetSecretValue"), "secret/*")),
			pol(stmt(Allow, a("GetSecretValue"), "secret/*"), stmt(Deny, a("GetSecretValue"), "secret/prod-*")), false, "sluice:GetSecretValue on secret/* (denied on secret/*)"},
		// job/*: people's policies deny the job protocol; a grant of Get*
		// on * is then held only if it denies job/* as well.
		{"job deny carried", ready("viewer"), pol(stmt(Allow, a("Get*"), "*"), stmt(Deny, []string{"sluice:*"}, "job/*"), stmt(Deny, []string{"sluice:*"}, "agent/*"), stmt(Deny, a("GetSecretValue"), "*")), true, ""},
		{"job deny not carried", ready("viewer"), pol(stmt(Allow, a("GetPipeline"), "*")), false, "sluice:GetPipeline on * (denied on job/*)"},
		{"job deny missed", ready("viewer"), pol(stmt(Allow, a("GetPipeline"), "pipeline/*")), true, ""},
		{"job grant", ready("viewer"), pol(stmt(Allow, a("GetJobInput"), "job/*")), false, "sluice:GetJobInput on job/* (denied on job/*)"},
		{"worker to job", ready("worker"), JobPolicy("j1"), true, ""},
		{"nil holder", nil, ciMinter, false, "sluice:CreateToken on token/ci-*"},
		{"nil granted", nil, nil, true, ""},
		{"a pattern denied in granted grants nothing", pol(), pol(stmt(Allow, a("GetPipeline"), "pipeline/a"), stmt(Deny, a("GetPipeline"), "pipeline/*")), true, ""},
		// Sound, not complete: a grant spread over two of the holder's
		// patterns is refused.
		{"union refused", pol(stmt(Allow, a("GetPipeline"), "pipeline/a*"), stmt(Allow, a("GetPipeline"), "pipeline/")), pol(stmt(Allow, a("GetPipeline"), "pipeline/*")), false, "sluice:GetPipeline on pipeline/*"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := Covers(tc.holder, tc.granted)
			if ok != tc.want {
				t.Fatalf("Covers = %v (%s), want %v", ok, why, tc.want)
			}
			if !ok && why != tc.why {
				t.Errorf("why = %q, want %q", why, tc.why)
			}
		})
	}
}

func TestReadyMadeKeepSecretValues(t *testing.T) {
	for _, name := range []string{"viewer", "approver", "operator", "worker"} {
		p, _ := ReadyMade(name)
		if ok, _ := Evaluate(p, Prefix+"GetSecretValue", "secret/db"); ok {
			t.Errorf("%s may read secret values", name)
		}
	}
	for _, name := range []string{"admin", "default-pipeline"} {
		p, _ := ReadyMade(name)
		if ok, why := Evaluate(p, Prefix+"GetSecretValue", "secret/db"); !ok {
			t.Errorf("%s may not read secret values: %s", name, why)
		}
	}
	if !strings.HasPrefix(Describe("p.json", `{"Statement":[]}`), "p.json (inline policy sha256:") {
		t.Error(Describe("p.json", `{"Statement":[]}`))
	}
}

func TestAllowsAny(t *testing.T) {
	viewer, _ := ReadyMade("viewer")
	admin, _ := ReadyMade("admin")
	ci := &Policy{Statement: []Statement{
		stmt(Allow, actions("PutRule"), "rule/ci-*"),
		stmt(Allow, actions("PutPipeline"), "*"), stmt(Deny, actions("PutPipeline"), "pipeline/*"),
	}}
	for _, tc := range []struct {
		policy           *Policy
		action, resource string
		want             bool
	}{
		{viewer, "PutRule", "rule/*", false},
		{admin, "PutRule", "rule/*", true},
		{ci, "PutRule", "rule/*", true},
		{ci, "PutRule", "pipeline/*", false},
		{ci, "PutPipeline", "pipeline/*", false},
		{nil, "PutRule", "rule/*", false},
	} {
		if got := AllowsAny(tc.policy, Prefix+tc.action, tc.resource); got != tc.want {
			t.Errorf("AllowsAny(%s on %s) = %v, want %v", tc.action, tc.resource, got, tc.want)
		}
	}
}
