// Package mototest starts moto's server (an AWS API emulator in Python) for
// tests of code that calls AWS through the SDK. Tests skip, saying why, when
// moto_server is not installed.
package mototest

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"testing"
	"time"
)

// Start runs moto_server on a port of 127.0.0.1 it picks itself, for the
// rest of the test, and returns its endpoint (http://127.0.0.1:PORT). The
// server is stopped when the test ends. Every call starts its own server,
// so tests do not share state; Reset empties one. (moto chooses the port,
// and says which: a port picked here and handed over could be taken by
// another test's server in between.)
func Start(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server is not on PATH (pip install 'moto[server]'): the AWS provider tests need it")
	}
	var out syncBuffer
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", "0")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = &out, io.MultiWriter(&out, pw)
	// Keep moto from reaching for real AWS credentials or metadata.
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true")
	if err := cmd.Start(); err != nil {
		t.Fatalf("mototest: start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := runningOn.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		io.Copy(io.Discard, pr) // keep moto's writes from blocking
	}()
	var endpoint string
	select {
	case endpoint = <-found:
	case err := <-exited:
		t.Fatalf("mototest: moto_server exited before listening: %v\n%s", err, out.String())
	case <-time.After(time.Minute):
		t.Fatalf("mototest: moto_server did not say where it listens within a minute:\n%s", out.String())
	}
	resp, err := http.Get(endpoint + "/moto-api/")
	if err != nil {
		t.Fatalf("mototest: moto_server at %s: %v\n%s", endpoint, err, out.String())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mototest: %s/moto-api/ answered %s: not moto", endpoint, resp.Status)
	}
	return endpoint
}

var runningOn = regexp.MustCompile(`Running on (http://127\.0\.0\.1:\d+)`)

// Reset forgets everything the server at endpoint holds.
func Reset(t testing.TB, endpoint string) {
	t.Helper()
	resp, err := http.Post(endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("mototest: reset: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("mototest: reset: %s", resp.Status)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
