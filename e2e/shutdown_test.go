package e2e

import (
	"bufio"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A server stops promptly while an event stream and a worker's long poll are
// open: both end when shutdown begins, and no handler outlives the store
// (which once logged "list events: sql: database is closed" after waiting out
// the 10 s shutdown timeout).
func TestShutdownEndsStreamsAndLongPolls(t *testing.T) {
	singleServer(t, "signals one server process and watches it exit")
	t.Parallel()
	s := startServer(t)

	// A remote worker's long poll, for a provider no job has.
	claimed := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodPost, s.url+"/api/v1/jobs/claim",
			strings.NewReader(`{"workerId":"remote-1","providers":["NoSuchProvider"],"waitSeconds":60}`))
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		claimed <- err
	}()

	// An event stream, open once its first comment has come.
	req, _ := http.NewRequest(http.MethodGet, s.url+"/api/v1/events/stream", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("event stream: %s", resp.Status)
	}
	lines := bufio.NewScanner(resp.Body)
	if !lines.Scan() || !strings.HasPrefix(lines.Text(), ": sluice event stream") {
		t.Fatalf("event stream began with %q (%v)", lines.Text(), lines.Err())
	}
	streamEnded := make(chan struct{})
	go func() {
		for lines.Scan() {
		}
		close(streamEnded)
	}()

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// hang is a failure bound, not a speed expectation: shutdown used to wait
	// out a 10 s timeout for the stream.
	const hang = 5 * time.Second
	for what, ch := range map[string]<-chan struct{}{"the event stream to end": streamEnded, "the server to exit": s.done} {
		select {
		case <-ch:
		case <-time.After(hang):
			s.dumpLogs()
			t.Fatalf("still waiting for %s %s after SIGTERM", what, hang)
		}
	}
	select {
	case <-claimed: // an empty answer or a closed connection: either way it ended
	case <-time.After(hang):
		t.Fatalf("the long poll did not end %s after the server exited", hang)
	}
	if !s.cmd.ProcessState.Success() {
		t.Errorf("server exited with %v after SIGTERM", s.cmd.ProcessState)
	}
	log, err := os.ReadFile(filepath.Join(s.base, "server-1.log"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), "database is closed") {
		t.Errorf("a handler outlived the store:\n%s", log)
	}
}
