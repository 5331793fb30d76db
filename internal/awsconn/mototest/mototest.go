// Package mototest starts moto's server (an AWS-compatible endpoint written
// in Python) for tests of code that calls AWS APIs through the SDK. Tests
// talk to it on 127.0.0.1 with the static keys Key and Secret; when
// moto_server is not installed they are skipped with a message saying so.
package mototest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The keys moto accepts; any would do, these are its documented defaults.
const (
	Key    = "test"
	Secret = "test"
	Region = "us-east-1"
)

// startTimeout bounds how long moto may take to answer its first request:
// it imports every service's backend on start, which takes seconds on a
// busy machine.
const startTimeout = 60 * time.Second

// Start runs moto_server on a free port of 127.0.0.1 for the rest of the
// test and returns its endpoint (http://127.0.0.1:PORT). The server is
// stopped when the test ends. Tests that need no state left by earlier
// calls on the same server call Reset.
func Start(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		t.Skip("moto_server is not on PATH (pip install 'moto[server]'): skipping the tests against an AWS-compatible endpoint")
	}
	return startWith(t, func(port int) []string {
		return []string{bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port)}
	})
}

// StartExecuting is Start with moto's Step Functions executing state
// machines (Pass, Fail, Wait, Choice… states run), where by default an
// execution stays RUNNING for ever. In that mode moto 5.2's moto_server
// command fails StartExecution (500: a deep copy of the state machine meets
// a lock) or leaves executions RUNNING, while the same server run through
// moto's ThreadedMotoServer runs them: so this one is started through
// Python. Even so, only one execution runs between resets: call Reset
// before making each state machine a test executes.
func StartExecuting(t testing.TB) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil || exec.Command(py, "-c", "import moto.server").Run() != nil {
		t.Skip("python3 with moto[server] is not installed: skipping the tests against an AWS-compatible endpoint")
	}
	endpoint := startWith(t, func(port int) []string {
		return []string{py, "-c", fmt.Sprintf(threadedServer, port)}
	})
	resp, err := http.Post(endpoint+"/moto-api/config", "application/json",
		strings.NewReader(`{"stepfunctions": {"execute_state_machine": true}}`))
	if err != nil {
		t.Fatalf("configure moto: %v", err)
	}
	resp.Body.Close()
	return endpoint
}

// threadedServer runs moto's server until its standard input closes (the
// test's end, or the test binary's death).
const threadedServer = `
import sys
from moto.server import ThreadedMotoServer
s = ThreadedMotoServer(ip_address="127.0.0.1", port=%d, verbose=False)
s.start()
sys.stdin.read()
s.stop()
`

func startWith(t testing.TB, command func(port int) []string) string {
	t.Helper()
	var lastErr error
	// A port found free can be taken before moto binds it; try a few.
	for range 3 {
		endpoint, err := start(t, command)
		if err == nil {
			return endpoint
		}
		lastErr = err
	}
	t.Fatalf("start moto: %v", lastErr)
	return ""
}

func start(t testing.TB, command func(port int) []string) (string, error) {
	port, err := freePort()
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithCancel(context.Background())
	argv := command(port)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// Standard input stays open until the test ends: the Python launcher
	// stops when it closes.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		cancel()
		return "", err
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		return "", err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		stdin.Close()
		cancel()
		<-exited
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(startTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(endpoint + "/moto-api/data.json")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-exited:
			exited <- err
			stop()
			return "", fmt.Errorf("moto_server exited (%v): %s", err, out.String())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			stop()
			return "", fmt.Errorf("moto_server did not answer within %s: %s", startTimeout, out.String())
		}
	}
	t.Cleanup(stop)
	return endpoint, nil
}

// Reset drops everything moto holds (POST /moto-api/reset).
func Reset(t testing.TB, endpoint string) {
	t.Helper()
	resp, err := http.Post(endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset moto: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reset moto: %s", resp.Status)
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
