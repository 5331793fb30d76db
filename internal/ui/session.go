package ui

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sluice-ci/sluice/internal/access"
	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/service"
)

// Cookies the console sets. Both are HttpOnly, SameSite=Strict, limited to
// Prefix, and Secure when the request came over TLS.
const (
	sessionCookie = "sluice_session"
	// signinCookie holds the sign-in form's CSRF token (double submit), so
	// that another site cannot sign a browser in under its own token.
	signinCookie = "sluice_signin"
)

// maxSessions bounds the sessions kept in memory; the least recently used
// go first.
const maxSessions = 10000

// session is one signed-in browser. It remembers the token's hash, never the
// token, and re-reads the token on every request.
type session struct {
	id        string
	tokenHash string
	name      string // the token's name when the session began
	csrf      string // the synchronizer token every change must carry
	created   time.Time

	mu       sync.Mutex
	lastUsed time.Time
	flash    string // a message to show once, on the next page
}

func (s *session) setFlash(msg string) {
	s.mu.Lock()
	s.flash = msg
	s.mu.Unlock()
}

func (s *session) takeFlash() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := s.flash
	s.flash = ""
	return msg
}

// sessions are kept in memory: a restart signs everybody out, which costs a
// sign-in and keeps no credential on disk.
type sessions struct {
	idle, max time.Duration
	now       func() time.Time

	mu   sync.Mutex
	byID map[string]*session
}

func newSessions(idle, max time.Duration) *sessions {
	return &sessions{idle: idle, max: max, now: time.Now, byID: map[string]*session{}}
}

func (ss *sessions) create(tokenHash, name string) *session {
	now := ss.now()
	sess := &session{id: randomToken(), tokenHash: tokenHash, name: name, csrf: randomToken(), created: now, lastUsed: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.byID) >= maxSessions {
		ss.evictLocked(now)
	}
	ss.byID[sess.id] = sess
	return sess
}

// evictLocked drops expired sessions and, when that is not enough, the
// least recently used one.
func (ss *sessions) evictLocked(now time.Time) {
	var oldest *session
	for id, s := range ss.byID {
		if ss.expired(s, now) {
			delete(ss.byID, id)
			continue
		}
		if oldest == nil || s.lastUsed.Before(oldest.lastUsed) {
			oldest = s
		}
	}
	if len(ss.byID) >= maxSessions && oldest != nil {
		delete(ss.byID, oldest.id)
	}
}

func (ss *sessions) expired(s *session, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Sub(s.lastUsed) > ss.idle || now.Sub(s.created) > ss.max
}

// fromRequest returns the live session the request's cookie names, nil when
// there is none.
func (ss *sessions) fromRequest(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	ss.mu.Lock()
	sess := ss.byID[c.Value]
	ss.mu.Unlock()
	if sess == nil {
		return nil
	}
	now := ss.now()
	if ss.expired(sess, now) {
		ss.remove(sess.id)
		return nil
	}
	sess.mu.Lock()
	sess.lastUsed = now
	sess.mu.Unlock()
	return sess
}

func (ss *sessions) remove(id string) {
	ss.mu.Lock()
	delete(ss.byID, id)
	ss.mu.Unlock()
}

func randomToken() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: strings.TrimSuffix(Prefix, "/"), MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}

// checkCSRF refuses a change that does not carry the session's token, or
// that another site's page sent.
func checkCSRF(r *http.Request, sess *session) error {
	if err := sameOrigin(r); err != nil {
		return err
	}
	got := r.Header.Get("X-CSRF-Token")
	if got == "" {
		got = r.PostFormValue("csrf")
	}
	if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) != 1 {
		return service.Errorf(service.CodeForbidden, "this form is out of date or was not sent by the console (CSRF token mismatch); reload the page and try again")
	}
	return nil
}

// sameOrigin refuses requests a browser says came from another site.
func sameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return service.Errorf(service.CodeForbidden, "cross-site request refused")
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return service.Errorf(service.CodeForbidden, "cross-origin request refused (Origin %s)", o)
		}
	}
	return nil
}

type signinPage struct {
	Next    string
	CSRF    string
	Error   string
	Revoked bool
}

// signinForm shows the sign-in form.
func (s *Server) signinForm(w http.ResponseWriter, r *http.Request, c *call) error {
	if sess, _, err := s.authenticate(r); err == nil && sess != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return nil
	}
	return s.showSignin(w, r, c, http.StatusOK, "")
}

func (s *Server) showSignin(w http.ResponseWriter, r *http.Request, c *call, status int, msg string) error {
	token := randomToken()
	setCookie(w, r, signinCookie, token, 3600)
	next := r.URL.Query().Get("next")
	if r.Method == http.MethodPost {
		next = r.PostFormValue("next")
	}
	w.WriteHeader(status)
	s.render(w, r, c, "signin", "Sign in", signinPage{Next: safeNext(next), CSRF: token, Error: msg, Revoked: r.URL.Query().Get("revoked") != ""})
	return nil
}

// signin checks a token as the API does (by its hash) and starts a session.
func (s *Server) signin(w http.ResponseWriter, r *http.Request, c *call) error {
	if err := sameOrigin(r); err != nil {
		return err
	}
	ck, err := r.Cookie(signinCookie)
	if err != nil || ck.Value == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		return s.showSignin(w, r, c, http.StatusForbidden, "The sign-in form expired; please try again.")
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	c.Operation = "ConsoleSignIn"
	if token == "" {
		return s.showSignin(w, r, c, http.StatusBadRequest, "Enter a token.")
	}
	if service.IsJobToken(token) {
		return s.showSignin(w, r, c, http.StatusUnauthorized, "A job token cannot sign in to the console.")
	}
	hash := auth.HashToken(token)
	who, err := s.guard.ByHash(r.Context(), hash)
	if errors.Is(err, access.ErrUnknownToken) {
		s.audited(r, c, http.StatusUnauthorized, service.Errorf(service.CodeUnauthorized, "invalid token"))
		return s.showSignin(w, r, c, http.StatusUnauthorized, "No token of this server matches it.")
	}
	c.who, c.Principal = who, who.Name
	if errors.Is(err, access.ErrExpired) {
		s.audited(r, c, http.StatusUnauthorized, service.Errorf(service.CodeUnauthorized, "token expired"))
		return s.showSignin(w, r, c, http.StatusUnauthorized, "This token has expired.")
	}
	if err != nil && !errors.Is(err, access.ErrPolicyUnread) {
		return err
	}
	sess := s.sessions.create(hash, who.Name)
	setCookie(w, r, sessionCookie, sess.id, 0)
	setCookie(w, r, signinCookie, "", -1)
	s.audited(r, c, http.StatusSeeOther, nil)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
	return nil
}

// signout ends the session.
func (s *Server) signout(w http.ResponseWriter, r *http.Request, c *call) error {
	if sess := s.sessions.fromRequest(r); sess != nil {
		if err := checkCSRF(r, sess); err != nil {
			return err
		}
		s.sessions.remove(sess.id)
	}
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"signin", http.StatusSeeOther)
	return nil
}

// safeNext keeps a redirect after sign-in inside the console.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") ||
		strings.HasPrefix(next, Prefix+"signin") || strings.HasPrefix(next, Prefix+"live") || strings.HasPrefix(next, Prefix+"static") {
		return Prefix + "pipelines"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }
