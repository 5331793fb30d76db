// Package mototest starts moto's server (an AWS look-alike, `moto_server`)
// for tests of code that calls AWS through the SDK: on 127.0.0.1, on a free
// port, stopped when the test ends. Where moto is not installed the test is
// skipped, saying how to get it.
package mototest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/awsconn"
)

// Region is the region tests use; moto accepts any.
const Region = "us-east-1"

// Server is a running moto server.
type Server struct {
	URL string
}

// Start starts moto_server for the test, or skips the test when it is not
// installed.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := exec.LookPath("moto_server"); err != nil {
		t.Skip("moto_server not found: install moto's server (pip install 'moto[server]') to run the AWS tests")
	}
	var log io.Writer
	if testing.Verbose() {
		log = os.Stderr
	}
	s, stop, err := Run(context.Background(), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return s
}

// Run starts moto_server outside a test (benchmark commands); stop ends it.
// log, when not nil, receives its output.
func Run(ctx context.Context, log io.Writer) (s *Server, stop func(), err error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, nil, fmt.Errorf("moto_server not found: install moto's server (pip install 'moto[server]'): %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	// Its own process group, so that the Python behind a pyenv shim goes too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if log != nil {
		cmd.Stdout, cmd.Stderr = log, log
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start moto_server: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	}
	s = &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		// Ready when it answers its own API.
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/moto-api/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			return s, stop, nil
		}
		select {
		case err := <-exited:
			return nil, nil, fmt.Errorf("moto_server exited before answering: %v", err)
		case <-ctx.Done():
			stop()
			return nil, nil, fmt.Errorf("moto_server did not answer at %s within 60s", s.URL)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Reset forgets everything moto holds (POST /moto-api/reset).
func (s *Server) Reset(t testing.TB) {
	t.Helper()
	resp, err := http.Post(s.URL+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset moto: %s", resp.Status)
	}
}

// Conn is a connection to the server with moto's static test keys.
func (s *Server) Conn(name string) *awsconn.Conn {
	return awsconn.Static(name, Region, s.URL, "test", "test", "")
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// The keys moto accepts; any would do, these are its documented defaults.
const (
	Key    = "test"
	Secret = "test"
)

// StartExecuting is Start with moto's Step Functions executing state
// machines (Pass, Fail, Wait, Choice… states run), where by default an
// execution stays RUNNING for ever. In that mode moto 5.2's moto_server
// command fails StartExecution (500: a deep copy of the state machine meets
// a lock), while the same server run through moto's ThreadedMotoServer runs
// them: so this one is started through Python. Even so, only one execution
// runs between resets: call Reset before making each state machine a test
// executes.
func StartExecuting(t testing.TB) *Server {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import moto.server").Run() != nil {
		t.Skip("python3 with moto[server] is not installed (pip install 'moto[server]'): skipping the tests against an AWS-compatible endpoint")
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, "-c", fmt.Sprintf(threadedServer, port))
	// Standard input stays open until the test ends: the Python launcher
	// stops when it closes, or when the test binary dies.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if testing.Verbose() {
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start moto: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/moto-api/")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("moto exited before answering: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("moto did not answer at %s within 60s", s.URL)
		}
	}
	resp, err := http.Post(s.URL+"/moto-api/config", "application/json",
		strings.NewReader(`{"stepfunctions": {"execute_state_machine": true}}`))
	if err != nil {
		t.Fatalf("configure moto: %v", err)
	}
	resp.Body.Close()
	return s
}

// threadedServer runs moto's server until its standard input closes.
const threadedServer = `
import sys
from moto.server import ThreadedMotoServer
s = ThreadedMotoServer(ip_address="127.0.0.1", port=%d, verbose=False)
s.start()
sys.stdin.read()
s.stop()
`
