package api

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestReadyzSaysWhatIsNotReady: the probe needs no token, answers 503 with
// the part at fault, and 200 once everything answers.
func TestReadyzSaysWhatIsNotReady(t *testing.T) {
	s, _ := newTestServer(t)
	var fault error = errors.New("store not reachable")
	s.SetOperations(Operations{Ready: func(context.Context) error { return fault }})
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != http.StatusServiceUnavailable || w.Body.String() != "not ready: store not reachable\n" {
		t.Fatalf("not ready: %d %q", w.Code, w.Body.String())
	}
	fault = nil
	w = httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	if w.Code != http.StatusOK || w.Body.String() != "ready\n" {
		t.Fatalf("ready: %d %q", w.Code, w.Body.String())
	}
}
