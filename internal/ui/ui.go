// Package ui is sluice's web console: server-rendered HTML pages under /ui/,
// a small script that keeps them live over Server-Sent Events, and the
// stylesheet, all embedded in the binary so that the console works offline
// and no request ever leaves the machine.
//
// Every page and every change is one route of the route table (routes.go),
// and every route names exactly one action of the permission model (the
// API's names: GetPipelineState, StartPipelineExecution, …). The router
// checks it in one place, before the handler runs; the same check decides
// which controls a page offers, so a principal is not offered what it may
// not do, and is refused it anyway when it asks by hand.
//
// Principals sign in with an API token; the console keeps a session on the
// server (in memory) and checks on every request that the token still
// exists, so revoking a token signs its sessions out at once. Changes are
// POSTed forms carrying a CSRF token bound to the session; they work
// without JavaScript, and the script submits them in place when it runs.
package ui

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/sluice-ci/sluice/internal/access"
	"github.com/sluice-ci/sluice/internal/audit"
	"github.com/sluice-ci/sluice/internal/errcode"
	"github.com/sluice-ci/sluice/internal/event"
	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/mirror"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

// Prefix is where the console is mounted.
const Prefix = "/ui/"

// TokenStore finds the principal behind a token hash (the store does).
type TokenStore interface {
	Token(ctx context.Context, hash string) (service.Token, error)
}

// Repos lists the hosted repositories (the git server does); nil when the
// server hosts none.
type Repos interface {
	List(ctx context.Context) ([]gitserver.Repo, error)
}

// MirrorStatus says what happened to a repository's mirror (mirror.Runner).
type MirrorStatus interface {
	Status(repo, mirror string) (mirror.Status, bool)
}

// AuditTrail is the audit trail the console shows and adds its own changes
// to; nil when the server keeps none.
type AuditTrail interface {
	Append(ctx context.Context, rec audit.Record) error
	Query(ctx context.Context, f audit.Filter) ([]audit.Record, error)
}

// Config is what the console needs.
type Config struct {
	Service *service.Service
	Tokens  TokenStore
	Repos   Repos
	Audit   AuditTrail
	Logger  *slog.Logger
	// SSHHost is how git reaches the server over SSH; nil when it does not.
	SSHHost *wire.SSHHost
	// Mirrors says how repositories' mirrors fare; nil when none run.
	Mirrors MirrorStatus
	// SessionTTL is how long a session lasts without use (default 8 hours);
	// a session never outlives 24 hours.
	SessionTTL time.Duration
	// Sessions keeps sessions for every replica sharing a store; nil keeps
	// them in this process's memory.
	Sessions SessionStore
}

// Server is the console's HTTP handler.
type Server struct {
	svc     *service.Service
	rules   *event.Rules
	repos   Repos
	audit   AuditTrail
	guard   *access.Guard
	sshHost *wire.SSHHost
	mirrors MirrorStatus
	log     *slog.Logger
	mux     *http.ServeMux
	pages   *pages

	sessions *sessions

	// done is closed by Close: live streams end so that the HTTP server can
	// shut down without waiting for them.
	done      chan struct{}
	closeOnce sync.Once

	routes []route
}

// New returns the console's handler, to be mounted at Prefix.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 8 * time.Hour
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		svc: cfg.Service, rules: event.NewRules(cfg.Service), repos: cfg.Repos, audit: cfg.Audit, sshHost: cfg.SSHHost, mirrors: cfg.Mirrors, guard: &access.Guard{Tokens: cfg.Tokens},
		log: cfg.Logger, mux: http.NewServeMux(), pages: p,
		sessions: newSessions(cfg.SessionTTL, 24*time.Hour),
		done:     make(chan struct{}),
	}
	s.sessions.backing = cfg.Sessions
	s.sessions.log = func(msg string, err error) { cfg.Logger.Warn(msg, "err", err) }
	s.routes = s.routeTable()
	for _, rt := range s.routes {
		s.mux.HandleFunc(rt.pattern, s.wrap(rt))
	}
	return s, nil
}

// Close ends the live streams; call it when the HTTP server shuts down.
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.done) }) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	// Nothing is loaded from anywhere but this server, and no page may be
	// framed: the policy holds even if a template let something through.
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	s.mux.ServeHTTP(w, r)
}

// call is what a handler knows of the request beyond it.
type call struct {
	// Call is who asked for which operation on which resource, as the
	// access guard noted it, for the audit trail.
	access.Call
	sess   *session         // nil on public routes
	who    access.Principal // the session's principal, its token just read from the store
	perm   *permissions     // what the principal may do, asked lazily
	params []string         // the route's path parameters, for the audit trail
	start  time.Time
	seq    int64 // the newest event before a live page was read
}

// wrap puts a route's handler behind the session, the CSRF check of changes
// and the permission check of its action: the one place they happen.
func (s *Server) wrap(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := &call{Call: access.Call{Operation: rt.action}, params: rt.params, start: time.Now()}
		if rt.public {
			if r.Method == http.MethodPost {
				if err := parseForm(w, r); err != nil {
					s.fail(w, r, c, err)
					return
				}
			}
			if err := rt.handler(w, r, c); err != nil {
				s.fail(w, r, c, err)
			}
			return
		}
		sess, who, err := s.authenticate(r)
		if err != nil {
			if errors.Is(err, errNoSession) || errors.Is(err, errRevoked) || errors.Is(err, errExpired) {
				s.signInAgain(w, r, err)
			} else {
				s.fail(w, r, c, err)
			}
			return
		}
		c.sess, c.who, c.Principal = sess, who, who.Name
		c.perm = &permissions{who: who, cache: map[string]bool{}}
		if r.Method == http.MethodPost {
			if err := parseForm(w, r); err != nil {
				s.fail(w, r, c, err)
				return
			}
			if err := checkCSRF(r, sess); err != nil {
				s.audited(r, c, http.StatusForbidden, err)
				s.fail(w, r, c, err)
				return
			}
		}
		c.Resource = "*"
		if rt.resource != nil {
			c.Resource = rt.resource(r)
		}
		if rt.action != "" {
			if err := c.Check(who, rt.action, c.Resource); err != nil {
				s.audited(r, c, http.StatusForbidden, err)
				s.fail(w, r, c, err)
				return
			}
		}
		if rt.live && r.Method == http.MethodGet && !isFragment(r) {
			if c.seq, err = s.latestSeq(r.Context()); err != nil {
				s.fail(w, r, c, err)
				return
			}
		}
		err = rt.handler(w, r, c)
		if r.Method == http.MethodPost {
			s.audited(r, c, statusOf(err), err)
		}
		if err != nil {
			s.fail(w, r, c, err)
		}
	}
}

// authenticate finds the request's session and, through the access guard,
// the principal of its token, which must still exist: a revoked token's
// sessions end at once. A token whose policy no longer reads stays signed
// in, allowed nothing.
func (s *Server) authenticate(r *http.Request) (*session, access.Principal, error) {
	sess := s.sessions.fromRequest(r)
	if sess == nil {
		return nil, access.Principal{}, errNoSession
	}
	who, err := s.guard.ByHash(r.Context(), sess.tokenHash)
	switch {
	case errors.Is(err, access.ErrUnknownToken):
		s.sessions.remove(sess.id)
		return nil, access.Principal{}, errRevoked
	case errors.Is(err, access.ErrExpired):
		s.sessions.remove(sess.id)
		return nil, access.Principal{}, errExpired
	case err != nil && !errors.Is(err, access.ErrPolicyUnread):
		return nil, access.Principal{}, err
	}
	return sess, who, nil
}

var (
	errNoSession = errors.New("sign in to continue")
	errRevoked   = errors.New("the token this session was signed in with has been revoked; sign in again")
	errExpired   = errors.New("the token this session was signed in with has expired; sign in again")
)

// signInAgain answers a request without a valid session: pages go to the
// sign-in form (coming back afterwards), scripts get 401.
func (s *Server) signInAgain(w http.ResponseWriter, r *http.Request, why error) {
	if r.Method != http.MethodGet || wantsJSON(r) || isFragment(r) || r.URL.Path == Prefix+"live" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": why.Error()})
		return
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" && sameSiteRetry(w, r) {
		return
	}
	q := "next=" + urlQueryEscape(r.URL.RequestURI())
	if errors.Is(why, errRevoked) || errors.Is(why, errExpired) {
		q += "&revoked=1"
	}
	http.Redirect(w, r, Prefix+"signin?"+q, http.StatusSeeOther)
}

// sameSiteRetry answers a page asked for from another site (a link in a
// mail or a chat) without the session cookie, which SameSite=Strict keeps
// from such requests: the page asks itself again, from this site, so that a
// signed-in browser sends its cookie. It reports whether it answered.
func sameSiteRetry(w http.ResponseWriter, r *http.Request) bool {
	if _, err := r.Cookie(sessionCookie); err == nil {
		return false // the cookie came: the session is gone indeed
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write([]byte(`<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="0"><title>sluice</title><p>Opening…</p>`))
	return true
}

func statusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	return errcode.HTTPStatus(service.ErrorCode(err))
}

// fail answers err: JSON for scripts, an error page for people.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, c *call, err error) {
	status := statusOf(err)
	if status == http.StatusInternalServerError {
		if r.Context().Err() != nil {
			return
		}
		s.log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	msg := service.ErrorMessage(err)
	if wantsJSON(r) || isFragment(r) {
		// The API's error body, so that a script reads both alike.
		writeJSON(w, status, errcode.Body{Code: service.ErrorCode(err), Message: msg})
		return
	}
	w.WriteHeader(status)
	s.render(w, r, c, "error", "Error", errorPage{Status: status, StatusText: http.StatusText(status), Message: msg})
}

type errorPage struct {
	Status     int
	StatusText string
	Message    string
}

// changed answers a change that succeeded: scripts get the message, people are
// sent back where the form said, with the message shown there once.
func (s *Server) changed(w http.ResponseWriter, r *http.Request, c *call, msg, back string) error {
	if !strings.HasPrefix(back, Prefix) || strings.HasPrefix(back, "//") || strings.ContainsAny(back, "\\\r\n") {
		back = Prefix
	}
	if wantsJSON(r) {
		return writeJSON(w, http.StatusOK, map[string]string{"message": msg})
	}
	c.sess.setFlash(msg)
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func isFragment(r *http.Request) bool { return r.URL.Query().Get("fragment") != "" }

func writeJSON(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

// audited adds a change made through the console, or a refusal, to the
// audit trail. Reads are not recorded: the live pages re-read often, and a
// read changes nothing.
func (s *Server) audited(r *http.Request, c *call, status int, err error) {
	if s.audit == nil {
		return
	}
	rec := audit.Record{
		Time:      time.Now().UTC(),
		Principal: c.Principal,
		Source:    remoteHost(r),
		UserAgent: r.UserAgent(),
		Operation: c.Operation,
		Resource:  c.Resource,
		Params:    map[string]string{"via": "console"},
		Outcome:   audit.Allowed,
		Status:    status,
		Duration:  time.Since(c.start),
	}
	if rec.Operation == "" {
		rec.Operation = "Console" + strings.TrimPrefix(r.URL.Path, Prefix)
	}
	for _, k := range c.params {
		if v := r.PathValue(k); v != "" {
			rec.Params[k] = v
		}
	}
	if err != nil {
		rec.Error = service.ErrorMessage(err)
		rec.Outcome = audit.Failed
		if status == http.StatusForbidden || status == http.StatusUnauthorized {
			rec.Outcome = audit.Denied
		}
	}
	rec.Params = audit.RedactParams(rec.Params)
	if err := s.audit.Append(r.Context(), rec); err != nil && r.Context().Err() == nil {
		s.log.Error("audit console request", "err", err)
	}
}

func remoteHost(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

// baseURL is the server's URL as the browser reached it.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func errorf(code errcode.Code, format string, args ...any) error {
	return service.Errorf(code, format, args...)
}
