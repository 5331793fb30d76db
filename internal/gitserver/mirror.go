package gitserver

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"
	"github.com/sluice-ci/sluice/internal/shellword"
)

// Mirror keeps a repository in step with another git remote: a push mirror
// pushes every change there (a backup, a migration); a pull mirror follows
// it, its changes becoming pushes to the hosted repository (with their
// events and triggers). The git server stores mirrors with the repository
// and runs the git commands; when to run them, with which credentials, is
// the caller's (package mirror).
type Mirror struct {
	Name      string
	URL       string // http, https or git; never credentials in it
	Direction string // MirrorPush or MirrorPull
	// Username and PasswordSecret are the credentials: a user name, and
	// the name of the sluice secret holding the password or token.
	Username       string
	PasswordSecret string
	// Interval is how often a pull mirror fetches.
	Interval time.Duration
}

// Mirror directions.
const (
	MirrorPush = "push"
	MirrorPull = "pull"
)

type metaMirror struct {
	Name           string `json:"name"`
	URL            string `json:"url"`
	Direction      string `json:"direction"`
	Username       string `json:"username,omitempty"`
	PasswordSecret string `json:"passwordSecret,omitempty"`
	IntervalMS     int64  `json:"intervalMs,omitempty"`
}

var mirrorName = lazyregexp.New(`^[A-Za-z0-9._-]{1,64}$`)

// MinMirrorInterval bounds how often a pull mirror may fetch.
const MinMirrorInterval = 10 * time.Second

// mirrorSchemes are the transports a mirror may use: never file:// or a
// local path (a mirror would then read or write the server's own disk),
// ext:: (runs a command) or ssh (no keys of the server's to offer).
var mirrorSchemes = map[string]bool{"http": true, "https": true, "git": true}

// GitAllowProtocol is GIT_ALLOW_PROTOCOL for mirror commands: git itself
// refuses any other transport, also in redirects and submodules.
const GitAllowProtocol = "http:https:git"

// ValidMirror checks a mirror's settings.
func ValidMirror(m Mirror) error {
	bad := func(format string, args ...any) error { return errorf(ErrInvalid, format, args...) }
	if !mirrorName.MatchString(m.Name) {
		return bad("mirror name %q: 1 to 64 letters, digits, '.', '_' or '-'", m.Name)
	}
	u, err := url.Parse(m.URL)
	switch {
	case m.URL == "" || err != nil:
		// Not repeated: it may hold a password.
		return bad("mirror %s: url: not a URL", m.Name)
	case hasPassword(u):
		return bad("mirror %s: url: credentials do not go in the URL; give --username and --password-secret (a sluice secret)", m.Name)
	case !mirrorSchemes[u.Scheme]:
		return bad("mirror %s: url %q: the scheme must be https, http or git (not file, ssh or a path: a mirror never reaches the server's own disk)", m.Name, m.URL)
	case u.User != nil:
		return bad("mirror %s: url: credentials do not go in the URL; give --username and --password-secret (a sluice secret)", m.Name)
	case u.Host == "":
		return bad("mirror %s: url %q: no host", m.Name, m.URL)
	case strings.ContainsAny(m.URL, " \t\r\n"):
		return bad("mirror %s: url %q: spaces and line breaks are not allowed", m.Name, m.URL)
	}
	switch m.Direction {
	case MirrorPush:
		if m.Interval != 0 {
			return bad("mirror %s: an interval is for pull mirrors; a push mirror pushes after every push", m.Name)
		}
	case MirrorPull:
		if m.Interval < MinMirrorInterval {
			return bad("mirror %s: interval %s: a pull mirror fetches at most every %s", m.Name, m.Interval, MinMirrorInterval)
		}
	default:
		return bad("mirror %s: direction %q: push or pull", m.Name, m.Direction)
	}
	if strings.ContainsAny(m.Username, "\r\n\x00") {
		return bad("mirror %s: username: no line breaks", m.Name)
	}
	return nil
}

// SetMirror adds a mirror to a repository, or replaces the one of its name.
func (s *Server) SetMirror(ctx context.Context, name string, m Mirror) error {
	if err := ValidMirror(m); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	meta, err := s.readMeta(name)
	if err != nil {
		return err
	}
	list := meta.Mirrors[:0:0]
	for _, o := range meta.Mirrors {
		if o.Name != m.Name {
			list = append(list, o)
		}
	}
	list = append(list, metaMirror{Name: m.Name, URL: m.URL, Direction: m.Direction, Username: m.Username,
		PasswordSecret: m.PasswordSecret, IntervalMS: m.Interval.Milliseconds()})
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	meta.Mirrors = list
	return writeMeta(s.dir(name), meta)
}

// DeleteMirror removes a mirror; ErrNotFound when there is none of that name.
func (s *Server) DeleteMirror(ctx context.Context, name, mirror string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	meta, err := s.readMeta(name)
	if err != nil {
		return err
	}
	list := meta.Mirrors[:0:0]
	for _, o := range meta.Mirrors {
		if o.Name != mirror {
			list = append(list, o)
		}
	}
	if len(list) == len(meta.Mirrors) {
		return errorf(ErrNotFound, "repository %s has no mirror %s", name, mirror)
	}
	meta.Mirrors = list
	return writeMeta(s.dir(name), meta)
}

func (m metaMirror) mirror() Mirror {
	return Mirror{Name: m.Name, URL: m.URL, Direction: m.Direction, Username: m.Username,
		PasswordSecret: m.PasswordSecret, Interval: time.Duration(m.IntervalMS) * time.Millisecond}
}

// mirrorEnv is the environment of a mirror's git: no prompt, only the
// allowed transports, and the password (when there is one) handed to git
// by a credential helper that reads it from the environment, so that it is
// never on a command line or in a file.
func mirrorEnv(password string) []string {
	env := []string{"GIT_TERMINAL_PROMPT=0", "GIT_ALLOW_PROTOCOL=" + GitAllowProtocol, "LC_ALL=C"}
	if password != "" {
		env = append(env, "SLUICE_MIRROR_PASSWORD="+password)
	}
	return env
}

// mirrorArgs are git's options for a mirror's credentials.
func mirrorArgs(m Mirror, password string) []string {
	args := []string{"-c", "credential.helper=", "-c", "core.askPass=", "-c", "http.followRedirects=false"}
	if password != "" {
		// A helper that answers with the user name and the password from
		// the environment; git runs it with sh.
		user := m.Username
		if user == "" {
			user = "sluice"
		}
		args = append(args, "-c", "credential.helper=!f() { test \"$1\" = get && printf 'username=%s\\npassword=%s\\n' "+
			shellword.Quote(user)+" \"$SLUICE_MIRROR_PASSWORD\"; }; f")
	}
	return args
}

// runMirror runs git with a mirror's environment in the repository.
func (s *Server) runMirror(ctx context.Context, dir, password string, args ...string) (string, error) {
	out, err := s.runEnv(ctx, dir, mirrorEnv(password), args...)
	return strings.TrimSpace(string(out)), err
}

// PushMirror pushes every reference of the repository to the mirror's URL,
// forcing and pruning (git push --mirror): the remote becomes a copy.
func (s *Server) PushMirror(ctx context.Context, name string, m Mirror, password string) error {
	dir, err := s.repoDir(name)
	if err != nil {
		return err
	}
	args := append(mirrorArgs(m, password), "push", "--mirror", "--quiet", "--", m.URL)
	if _, err := s.runMirror(ctx, dir, password, args...); err != nil {
		return fmt.Errorf("push mirror %s to %s: %w", m.Name, m.URL, scrub(err, password))
	}
	return nil
}

// PullMirror fetches the branches and tags of the mirror's URL into the
// repository, forcing and pruning, and hands what changed to onPush as a
// push by "mirror/NAME", so that events and triggers follow, through the
// same spool as pushes (a crash replays it).
func (s *Server) PullMirror(ctx context.Context, name string, m Mirror, password string) (updates int, err error) {
	dir, err := s.repoDir(name)
	if err != nil {
		return 0, err
	}
	before, err := s.refs(ctx, dir)
	if err != nil {
		return 0, err
	}
	args := append(mirrorArgs(m, password), "fetch", "--quiet", "--prune", "--no-tags", "--", m.URL,
		"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
	if _, err := s.runMirror(ctx, dir, password, args...); err != nil {
		return 0, fmt.Errorf("pull mirror %s from %s: %w", m.Name, m.URL, scrub(err, password))
	}
	after, err := s.refs(ctx, dir)
	if err != nil {
		return 0, err
	}
	var lines []string
	const zero = "0000000000000000000000000000000000000000"
	for ref, id := range after {
		if old := before[ref]; old != id {
			if old == "" {
				old = zero
			}
			lines = append(lines, fmt.Sprintf("update %s %s %s", old, id, ref))
		}
	}
	for ref, id := range before {
		if _, ok := after[ref]; !ok {
			lines = append(lines, fmt.Sprintf("update %s %s %s", id, zero, ref))
		}
	}
	if len(lines) == 0 {
		return 0, nil
	}
	sort.Strings(lines)
	id := newPushID(time.Now())
	s.deliverMu.Lock()
	s.inflight[id] = true
	s.deliverMu.Unlock()
	defer func() {
		s.deliverMu.Lock()
		delete(s.inflight, id)
		s.deliverMu.Unlock()
	}()
	content := "id " + id + "\nprincipal mirror/" + m.Name + "\n" + strings.Join(lines, "\n") + "\n"
	path := filepath.Join(dir, spoolDir, id+spoolExt)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	if err := writeFileAtomic(path, []byte(content), 0o644); err != nil {
		return 0, fmt.Errorf("pull mirror %s: record the changes: %w", m.Name, err)
	}
	s.deliverSpooled(context.WithoutCancel(ctx), name, id)
	return len(lines), nil
}

// refs lists the repository's branches and tags.
func (s *Server) refs(ctx context.Context, dir string) (map[string]string, error) {
	out, err := s.run(ctx, dir, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads", "refs/tags")
	if err != nil {
		return nil, err
	}
	refs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if id, ref, ok := strings.Cut(line, " "); ok {
			refs[ref] = id
		}
	}
	return refs, nil
}

// scrub takes a password out of an error's text, should git ever print it.
func scrub(err error, password string) error {
	if password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), password, "[redacted]"))
}

func hasPassword(u *url.URL) bool {
	_, ok := u.User.Password()
	return ok
}
