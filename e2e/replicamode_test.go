package e2e

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// Replica mode: with SLUICE_E2E_REPLICAS=N (N ≥ 2) every test's server is N
// `sluice server` replicas on one PostgreSQL database, sharing --repos and
// the secret key, behind a round-robin reverse proxy on 127.0.0.1 that
// stands for the load balancer: the CLI's, git's and the tests' own HTTP
// requests alternate between the replicas, one request to the next. The
// suite then checks that nothing a replica keeps to itself shows through.
// Tests that are about one server's data directory or its SQLite files skip
// themselves in this mode (singleServer), saying why.

// e2eReplicas is how many replicas stand behind each test's server; 1 (the
// usual single server on SQLite) unless SLUICE_E2E_REPLICAS says more.
func e2eReplicas() int {
	n, err := strconv.Atoi(os.Getenv("SLUICE_E2E_REPLICAS"))
	if err != nil || n < 2 {
		return 1
	}
	return n
}

// singleServer skips t in replica mode: what it checks belongs to one
// server process (its data directory, its SQLite files, its own start).
func singleServer(t *testing.T, why string) {
	t.Helper()
	if e2eReplicas() > 1 {
		t.Skip("single-server test, skipped with SLUICE_E2E_REPLICAS: " + why)
	}
}

// startReplicated is startServerEnv in replica mode: the server it returns
// stands for all the replicas (its url is the proxy's; boot, kill9 and
// shutdown act on every replica; its data directory is the first's).
func startReplicated(t *testing.T, n int, env []string, flags ...string) *server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + l.Addr().String()
	// Links the replicas send (commit statuses, functions' endpoint) name
	// the load balancer, as an operator's --external-url does.
	r := newReplicasEnv(t, n, env, append([]string{"--external-url", url}, flags...)...)
	first := r.all[0]
	p := &roundRobin{}
	p.set(r.all)
	srv := &http.Server{Handler: p}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return &server{t: t, base: first.base, data: first.data, url: url,
		token: first.token, flags: flags, env: env, replicas: r.all, front: p, repos: filepath.Join(r.shared, "repos")}
}

// roundRobin is the load balancer of replica mode: each request goes to the
// next replica in turn. It keeps the request's Host, as a load balancer
// does, so that URLs a replica makes from it name the proxy.
type roundRobin struct {
	mu      sync.Mutex
	targets []*url.URL
	next    atomic.Uint64
}

func (p *roundRobin) set(replicas []*server) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.targets = p.targets[:0]
	for _, s := range replicas {
		u, err := url.Parse(s.url)
		if err != nil {
			s.t.Fatal(err)
		}
		p.targets = append(p.targets, u)
	}
}

func (p *roundRobin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	target := p.targets[(p.next.Add(1)-1)%uint64(len(p.targets))]
	p.mu.Unlock()
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host
		},
		FlushInterval: -1, // event streams and long polls pass at once
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if r.Context().Err() != nil {
				return // the client gave up (a long poll it ended): nothing to say
			}
			http.Error(w, err.Error(), http.StatusBadGateway) // a replica just killed
		},
	}
	rp.ServeHTTP(w, r)
}
