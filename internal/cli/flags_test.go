package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// No command may redefine a global flag: a local --token shadowed the API
// token on approve and reject, so --token could not carry it there.
func TestNoCommandRedefinesAGlobalFlag(t *testing.T) {
	root := NewRoot(io.Discard, io.Discard)
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		cmd.LocalNonPersistentFlags().VisitAll(func(f *pflag.Flag) {
			if root.PersistentFlags().Lookup(f.Name) != nil {
				t.Errorf("%q redefines the global flag --%s (%s)", cmd.CommandPath(), f.Name, f.Usage)
			}
		})
		for _, c := range cmd.Commands() {
			walk(c)
		}
	}
	walk(root)
}

func TestApproveTokenIsTheAPIToken(t *testing.T) {
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
	t.Setenv("SLUICE_TOKEN", "")
	var out, errOut bytes.Buffer
	args := []string{"approve", "app", "e1", "Approve", "review", "--token", "api-token", "--approval-token", "appr-token", "--comment", "ok"}
	if code := Main(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("sluice %v: exit %d\n%s%s", args, code, out.String(), errOut.String())
	}
	if len(got) != 1 {
		t.Fatalf("requests = %+v", got)
	}
	if got[0].auth != "Bearer api-token" {
		t.Errorf("Authorization = %q, want the --token", got[0].auth)
	}
	if got[0].body["token"] != "appr-token" {
		t.Errorf("approval token sent = %v, want --approval-token's", got[0].body["token"])
	}
}
