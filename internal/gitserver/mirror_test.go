package gitserver

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidMirror(t *testing.T) {
	ok := []Mirror{
		{Name: "backup", URL: "https://github.com/acme/app.git", Direction: MirrorPush},
		{Name: "b.2_x-y", URL: "git://127.0.0.1:9418/app.git", Direction: MirrorPush, Username: "bot", PasswordSecret: "tok"},
		{Name: "up", URL: "http://example.com/x", Direction: MirrorPull, Interval: time.Minute},
	}
	for _, m := range ok {
		if err := ValidMirror(m); err != nil {
			t.Errorf("%+v: %v", m, err)
		}
	}
	for _, tc := range []struct {
		m    Mirror
		want string
	}{
		{Mirror{Name: "a/b", URL: "https://x/y", Direction: MirrorPush}, "mirror name"},
		{Mirror{Name: "m", URL: "file:///srv/git/x.git", Direction: MirrorPush}, "scheme"},
		{Mirror{Name: "m", URL: "/srv/git/x.git", Direction: MirrorPush}, "scheme"},
		{Mirror{Name: "m", URL: "ext::sh -c id", Direction: MirrorPush}, "url"},
		{Mirror{Name: "m", URL: "ssh://git@example.com/x.git", Direction: MirrorPush}, "scheme"},
		{Mirror{Name: "m", URL: "https://bob:pw@example.com/x.git", Direction: MirrorPush}, "credentials"},
		{Mirror{Name: "m", URL: "ftp://bob:pw@example.com/x.git", Direction: MirrorPush}, "credentials"},
		{Mirror{Name: "m", URL: "https://bob:pw@exa mple.com/%zz", Direction: MirrorPush}, "not a URL"},
		{Mirror{Name: "m", URL: "https:///x.git", Direction: MirrorPush}, "no host"},
		{Mirror{Name: "m", URL: "https://x/y", Direction: "both"}, "direction"},
		{Mirror{Name: "m", URL: "https://x/y", Direction: MirrorPull, Interval: time.Second}, "at most every"},
		{Mirror{Name: "m", URL: "https://x/y", Direction: MirrorPush, Interval: time.Minute}, "pull mirrors"},
		{Mirror{Name: "m", URL: "https://x/y", Direction: MirrorPush, Username: "a\nb"}, "username"},
	} {
		err := ValidMirror(tc.m)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want invalid with %q", tc.m, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("error repeats the URL's password: %v", err)
		}
	}
}

// The password reaches git only through the environment.
func TestMirrorPasswordNotInArguments(t *testing.T) {
	m := Mirror{Name: "m", URL: "https://x/y", Direction: MirrorPush, Username: "bot'; id; '", PasswordSecret: "s"}
	args := strings.Join(mirrorArgs(m, "hunter2"), " ")
	if strings.Contains(args, "hunter2") {
		t.Fatalf("password in git's arguments: %s", args)
	}
	if !strings.Contains(args, `'bot'\''; id; '\'''`) {
		t.Errorf("user name not quoted for the helper's shell: %s", args)
	}
	env := strings.Join(mirrorEnv("hunter2"), " ")
	if !strings.Contains(env, "SLUICE_MIRROR_PASSWORD=hunter2") || !strings.Contains(env, "GIT_ALLOW_PROTOCOL=http:https:git") {
		t.Errorf("mirror env = %s", env)
	}
}
