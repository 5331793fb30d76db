package api

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// recorder is a ResponseWriter with everything net/http's own has.
type recorder struct {
	*httptest.ResponseRecorder
	readFrom, hijacked bool
}

func (r *recorder) ReadFrom(src io.Reader) (int64, error) {
	r.readFrom = true
	return io.Copy(r.ResponseRecorder, src)
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	r.hijacked = true
	return nil, nil, nil
}

func TestAuditWriterPassesCapabilitiesOn(t *testing.T) {
	under := &recorder{ResponseRecorder: httptest.NewRecorder()}
	aw := &auditWriter{w: under}
	var w http.ResponseWriter = auditHijacker{aw}

	f, ok := w.(http.Flusher)
	if !ok {
		t.Fatal("not a Flusher: streaming answers would stall")
	}
	w.Header().Set("Content-Type", "text/event-stream")
	f.Flush()
	if !under.Flushed || aw.status != http.StatusOK {
		t.Errorf("Flush did not reach the connection (flushed %v, status %d)", under.Flushed, aw.status)
	}
	if err := http.NewResponseController(w).Flush(); err != nil {
		t.Errorf("ResponseController.Flush: %v", err)
	}
	if _, err := io.Copy(w, io.LimitReader(strings.NewReader("data: x\n\n"), 100)); err != nil || !under.readFrom {
		t.Errorf("io.Copy did not use the connection's ReadFrom (err %v)", err)
	}
	if _, _, err := w.(http.Hijacker).Hijack(); err != nil || !under.hijacked || !aw.hijacked {
		t.Errorf("Hijack not passed on (err %v)", err)
	}

	// Over a writer that cannot be hijacked, the middleware uses the plain
	// auditWriter, which does not claim to be a Hijacker.
	var plain http.ResponseWriter = &auditWriter{w: httptest.NewRecorder()}
	if _, ok := plain.(http.Hijacker); ok {
		t.Error("the plain auditWriter claims to be a Hijacker")
	}
}

func TestAuditWriterStatusAndErrorBody(t *testing.T) {
	aw := &auditWriter{w: httptest.NewRecorder()}
	aw.WriteHeader(http.StatusContinue) // informational: not the answer's status
	writeJSON(aw, http.StatusConflict, map[string]string{"code": "Conflict", "message": "approval already answered"})
	aw.WriteHeader(http.StatusOK) // superfluous, ignored
	if aw.status != http.StatusConflict {
		t.Errorf("status = %d, want 409", aw.status)
	}
	if got := errorMessage(aw.errBody); got != "approval already answered" {
		t.Errorf("error message = %q", got)
	}
	if got := errorMessage([]byte("sluice: permission denied: you may not push to repository app\n")); got != "sluice: permission denied: you may not push to repository app" {
		t.Errorf("plain-text error message = %q", got)
	}
}

func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		remote, xff string
		trusted     []netip.Prefix
		want        string
	}{
		{"192.0.2.1:5555", "203.0.113.7", nil, "192.0.2.1"},                         // no trusted proxy: XFF ignored
		{"192.0.2.1:5555", "203.0.113.7", trusted, "192.0.2.1"},                     // not from a trusted proxy
		{"10.1.2.3:5555", "203.0.113.7", trusted, "203.0.113.7"},                    // one trusted hop
		{"10.1.2.3:5555", "6.6.6.6, 203.0.113.7, 10.9.9.9", trusted, "203.0.113.7"}, // spoofed leftmost ignored
		{"10.1.2.3:5555", "", trusted, "10.1.2.3"},                                  // a proxy that says nothing
		{"10.1.2.3:5555", "junk, 10.9.9.9", trusted, "10.9.9.9"},                    // unreadable hop: stop there
		{"[::1]:5555", "[2001:db8::1]:443", trusted, "2001:db8::1"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := clientAddr(r, tc.trusted); got != tc.want {
			t.Errorf("clientAddr(%s, XFF %q) = %q, want %q", tc.remote, tc.xff, got, tc.want)
		}
	}
}

func TestAllowedBodyFields(t *testing.T) {
	got := allowedBodyFields([]byte(`{"stageName":"Deploy","actionName":"review","token":"tok-9","result":{"status":"Approved","summary":"ok"},
		"variables":{"A":"b"},"name":"x","password":"p","enabled":false}`))
	want := map[string]string{"stageName": "Deploy", "actionName": "review", "result.status": "Approved", "name": "x", "enabled": "false"}
	if len(got) != len(want) {
		t.Errorf("fields = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("field %s = %q, want %q (all: %v)", k, got[k], v, got)
		}
	}
	if names := patternWildcards("GET /api/v1/pipelines/{name}/executions/{id}/logs/{action...}"); strings.Join(names, ",") != "name,id,action" {
		t.Errorf("wildcards = %v", names)
	}
}
