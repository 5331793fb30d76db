// Package gitserver hosts bare git repositories and serves them over git's smart
// HTTP protocol (protocol v0 and v2) with git's own http-backend, as CodeCommit
// does for CodePipeline. It checks credentials through an Authorizer, enforces
// per-branch protection with a generated pre-receive hook, and reports every
// accepted push to a callback, at least once, even across a crash.
//
// # On disk
//
// Everything lives under the root directory given to New:
//
//	ROOT/NAME.git/                 a bare repository (initial branch main)
//	ROOT/NAME.git/config           git's config, with sluice's settings:
//	                                 uploadpack.allowReachableSHA1InWant=true (workers fetch pinned commits)
//	                                 http.receivepack=true (sluice authorizes, not git)
//	                                 core.hooksPath=hooks (no system or global config can divert the hooks)
//	                                 core.logAllRefUpdates=true (reflogs keep what force pushes replaced)
//	ROOT/NAME.git/sluice/repo.json sluice's metadata: description, created, protections
//	ROOT/NAME.git/hooks/pre-receive  generated from repo.json: branch protection
//	ROOT/NAME.git/hooks/post-receive generated: writes each accepted push to the spool
//	ROOT/NAME.git/sluice/spool/ID.push one accepted push not yet handed to onPush
//	ROOT/.sluice-tmp/              repositories being created or deleted (a name ending
//	                               in .git is never a repository name, this one never is)
//
// A repository exists when its repo.json does: Create builds it in ROOT/.sluice-tmp
// and renames it into place, Delete renames it out before removing it, so no
// request ever sees half a repository.
//
// # Push events
//
// The post-receive hook (plain sh and git: no sluice binary is needed) writes the
// accepted updates, the principal (REMOTE_USER) and the push id into
// sluice/spool/ID.push, through a temporary file and a rename, before git's
// answer to the client ends. Once the CGI has finished, ServeHTTP reads that file,
// calls onPush and removes the file when onPush returned nil; the client's push
// completes only after that, so a pipeline started by onPush is already known
// when `git push` returns. A file left by a crash, or by a failed onPush, is
// replayed by Recover.
package gitserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sluice-ci/sluice/internal/pipeline"
)

// Access is what a request wants to do with a repository.
type Access int

// The accesses a request can ask for.
const (
	Read  Access = iota + 1 // clone and fetch (git-upload-pack)
	Write                   // push (git-receive-pack); implies nothing about Read
)

func (a Access) String() string {
	switch a {
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return fmt.Sprintf("Access(%d)", int(a))
}

// Authorizer checks a request's credentials for access to a repository. Git
// sends them as HTTP basic auth: the sluice token is the password, the user name
// is ignored. Authorize returns the principal's name, or an error that is (in
// the sense of errors.Is) ErrUnauthenticated when the credentials are missing
// or wrong (answered with 401 so git asks for, or sends, credentials) or
// ErrForbidden when the principal may not do this (403; an error reading
// "forbidden: DETAIL" has DETAIL shown to the client); any other error is
// answered with 500. It is called from many goroutines at once.
type Authorizer interface {
	Authorize(r *http.Request, repo string, access Access) (principal string, err error)
}

// RefUpdate is one reference a push changed. Old and New are full object ids;
// an all-zero Old means the reference was created, an all-zero New that it was
// deleted.
type RefUpdate struct {
	Ref, Old, New string
	// Commits are the commits the update brought, newest first (see
	// pushedCommits), filled in when the push is handed to onPush; at most
	// MaxPushCommits, CommitsTruncated saying there were more.
	Commits          []PushCommit
	CommitsTruncated bool
}

// Kind is "created", "updated" or "deleted".
func (u RefUpdate) Kind() string {
	switch {
	case isZeroID(u.Old):
		return "created"
	case isZeroID(u.New):
		return "deleted"
	}
	return "updated"
}

// Push is one accepted push: the updates git applied, in the order git reported them.
type Push struct {
	Repository string
	Principal  string // REMOTE_USER of the push; empty for a push made on the server's disk
	Updates    []RefUpdate
	At         time.Time // when the push was accepted (the spool file's time)
	ID         string    // unique; stays the same when a push is replayed
}

// Protection is the rule for one branch.
type Protection struct {
	Branch      string // a branch name such as "main" (not a pattern)
	NoForcePush bool   // refuse updates that are not fast-forwards
	NoDelete    bool   // refuse deletion
}

// Repo is a hosted repository.
type Repo struct {
	Name         string
	Description  string
	Created      time.Time
	Protections  []Protection // sorted by branch
	CloneURLPath string       // "/git/NAME.git", relative to the server's base URL
	Mirrors      []Mirror     // sorted by name
}

// CommitInfo describes a commit, with what CodePipeline's source actions output.
type CommitInfo struct {
	ID, Message, AuthorName, AuthorEmail string
	AuthorDate, CommitterDate            time.Time
}

// Errors, recognisable with errors.Is; their messages are safe to show.
var (
	ErrNotFound        = errors.New("not found")
	ErrExists          = errors.New("already exists")
	ErrInvalid         = errors.New("invalid")
	ErrUnauthenticated = errors.New("authentication required")
	ErrForbidden       = errors.New("forbidden")
)

// kindError is an error of one of the kinds above with a message of its own.
type kindError struct {
	kind error
	msg  string
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &kindError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// Server hosts the repositories under one root directory. Its methods may be
// called from many goroutines at once.
type Server struct {
	root    string
	tmp     string
	auth    Authorizer
	onPush  func(ctx context.Context, p Push) error
	log     *slog.Logger
	git     string // the git binary
	backend string // git-http-backend

	mu sync.Mutex // serialises Create, Delete and Protect

	deliverMu sync.Mutex      // guards inflight
	inflight  map[string]bool // push ids a request is handling, which Recover leaves alone
	recoverMu sync.Mutex      // one Recover at a time
}

const (
	metaDir   = "sluice"
	metaFile  = "sluice/repo.json"
	spoolDir  = "sluice/spool"
	tmpDir    = ".sluice-tmp"
	gitSuffix = ".git"
)

// New opens (creating if needed) the root directory. onPush is called with
// every accepted push, at least once (see the package documentation); it may be
// nil, then pushes are dropped once recorded. log may be nil. New refreshes the
// hooks of every repository, so repositories made by an older sluice get the
// current ones. Call Recover once onPush can take pushes. One Server at a time
// may use a root (the sluice server holds its data directory's lock).
func New(root string, auth Authorizer, onPush func(ctx context.Context, p Push) error, log *slog.Logger) (*Server, error) {
	if root == "" {
		return nil, errors.New("git server: empty root directory")
	}
	if auth == nil {
		return nil, errors.New("git server: no authorizer")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("git server: %w", err)
	}
	gitBin, err := exec.LookPath("git")
	if err != nil {
		return nil, fmt.Errorf("git server: git is not installed: %w", err)
	}
	s := &Server{
		root:     abs,
		tmp:      filepath.Join(abs, tmpDir),
		auth:     auth,
		onPush:   onPush,
		log:      log,
		git:      gitBin,
		inflight: map[string]bool{},
	}
	s.backend, err = s.findBackend()
	if err != nil {
		return nil, err
	}
	// Whatever is in the temporary directory was left by a crash: repositories
	// half created or half deleted.
	if err := os.RemoveAll(s.tmp); err != nil {
		return nil, fmt.Errorf("git server: clean %s: %w", s.tmp, err)
	}
	if err := os.MkdirAll(s.tmp, 0o700); err != nil {
		return nil, fmt.Errorf("git server: create %s: %w", s.tmp, err)
	}
	names, err := s.names()
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		m, err := s.readMeta(name)
		if err != nil {
			return nil, err
		}
		if err := writeHooks(s.dir(name), m.protections()); err != nil {
			return nil, fmt.Errorf("git server: repository %s: %w", name, err)
		}
	}
	return s, nil
}

// findBackend locates git-http-backend in git's exec path.
func (s *Server) findBackend() (string, error) {
	out, err := exec.Command(s.git, "--exec-path").Output()
	var candidates []string
	if err == nil {
		candidates = append(candidates, filepath.Join(strings.TrimSpace(string(out)), "git-http-backend"))
	}
	candidates = append(candidates, "/usr/lib/git-core/git-http-backend", "/usr/libexec/git-core/git-http-backend")
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && fi.Mode().IsRegular() {
			return c, nil
		}
	}
	return "", fmt.Errorf("git server: git-http-backend not found (looked in %s)", strings.Join(candidates, ", "))
}

func (s *Server) dir(name string) string { return filepath.Join(s.root, name+gitSuffix) }

// meta is repo.json.
type meta struct {
	Description string           `json:"description,omitempty"`
	Created     time.Time        `json:"created"`
	Protections []metaProtection `json:"protections,omitempty"`
	Mirrors     []metaMirror     `json:"mirrors,omitempty"`
}

type metaProtection struct {
	Branch      string `json:"branch"`
	NoForcePush bool   `json:"noForcePush,omitempty"`
	NoDelete    bool   `json:"noDelete,omitempty"`
}

func (m meta) repo(name string) Repo {
	r := Repo{Name: name, Description: m.Description, Created: m.Created, CloneURLPath: "/git/" + name + gitSuffix}
	for _, p := range m.Protections {
		r.Protections = append(r.Protections, Protection(p))
	}
	for _, mm := range m.Mirrors {
		r.Mirrors = append(r.Mirrors, mm.mirror())
	}
	return r
}

func (m meta) protections() []Protection { return m.repo("").Protections }

// readMeta reads a repository's metadata; ErrNotFound when it does not exist.
func (s *Server) readMeta(name string) (meta, error) {
	var m meta
	if ValidName(name) != nil {
		return m, errorf(ErrNotFound, "repository %s not found", name)
	}
	raw, err := os.ReadFile(filepath.Join(s.dir(name), metaFile))
	if errors.Is(err, fs.ErrNotExist) {
		return m, errorf(ErrNotFound, "repository %s not found", name)
	}
	if err != nil {
		return m, fmt.Errorf("read repository %s: %w", name, err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("read repository %s: %s: %w", name, metaFile, err)
	}
	return m, nil
}

func writeMeta(dir string, m meta) error {
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, metaFile), append(raw, '\n'), 0o644)
}

// ValidName checks a repository name against CodeCommit's rules: 1 to 100
// letters, digits, '.', '_' or '-', not ending in ".git".
func ValidName(name string) error {
	if name == "" || len(name) > 100 {
		return errorf(ErrInvalid, "repository name %q: must be 1 to 100 characters long", name)
	}
	if err := pipeline.CheckName(name); err != nil {
		return errorf(ErrInvalid, "repository name: %v", err)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return errorf(ErrInvalid, "repository name %q: only letters, digits, '.', '_' and '-' are allowed", name)
		}
	}
	if strings.HasSuffix(strings.ToLower(name), gitSuffix) {
		return errorf(ErrInvalid, "repository name %q: must not end in .git", name)
	}
	return nil
}

const maxDescription = 1000

// Create makes an empty repository.
func (s *Server) Create(ctx context.Context, name, description string) (Repo, error) {
	if err := ValidName(name); err != nil {
		return Repo{}, err
	}
	if !utf8.ValidString(description) || utf8.RuneCountInString(description) > maxDescription {
		return Repo{}, errorf(ErrInvalid, "description: must be valid UTF-8 of at most %d characters", maxDescription)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	final := s.dir(name)
	if _, err := os.Lstat(final); err == nil {
		return Repo{}, errorf(ErrExists, "repository %s already exists", name)
	}
	tmp, err := os.MkdirTemp(s.tmp, "create-*")
	if err != nil {
		return Repo{}, fmt.Errorf("create repository %s: %w", name, err)
	}
	defer os.RemoveAll(tmp)
	dir := filepath.Join(tmp, name+gitSuffix)
	// No template: neither sample hooks nor anything a system template adds.
	if _, err := s.run(ctx, "", "init", "--quiet", "--bare", "--template=", "--initial-branch=main", dir); err != nil {
		return Repo{}, fmt.Errorf("create repository %s: %w", name, err)
	}
	for _, kv := range [][2]string{
		{"uploadpack.allowReachableSHA1InWant", "true"},
		{"http.receivepack", "true"},
		{"core.hooksPath", "hooks"},
		{"core.logAllRefUpdates", "true"},
	} {
		if _, err := s.run(ctx, dir, "config", kv[0], kv[1]); err != nil {
			return Repo{}, fmt.Errorf("create repository %s: %w", name, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, spoolDir), 0o755); err != nil {
		return Repo{}, fmt.Errorf("create repository %s: %w", name, err)
	}
	m := meta{Description: description, Created: time.Now().UTC()}
	if err := writeMeta(dir, m); err != nil {
		return Repo{}, fmt.Errorf("create repository %s: %w", name, err)
	}
	if err := writeHooks(dir, nil); err != nil {
		return Repo{}, fmt.Errorf("create repository %s: %w", name, err)
	}
	if err := os.Rename(dir, final); err != nil {
		return Repo{}, fmt.Errorf("create repository %s: %w", name, err)
	}
	return m.repo(name), nil
}

// names lists the repositories on disk, sorted.
func (s *Server) names() ([]string, error) {
	entries, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), gitSuffix)
		if !ok || !e.IsDir() || ValidName(name) != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(s.root, e.Name(), metaFile)); err != nil {
			continue // not one of ours
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names, nil
}

// List returns all repositories, sorted by name.
func (s *Server) List(ctx context.Context) ([]Repo, error) {
	names, err := s.names()
	if err != nil {
		return nil, err
	}
	repos := make([]Repo, 0, len(names))
	for _, name := range names {
		m, err := s.readMeta(name)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		repos = append(repos, m.repo(name))
	}
	return repos, nil
}

// Get returns a repository.
func (s *Server) Get(ctx context.Context, name string) (Repo, error) {
	m, err := s.readMeta(name)
	if err != nil {
		return Repo{}, err
	}
	return m.repo(name), nil
}

// Delete removes a repository with its history. Pushes still spooled for it
// are dropped; later requests for it are answered with 404.
func (s *Server) Delete(ctx context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.readMeta(name); err != nil {
		return err
	}
	// Out of the way first, so that no request sees a repository half removed.
	tmp, err := os.MkdirTemp(s.tmp, "delete-*")
	if err != nil {
		return fmt.Errorf("delete repository %s: %w", name, err)
	}
	if err := os.Rename(s.dir(name), filepath.Join(tmp, name+gitSuffix)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("delete repository %s: %w", name, err)
	}
	if err := os.RemoveAll(tmp); err != nil {
		// The repository is gone already; New removes the rest at the next start.
		s.log.Warn("remove deleted repository", "repository", name, "err", err)
	}
	return nil
}

// Protect sets the rule for p.Branch, replacing the one it had; a rule with
// both flags false removes it. Pushes that start after Protect returned obey the
// new rule.
func (s *Server) Protect(ctx context.Context, name string, p Protection) error {
	p.Branch = strings.TrimPrefix(p.Branch, "refs/heads/")
	if err := validBranch(p.Branch); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.readMeta(name)
	if err != nil {
		return err
	}
	rules := m.Protections[:0:0]
	for _, r := range m.Protections {
		if r.Branch != p.Branch {
			rules = append(rules, r)
		}
	}
	if p.NoForcePush || p.NoDelete {
		rules = append(rules, metaProtection(p))
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].Branch < rules[j].Branch })
	m.Protections = rules
	dir := s.dir(name)
	if err := writeMeta(dir, m); err != nil {
		return fmt.Errorf("protect branch %s of %s: %w", p.Branch, name, err)
	}
	if err := writeHooks(dir, m.protections()); err != nil {
		return fmt.Errorf("protect branch %s of %s: %w", p.Branch, name, err)
	}
	return nil
}

// validBranch applies git's rules for branch names (git check-ref-format --branch).
func validBranch(b string) error {
	bad := func(why string) error { return errorf(ErrInvalid, "branch %q: %s", b, why) }
	switch {
	case b == "":
		return bad("must not be empty")
	case len(b) > 255:
		return bad("must be at most 255 characters long")
	case strings.HasPrefix(b, "-"):
		return bad("must not start with '-'")
	case b == "@" || b == "HEAD":
		return bad("is not a branch name")
	case strings.Contains(b, "..") || strings.Contains(b, "@{") || strings.Contains(b, "//"):
		return bad("must not contain '..', '@{' or '//'")
	case strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") || strings.HasSuffix(b, "."):
		return bad("must not start or end with '/' or end with '.'")
	}
	for _, c := range []byte(b) {
		if c < 0x20 || c == 0x7f || strings.IndexByte(" ~^:?*[\\'\"`$", c) >= 0 {
			return bad("must not contain spaces, control characters or any of ~^:?*[\\'\"`$")
		}
	}
	for _, part := range strings.Split(b, "/") {
		if strings.HasPrefix(part, ".") || strings.HasSuffix(part, ".lock") {
			return bad("no part may start with '.' or end with '.lock'")
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func isZeroID(id string) bool {
	return id != "" && strings.Trim(id, "0") == ""
}

// newPushID returns a unique id that sorts by time.
func newPushID(now time.Time) string {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return now.UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(b[:])
}
