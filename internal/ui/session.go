package ui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
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

	save func(*session) // writes the session back to its SessionStore; nil in memory
}

func (s *session) setFlash(msg string) {
	s.mu.Lock()
	s.flash = msg
	s.mu.Unlock()
	if s.save != nil {
		s.save(s)
	}
}

func (s *session) takeFlash() string {
	s.mu.Lock()
	msg := s.flash
	s.flash = ""
	s.mu.Unlock()
	if msg != "" && s.save != nil {
		s.save(s)
	}
	return msg
}

// SessionRecord is a session as a SessionStore keeps it: IDHash is the
// SHA-256 of the cookie's value, so a copy of the store gives no live cookie.
type SessionRecord struct {
	IDHash, TokenHash, Name, CSRF, Flash string
	Created, LastUsed                    time.Time
}

// SessionStore keeps sessions where every server replica sharing a store
// finds them: a browser signed in through one replica stays signed in
// whichever answers, and signing out ends the session on all of them.
type SessionStore interface {
	PutSession(ctx context.Context, r SessionRecord) error
	// Session returns the record, and false when there is none.
	Session(ctx context.Context, idHash string) (SessionRecord, bool, error)
	DeleteSession(ctx context.Context, idHash string) error
	PruneSessions(ctx context.Context, idleBefore, createdBefore time.Time) error
}

// touchEvery is how often a stored session's last use is written back: the
// idle timeout is that much coarser, and a page view costs no write.
const touchEvery = time.Minute

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// storeTimeout bounds the writes that have no request context to follow.
const storeTimeout = 5 * time.Second

// sessions are kept in memory: a restart signs everybody out, which costs a
// sign-in and keeps no credential on disk. With a SessionStore (replicas on
// PostgreSQL) they are kept there instead, and read on every request.
type sessions struct {
	idle, max time.Duration
	now       func() time.Time
	backing   SessionStore // nil: in memory
	log       func(msg string, err error)

	mu   sync.Mutex
	byID map[string]*session
}

func newSessions(idle, max time.Duration) *sessions {
	return &sessions{idle: idle, max: max, now: time.Now, byID: map[string]*session{}}
}

func (ss *sessions) create(ctx context.Context, tokenHash, name string) (*session, error) {
	now := ss.now()
	sess := &session{id: randomToken(), tokenHash: tokenHash, name: name, csrf: randomToken(), created: now, lastUsed: now}
	if ss.backing != nil {
		if err := ss.backing.PruneSessions(ctx, now.Add(-ss.idle), now.Add(-ss.max)); err != nil {
			ss.log("prune console sessions", err)
		}
		sess.save = ss.save
		if err := ss.backing.PutSession(ctx, ss.record(sess)); err != nil {
			return nil, err
		}
		return sess, nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if len(ss.byID) >= maxSessions {
		ss.evictLocked(now)
	}
	ss.byID[sess.id] = sess
	return sess, nil
}

func (ss *sessions) record(s *session) SessionRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SessionRecord{IDHash: hashID(s.id), TokenHash: s.tokenHash, Name: s.name, CSRF: s.csrf, Flash: s.flash,
		Created: s.created, LastUsed: s.lastUsed}
}

// save writes a stored session back (its flash changed, or its last use).
func (ss *sessions) save(s *session) {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	if err := ss.backing.PutSession(ctx, ss.record(s)); err != nil {
		ss.log("save console session", err)
	}
}

// fromStore reads the session the cookie names from the SessionStore.
func (ss *sessions) fromStore(ctx context.Context, id string) *session {
	rec, ok, err := ss.backing.Session(ctx, hashID(id))
	if err != nil {
		ss.log("read console session", err)
		return nil
	}
	if !ok {
		return nil
	}
	return &session{id: id, tokenHash: rec.TokenHash, name: rec.Name, csrf: rec.CSRF, flash: rec.Flash,
		created: rec.Created, lastUsed: rec.LastUsed, save: ss.save}
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
	var sess *session
	if ss.backing != nil {
		sess = ss.fromStore(r.Context(), c.Value)
	} else {
		ss.mu.Lock()
		sess = ss.byID[c.Value]
		ss.mu.Unlock()
	}
	if sess == nil {
		return nil
	}
	now := ss.now()
	if ss.expired(sess, now) {
		ss.remove(sess.id)
		return nil
	}
	sess.mu.Lock()
	stale := now.Sub(sess.lastUsed) >= touchEvery
	sess.lastUsed = now
	sess.mu.Unlock()
	if stale && ss.backing != nil {
		ss.save(sess)
	}
	return sess
}

func (ss *sessions) remove(id string) {
	if ss.backing != nil {
		ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
		defer cancel()
		if err := ss.backing.DeleteSession(ctx, hashID(id)); err != nil {
			ss.log("delete console session", err)
		}
		return
	}
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
	sess, err := s.sessions.create(r.Context(), hash, who.Name)
	if err != nil {
		return err
	}
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
