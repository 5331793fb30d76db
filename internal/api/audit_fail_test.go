package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/audit"
	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/store"
)

// failingTrail fails every write, as the audit trail does on a full disk,
// and keeps what it was given.
type failingTrail struct{ recs []audit.Record }

var errDiskFull = errors.New("write audit.db: no space left on device")

func (f *failingTrail) Append(_ context.Context, rec audit.Record) error {
	f.recs = append(f.recs, rec)
	return errDiskFull
}

func (f *failingTrail) Submit(rec audit.Record) error {
	f.recs = append(f.recs, rec)
	return errDiskFull
}

// okTrail keeps every record.
type okTrail struct{ recs []audit.Record }

func (o *okTrail) Append(_ context.Context, rec audit.Record) error {
	o.recs = append(o.recs, rec)
	return nil
}

func (o *okTrail) Submit(rec audit.Record) error {
	o.recs = append(o.recs, rec)
	return nil
}

// TestUnrecordedChangeIsAnError: a change whose audit record cannot be
// written is answered with a 500 naming the audit trail, never its success;
// a read is still answered.
func TestUnrecordedChangeIsAnError(t *testing.T) {
	s, st := newTestServer(t)
	if err := st.PutToken(context.Background(), store.Token{Name: "root", Hash: auth.HashToken("tok"), Policy: "admin", Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	trail := &failingTrail{}
	srv := httptest.NewServer(&auditHandler{next: s, trail: trail, log: slog.New(slog.DiscardHandler)})
	defer srv.Close()
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		buf := new(strings.Builder)
		_, _ = io.Copy(buf, resp.Body)
		return resp.StatusCode, buf.String()
	}
	status, body := do("PUT", "/api/v1/secrets/db", "hunter22")
	if status != http.StatusInternalServerError || !strings.Contains(body, "audit trail could not record") || !strings.Contains(body, "no space left") {
		t.Errorf("PUT secret with a failing trail: %d %s, want 500 naming the audit trail", status, body)
	}
	if status, _ := do("GET", "/api/v1/secrets", ""); status != http.StatusOK {
		t.Errorf("a read with a failing trail: %d, want 200", status)
	}
	if len(trail.recs) != 2 {
		t.Errorf("%d records offered to the trail, want 2", len(trail.recs))
	}
}

// TestExpiredTokenNamedInAudit: a 401 for an expired token names it.
func TestExpiredTokenNamedInAudit(t *testing.T) {
	s, st := newTestServer(t)
	past := time.Now().Add(-time.Hour)
	if err := st.PutToken(context.Background(), store.Token{Name: "ci-old", Hash: auth.HashToken("old"), Policy: "viewer", Created: past.Add(-time.Hour), Expires: past}); err != nil {
		t.Fatal(err)
	}
	trail := &okTrail{}
	srv := httptest.NewServer(&auditHandler{next: s, trail: trail, log: slog.New(slog.DiscardHandler)})
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/pipelines", nil)
	req.Header.Set("Authorization", "Bearer old")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", resp.StatusCode)
	}
	if len(trail.recs) != 1 || trail.recs[0].Principal != "ci-old" || trail.recs[0].Outcome != audit.Denied {
		t.Errorf("records %+v, want one denied naming ci-old", trail.recs)
	}
}
