// Package mototest starts moto's server (an AWS API emulator in Python) for
// tests of code that calls AWS through the SDK. Tests skip, saying why, when
// moto_server is not installed.
package mototest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Start runs moto_server on a free port of 127.0.0.1 for the rest of the test
// and returns its endpoint (http://127.0.0.1:PORT). The server is stopped when
// the test ends. Every call starts its own server, so tests do not share
// state; Reset empties one.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server is not on PATH (pip install 'moto[server]'): the AWS provider tests need it")
	}
	port, err := freePort()
	if err != nil {
		t.Fatalf("mototest: free port: %v", err)
	}
	var out syncBuffer
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = &out, &out
	// Keep moto from reaching for real AWS credentials or metadata.
	cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_EC2_METADATA_DISABLED=true")
	if err := cmd.Start(); err != nil {
		t.Fatalf("mototest: start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	// moto answers its own API once it is listening; poll it until then.
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case err := <-exited:
			t.Fatalf("mototest: moto_server exited before answering: %v\n%s", err, out.String())
		default:
		}
		resp, err := client.Get(endpoint + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			return endpoint
		}
		if time.Now().After(deadline) {
			t.Fatalf("mototest: moto_server did not answer at %s within a minute: %v\n%s", endpoint, err, out.String())
		}
		time.Sleep(50 * time.Millisecond) // polling a process we cannot be notified by
	}
}

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

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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
	return fmt.Sprint(s.b.String())
}
