package gitserver

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cgi"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ServeHTTP serves git's smart HTTP protocol. Mount it at "/git/" (it also
// accepts paths with that prefix stripped):
//
//	GET  /git/NAME.git/info/refs?service=git-upload-pack   Read
//	POST /git/NAME.git/git-upload-pack                     Read
//	GET  /git/NAME.git/info/refs?service=git-receive-pack  Write
//	POST /git/NAME.git/git-receive-pack                    Write
//
// The ".git" suffix is optional. Credentials are checked before anything else,
// so that a git client without them is asked for them (401) whether or not the
// repository exists; then an unknown repository is answered with 404.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, action, ok := splitGitPath(r.URL.Path)
	if !ok {
		plainError(w, http.StatusNotFound, "sluice: not found: git repositories are served at /git/NAME.git")
		return
	}
	var access Access
	switch {
	case action == "/info/refs" && r.Method == http.MethodGet:
		switch r.URL.Query().Get("service") {
		case "git-upload-pack":
			access = Read
		case "git-receive-pack":
			access = Write
		default:
			plainError(w, http.StatusForbidden, "sluice: only git's smart HTTP protocol is served; use a git client newer than 1.6.6")
			return
		}
	case action == "/git-upload-pack" && r.Method == http.MethodPost:
		access = Read
	case action == "/git-receive-pack" && r.Method == http.MethodPost:
		access = Write
	case action == "/info/refs" || action == "/git-upload-pack" || action == "/git-receive-pack":
		plainError(w, http.StatusMethodNotAllowed, "sluice: method not allowed")
		return
	default:
		plainError(w, http.StatusNotFound, "sluice: not found")
		return
	}
	if ValidName(name) != nil {
		plainError(w, http.StatusNotFound, fmt.Sprintf("sluice: repository %s not found", name))
		return
	}

	principal, err := s.auth.Authorize(r, name, access)
	switch {
	case errors.Is(err, ErrUnauthenticated):
		if _, _, sent := r.BasicAuth(); sent || r.Header.Get("Authorization") != "" {
			s.log.Warn("git request with wrong credentials", "repository", name, "access", access.String(), "remote", r.RemoteAddr)
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="sluice"`)
		plainError(w, http.StatusUnauthorized, "sluice: authentication required: use a sluice token as the password (any user name)")
		return
	case errors.Is(err, ErrForbidden):
		s.log.Warn("git request denied", "repository", name, "access", access.String(), "principal", principal, "remote", r.RemoteAddr)
		verb := "read"
		if access == Write {
			verb = "push to"
		}
		msg := fmt.Sprintf("sluice: permission denied: you may not %s repository %s", verb, name)
		if detail, ok := strings.CutPrefix(err.Error(), ErrForbidden.Error()+": "); ok {
			msg += "; " + detail // what the authorizer found missing
		}
		plainError(w, http.StatusForbidden, msg)
		return
	case err != nil:
		s.log.Error("authorize git request", "repository", name, "err", err)
		plainError(w, http.StatusInternalServerError, "sluice: internal error")
		return
	}

	if _, err := os.Stat(filepath.Join(s.dir(name), metaFile)); err != nil {
		plainError(w, http.StatusNotFound, fmt.Sprintf("sluice: repository %s not found", name))
		return
	}

	push := action == "/git-receive-pack"
	var pushID string
	if push {
		pushID = newPushID(time.Now())
		s.deliverMu.Lock()
		s.inflight[pushID] = true
		s.deliverMu.Unlock()
		defer func() {
			s.deliverMu.Lock()
			delete(s.inflight, pushID)
			s.deliverMu.Unlock()
		}()
	}

	req := r.Clone(r.Context())
	req.Header.Del("Authorization") // CGI would pass it on to git and the hooks
	req.URL.Path = "/" + name + gitSuffix + action
	req.URL.RawPath = ""

	if r.Body != nil && r.Body != http.NoBody && (r.ContentLength < 0 || len(r.TransferEncoding) > 0) {
		// git sends requests over 1 MiB (pushes, mostly) chunked, which Go's CGI
		// handler refuses. Without the chunked marker and without a length, it
		// hands the body over as a stream and sets no CONTENT_LENGTH, and git's
		// http-backend then lets receive-pack read it to its end: the pack goes
		// to git as it arrives, never into memory or a temporary file.
		req.ContentLength, req.TransferEncoding = -1, nil
		req.Header.Del("Transfer-Encoding")
	}

	h := &cgi.Handler{
		Path: s.backend,
		Root: "/",
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.root,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER=" + principalEnv(principal),
			"SLUICE_PUSH_ID=" + pushID,
		},
		Logger: slog.NewLogLogger(s.log.With("repository", name).Handler(), slog.LevelWarn),
		Stderr: &logWriter{log: s.log, repo: name},
	}
	sw := &streamWriter{w: w, rc: http.NewResponseController(w), keepGoing: push, lastFlush: time.Now()}
	h.ServeHTTP(sw, req)

	if push {
		// Handed on even when the client went away meanwhile: git accepted it.
		s.deliverSpooled(context.WithoutCancel(r.Context()), name, pushID)
	}
}

// splitGitPath splits "/git/NAME.git/ACTION" (or "/NAME.git/ACTION") into the
// repository name and "/ACTION".
func splitGitPath(p string) (name, action string, ok bool) {
	if rest, found := strings.CutPrefix(p, "/git/"); found {
		p = "/" + rest
	}
	p, found := strings.CutPrefix(p, "/")
	if !found {
		return "", "", false
	}
	i := strings.IndexByte(p, '/')
	if i <= 0 {
		return "", "", false
	}
	name = strings.TrimSuffix(p[:i], gitSuffix)
	return name, p[i:], true
}

func plainError(w http.ResponseWriter, status int, msg string) {
	// git shows text/plain bodies of failed requests to its user.
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// streamWriter passes the CGI's output on as it comes, so progress and packs
// stream. It flushes once 64 KiB have gathered or 50 ms have passed since the
// last flush, not after every write: net/http/cgi hands output over in pieces
// of a kilobyte, and a flush per piece made clones twice as slow. The tail is
// flushed when the handler returns. With keepGoing (pushes) it swallows write
// errors: net/http/cgi kills the CGI on a write error, and a push git accepted
// must run its post-receive hook even when the client has gone.
type streamWriter struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	keepGoing bool
	failed    bool
	pending   int
	lastFlush time.Time
}

const (
	flushBytes = 64 << 10
	flushEvery = 50 * time.Millisecond
)

func (s *streamWriter) Header() http.Header { return s.w.Header() }

func (s *streamWriter) WriteHeader(status int) { s.w.WriteHeader(status) }

func (s *streamWriter) Write(p []byte) (int, error) {
	if s.failed {
		return len(p), nil
	}
	_, err := s.w.Write(p)
	s.pending += len(p)
	if err == nil && (s.pending >= flushBytes || time.Since(s.lastFlush) >= flushEvery) {
		err = s.rc.Flush()
		s.pending, s.lastFlush = 0, time.Now()
	}
	if err != nil {
		if !s.keepGoing {
			return 0, err
		}
		s.failed = true
	}
	return len(p), nil
}

// logWriter logs what git-http-backend writes to its standard error, one
// record per line.
type logWriter struct {
	log  *slog.Logger
	repo string
}

func (l *logWriter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(strings.NewReader(string(p)))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" {
			l.log.Warn("git-http-backend", "repository", l.repo, "stderr", line)
		}
	}
	return len(p), nil
}
