package gitssh

import (
	"strings"
	"testing"
)

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct{ command, program, repo string }{
		{"git-upload-pack '/app.git'", "git-upload-pack", "app"},
		{"git-upload-pack 'app.git'", "git-upload-pack", "app"},
		{"git-receive-pack '/app.git/'", "git-receive-pack", "app"},
		{"git-receive-pack 'app'", "git-receive-pack", "app"},
		{"git-upload-pack '/git/app.git'", "git-upload-pack", "app"},
		{"git-upload-pack '/v1/repos/my.repo_1-x'", "git-upload-pack", "my.repo_1-x"},
		{"git upload-pack 'app.git'", "git-upload-pack", "app"},
	} {
		program, repo, err := parseCommand(tc.command)
		if err != nil || program != tc.program || repo != tc.repo {
			t.Errorf("parseCommand(%q) = %q, %q, %v; want %q, %q", tc.command, program, repo, err, tc.program, tc.repo)
		}
	}
	for _, tc := range []struct{ command, want string }{
		{"git-upload-pack '../app.git'", "not found"},
		{"git-upload-pack '/../../etc/passwd'", "not found"},
		{"git-upload-pack '..'", "not found"},
		{"git-upload-pack '/.git'", "not found"},
		{"git-upload-pack 'a/b.git'", "not found"},
		{"git-upload-pack '/app.git'\\''; id; '\\'''", "not found"},
		{"git-upload-pack 'app.git' --upload-pack=id", "not found"},
		{"git-upload-pack", "no repository"},
		{"git-upload-archive 'app.git'", "archive"},
		{"git upload-archive 'app.git'", "archive"},
		{"ls /", "only git clone, fetch and push"},
		{"sh -c 'git-upload-pack app'", "only git clone, fetch and push"},
		{"", "only git clone, fetch and push"},
	} {
		_, repo, err := parseCommand(tc.command)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseCommand(%q) = %q, %v; want an error containing %q", tc.command, repo, err, tc.want)
		}
	}
}
