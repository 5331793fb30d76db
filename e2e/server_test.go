package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A second server started by mistake on a data directory in use must not
// disturb the first: it should refuse to start.
func TestSecondServerOnSameData(t *testing.T) {
	singleServer(t, "about one data directory's lock")
	t.Parallel()
	s := startServer(t)
	s.apply("testdata/transitions.yml")

	second := exec.Command(sluiceBin, "server", "--data", s.data, "--addr", "127.0.0.1:0", "--workers", "1", "--lease", "2s")
	second.Env = cliEnv("", "")
	var stderr syncBuffer
	second.Stdout, second.Stderr = &stderr, &stderr
	if err := second.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() {
		second.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		second.Process.Kill()
		<-exited
	})

	// Either it gives up, or it starts serving (and says so in server.url).
	urlFile := filepath.Join(s.data, "server.url")
	serving := false
	eventually(t, 20*time.Second, "the second server to exit or to serve", func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		raw, _ := os.ReadFile(urlFile)
		serving = strings.TrimSpace(string(raw)) != s.url
		return serving
	})
	if serving {
		t.Errorf("a second server started on %s while the first one runs there (it took over server.url)\n%s", s.data, stderr.String())
		second.Process.Kill()
		<-exited
	} else {
		if second.ProcessState.Success() {
			t.Errorf("the second server exited 0; want a non-zero exit")
		}
		if !strings.Contains(stderr.String(), "is in use by sluice server pid") {
			t.Errorf("the second server did not say the data directory is in use:\n%s", stderr.String())
		}
	}

	// The first server is still whole: its workers still run jobs.
	id := s.start("transitions")
	e := s.waitFor("transitions", id, 15*time.Second, "to end", execution.terminal)
	wantEqual(t, "execution on the first server", e.Status, "Succeeded")
}
