package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestJobAnswers(t *testing.T) {
	type request struct {
		path, auth string
		body       map[string]any
	}
	var got []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		got = append(got, request{r.URL.Path, r.Header.Get("Authorization"), body})
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	t.Setenv("SLUICE_SERVER", srv.URL)
	t.Setenv("SLUICE_TOKEN", "admin-token")
	t.Setenv("SLUICE_JOB_TOKEN", "sjt_j1.mac")
	t.Setenv("SLUICE_JOB_ID", "j1")

	run := func(want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := Main(context.Background(), args, &out, &errOut); code != want {
			t.Fatalf("sluice %v: exit %d, want %d\n%s%s", args, code, want, out.String(), errOut.String())
		}
		return out.String() + errOut.String()
	}
	// The job token wins over SLUICE_TOKEN; the id comes from SLUICE_JOB_ID.
	if out := run(0, "job", "success", "--output-variable", "a=1", "--output-variable", "b=x=y", "--summary", "ok"); out != "job j1 succeeded\n" {
		t.Errorf("output = %q", out)
	}
	// --token wins over the job token; the id given wins over SLUICE_JOB_ID.
	if out := run(0, "job", "success", "j2", "--continuation-token", "step2", "--token", "other"); out != "job j2 continues: the function will be invoked again\n" {
		t.Errorf("output = %q", out)
	}
	if out := run(0, "job", "failure", "-m", "broke"); out != "job j1 failed: broke\n" {
		t.Errorf("output = %q", out)
	}
	run(1, "job", "failure")
	run(1, "job", "success", "--output-variable", "novalue")
	want := []request{
		{"/api/v1/jobs/j1/success", "Bearer sjt_j1.mac", map[string]any{"outputVariables": map[string]any{"a": "1", "b": "x=y"}, "summary": "ok"}},
		{"/api/v1/jobs/j2/success", "Bearer other", map[string]any{"continuationToken": "step2"}},
		{"/api/v1/jobs/j1/failure", "Bearer sjt_j1.mac", map[string]any{"message": "broke"}},
	}
	if len(got) != len(want) {
		t.Fatalf("requests = %+v", got)
	}
	for i := range want {
		if got[i].path != want[i].path || got[i].auth != want[i].auth || !jsonEqual(got[i].body, want[i].body) {
			t.Errorf("request %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}
