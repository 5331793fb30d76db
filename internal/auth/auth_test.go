package auth

import "testing"

func TestAllowsRequest(t *testing.T) {
	for _, tc := range []struct {
		policy, method, path string
		want                 bool
	}{
		{PolicyAdmin, "DELETE", "/api/v1/pipelines/p", true},
		{PolicyAdmin, "POST", "/api/v1/jobs/claim", true},
		{PolicyRead, "GET", "/api/v1/pipelines/p", true},
		{PolicyRead, "POST", "/api/v1/pipelines/p/executions", false},
		{PolicyRead, "GET", "/api/v1/jobs/j/inputs/a", false},
		{PolicyWorker, "POST", "/api/v1/jobs/claim", true},
		{PolicyWorker, "GET", "/api/v1/jobs/j/secrets/s", true},
		{PolicyWorker, "GET", "/api/v1/pipelines", false},
		{"", "GET", "/api/v1/pipelines", false},
		{"other", "GET", "/api/v1/pipelines", false},
		{JobPolicy("j1"), "POST", "/api/v1/jobs/j1/success", true},
		{JobPolicy("j1"), "POST", "/api/v1/jobs/j1/failure", true},
		{JobPolicy("j1"), "GET", "/api/v1/jobs/j1/inputs/src", true},
		{JobPolicy("j1"), "PUT", "/api/v1/jobs/j1/outputs/out", true},
		{JobPolicy("j1"), "POST", "/api/v1/jobs/j2/success", false},
		{JobPolicy("j1"), "POST", "/api/v1/jobs/j1/result", false},
		{JobPolicy("j1"), "POST", "/api/v1/jobs/claim", false},
		{JobPolicy("j1"), "GET", "/api/v1/pipelines", false},
		{"job:", "GET", "/api/v1/pipelines", false},
	} {
		if got := AllowsRequest(tc.policy, tc.method, tc.path); got != tc.want {
			t.Errorf("AllowsRequest(%q, %s %s) = %v, want %v", tc.policy, tc.method, tc.path, got, tc.want)
		}
	}
}

func TestAllowsGit(t *testing.T) {
	for _, tc := range []struct {
		policy      string
		read, write bool
	}{
		{PolicyAdmin, true, true},
		{PolicyRead, true, false},
		{PolicyWorker, true, false},
		{"", false, false},
	} {
		if AllowsGit(tc.policy, false) != tc.read || AllowsGit(tc.policy, true) != tc.write {
			t.Errorf("AllowsGit(%q): want read %v write %v", tc.policy, tc.read, tc.write)
		}
	}
}

func TestTokens(t *testing.T) {
	a, b := NewToken(), NewToken()
	if a == b || len(a) != len("sluice_")+48 {
		t.Fatalf("tokens %q %q", a, b)
	}
	if HashToken(a) == HashToken(b) || HashToken(a) != HashToken(a) || len(HashToken(a)) != 64 {
		t.Fatal("hashes")
	}
}
