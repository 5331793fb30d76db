package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func runCLI(t *testing.T, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := Main(context.Background(), args, &out, &errOut); code != want {
		t.Fatalf("sluice %v: exit %d, want %d\n%s%s", args, code, want, out.String(), errOut.String())
	}
	return out.String(), errOut.String()
}

func TestVersion(t *testing.T) {
	out, _ := runCLI(t, 0, "version", "-o", "json")
	var bi BuildInfo
	if err := json.Unmarshal([]byte(out), &bi); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if bi.GoVersion != runtime.Version() || bi.Version == "" || bi.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("version = %+v", bi)
	}
	old := Version
	Version = "v9.8.7"
	defer func() { Version = old }()
	if out, _ := runCLI(t, 0, "version"); !strings.HasPrefix(out, "sluice v9.8.7\n") || !strings.Contains(out, "go: "+runtime.Version()) {
		t.Errorf("version text = %q", out)
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestNoServerSaysWhatToDo(t *testing.T) {
	addr := closedPort(t)
	t.Setenv("SLUICE_SERVER", "")
	t.Setenv("SLUICE_TOKEN", "t")
	_, errOut := runCLI(t, 1, "pipeline", "list", "--server", "http://"+addr)
	want := "sluice: no sluice server at http://" + addr + " (connection refused); start one with `sluice server`, or point at yours with --server URL or SLUICE_SERVER\n"
	if errOut != want {
		t.Errorf("stderr = %q\nwant %q", errOut, want)
	}
}

func TestServerFoundInDataDir(t *testing.T) {
	var gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"pipelines":[]}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	t.Chdir(dir)
	t.Setenv("SLUICE_SERVER", "")
	t.Setenv("SLUICE_DATA", "")
	t.Setenv("SLUICE_TOKEN", "tok")
	if err := os.Mkdir("sluice-data", 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("sluice-data", "server.url"), []byte(srv.URL+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runCLI(t, 0, "pipeline", "list")
	if gotAuth != "Bearer tok" {
		t.Errorf("the server in ./sluice-data/server.url got no request (Authorization %q)", gotAuth)
	}

	// A stale file: the hint says where the address came from.
	addr := closedPort(t)
	os.WriteFile(filepath.Join("sluice-data", "server.url"), []byte("http://"+addr+"\n"), 0o644)
	_, errOut := runCLI(t, 1, "pipeline", "list")
	if !strings.Contains(errOut, "no sluice server at http://"+addr+" (from sluice-data/server.url) (connection refused)") {
		t.Errorf("stderr = %q", errOut)
	}
}

// server.url decides where the token goes: one naming another machine, or
// one another user could have written, is not followed.
func TestServerURLFileNotTrusted(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SLUICE_DATA", dir)
	path := filepath.Join(dir, "server.url")
	for _, c := range []struct {
		content string
		mode    os.FileMode
		want    string
	}{
		{"http://127.0.0.1:9999\n", 0o644, "http://127.0.0.1:9999"},
		{"https://localhost:8443/\n", 0o600, "https://localhost:8443"},
		{"http://[::1]:8080\n", 0o644, "http://[::1]:8080"},
		{"http://attacker.example.com:8080\n", 0o644, ""},
		{"http://10.0.0.1:8080\n", 0o644, ""},
		{"http://user:pw@127.0.0.1:8080\n", 0o644, ""},
		{"file:///etc/passwd\n", 0o644, ""},
		{"http://127.0.0.1:9999\n", 0o666, ""}, // anyone could have written it
	} {
		os.Remove(path)
		if err := os.WriteFile(path, []byte(c.content), c.mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, c.mode) // past the umask
		if got, _ := discoverServer(); got != c.want {
			t.Errorf("server.url %q mode %o: discovered %q, want %q", c.content, c.mode, got, c.want)
		}
	}
}
