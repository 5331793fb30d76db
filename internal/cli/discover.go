package cli

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// defaultServer is the address of a server started with no --addr.
const defaultServer = "http://127.0.0.1:8080"

// discoverServer finds the URL a server on this machine wrote into its data
// directory's server.url ($SLUICE_DATA, else ./sluice-data, where the quick
// start runs both), for a client given neither --server nor SLUICE_SERVER.
//
// The file decides where the client sends its token, so it is trusted only
// when it cannot come from someone else: owned by this user, writable by
// nobody else, and naming a loopback address. A sluice-data directory in a
// cloned repository cannot send the token anywhere but this machine.
func discoverServer() (serverURL, from string) {
	dir := os.Getenv("SLUICE_DATA")
	if dir == "" {
		dir = "sluice-data"
	}
	path := filepath.Join(dir, "server.url")
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o022 != 0 {
		return "", ""
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
		return "", ""
	}
	raw, err := os.ReadFile(path)
	if err != nil || len(raw) > 1024 {
		return "", ""
	}
	u, err := url.Parse(strings.TrimSpace(string(raw)))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || !isLoopback(u.Hostname()) {
		return "", ""
	}
	return strings.TrimRight(u.String(), "/"), path
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// explainUnreachable turns "connection refused" from the server into what to
// do about it: the usual first error of someone who has not started a server,
// or started it elsewhere.
func explainUnreachable(err error, g *globals) error {
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return err
	}
	var ue *url.Error
	base := g.server
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			base = u.Scheme + "://" + u.Host
		}
	}
	where := ""
	if g.serverFrom != "" {
		where = " (from " + g.serverFrom + ")"
	}
	return fmt.Errorf("no sluice server at %s%s (connection refused); start one with `sluice server`, or point at yours with --server URL or SLUICE_SERVER", base, where)
}
