package toolcache

import (
	"fmt"
	"io"
	"net"
	"os/exec"
	"time"
)

// VersityGWOptions are what a versitygw may do besides serving a directory.
type VersityGWOptions struct {
	// EventWebhookURL receives the bucket event notifications. It must
	// already listen: versitygw sends it a test event at start and does
	// not start when the connection is refused.
	EventWebhookURL string
	// VersioningDir, when set, keeps object versions there.
	VersioningDir string
}

// RunVersityGW starts versitygw (bin, from VersityGW.Find) serving the
// directory data over S3 on a free loopback port with one access key, and
// returns its host:port once it accepts connections (it has no readiness
// signal of its own, so a TCP connect is one, within 15 s). stop kills it
// and waits for it; log receives its output (nil: discarded).
func RunVersityGW(bin, data, access, secret string, log io.Writer, opts VersityGWOptions) (addr string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr = l.Addr().String()
	l.Close()
	args := []string{"--access", access, "--secret", secret, "--port", addr}
	if opts.EventWebhookURL != "" {
		args = append(args, "--event-webhook-url", opts.EventWebhookURL)
	}
	args = append(args, "posix")
	if opts.VersioningDir != "" {
		args = append(args, "--versioning-dir", opts.VersioningDir)
	}
	cmd := exec.Command(bin, append(args, data)...)
	if log != nil {
		cmd.Stdout, cmd.Stderr = log, log
	}
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start versitygw: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		cmd.Process.Kill()
		<-exited
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr, stop, nil
		}
		select {
		case err := <-exited:
			exited <- err
			return "", nil, fmt.Errorf("versitygw exited before accepting connections: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("versitygw did not accept connections on %s within 15s", addr)
		}
	}
}
