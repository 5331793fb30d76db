// Package server is `sluice server`: the store, the artifact store, the service,
// the API, the sweeper and the in-process workers, wired together in one process.
package server

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sluice-ci/sluice/internal/process"
	"github.com/sluice-ci/sluice/internal/region"

	"github.com/sluice-ci/sluice/internal/access"
	"github.com/sluice-ci/sluice/internal/api"
	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/api/inproc"
	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/artifact/s3"
	"github.com/sluice-ci/sluice/internal/audit"
	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/awsapi"
	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsid"
	"github.com/sluice-ci/sluice/internal/event"
	"github.com/sluice-ci/sluice/internal/gitserver"
	"github.com/sluice-ci/sluice/internal/gitssh"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/logctx"
	"github.com/sluice-ci/sluice/internal/metrics"
	"github.com/sluice-ci/sluice/internal/mirror"
	"github.com/sluice-ci/sluice/internal/notify"
	"github.com/sluice-ci/sluice/internal/provider/ecrsource"
	"github.com/sluice-ci/sluice/internal/provider/gitsource"
	"github.com/sluice-ci/sluice/internal/provider/hostsource"
	"github.com/sluice-ci/sluice/internal/provider/lambda"
	"github.com/sluice-ci/sluice/internal/provider/registry"
	"github.com/sluice-ci/sluice/internal/provider/s3source"
	"github.com/sluice-ci/sluice/internal/replica"
	"github.com/sluice-ci/sluice/internal/sandbox"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/store"
	"github.com/sluice-ci/sluice/internal/store/postgres"
	"github.com/sluice-ci/sluice/internal/store/sqlite"
	"github.com/sluice-ci/sluice/internal/trigger"
	"github.com/sluice-ci/sluice/internal/ui"
	"github.com/sluice-ci/sluice/internal/wire"
	"github.com/sluice-ci/sluice/internal/worker"
)

// Config is the server's configuration.
type Config struct {
	DataDir string
	Addr    string
	// Workers is the number of in-process workers; 0 runs none (remote workers only).
	Workers int
	// Lease is how long a job stays with a worker between heartbeats.
	Lease time.Duration
	// SweepInterval is how often expired leases and timeouts are looked for.
	SweepInterval time.Duration
	// AlarmInterval is how often running deployments' alarms are read.
	AlarmInterval time.Duration
	// PollInterval is how often remote repositories are polled for changes.
	PollInterval time.Duration
	// Isolation is how actions' code is isolated (see package sandbox): auto
	// (bubblewrap where it works, else such actions are refused), bubblewrap
	// (refuse to start without it) or none (run it unsandboxed).
	Isolation string
	// Bwrap is the bubblewrap program to use; "" looks bwrap up in PATH.
	// Tests point it at a missing file to play a machine without one.
	Bwrap  string
	Logger *slog.Logger
	// ExternalURL is the server's address in links it sends (approval
	// notifications); by default its listening address.
	ExternalURL string
	// SMTP is the mail server notifications go through.
	SMTP notify.SMTP
	// Deliveries overrides how notifications are retried (tests shorten it).
	Deliveries event.DeliveryConfig
	// EventRetention is how long events are kept (0: for ever).
	EventRetention time.Duration
	// AuditRetention is how long the audit trail keeps records (DATA/audit.db);
	// 0 means 90 days, a negative value for ever.
	AuditRetention time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For the audit
	// trail believes for a request's source address.
	TrustedProxies []netip.Prefix
	// NoAudit turns the audit trail off. Only the benchmark that measures its
	// cost uses it.
	NoAudit bool
	// TLSCert and TLSKey are PEM files of the server's certificate (its
	// chain) and key: with them the API and the hosted repositories are
	// served over HTTPS only.
	TLSCert, TLSKey string
	// Insecure allows listening on an address other than loopback without
	// TLS, tokens and all in clear text; without it the server refuses.
	Insecure bool
	// Store is where the state lives: "" or "sqlite" for the embedded
	// database in DataDir, a postgres:// URL for PostgreSQL. Repositories,
	// keys and the audit trail stay in DataDir either way (artifacts too,
	// unless Artifacts says otherwise).
	Store string
	// Artifacts is where artifacts are kept: "" for DataDir/artifacts, another
	// directory, or s3://BUCKET/PREFIX?endpoint=HOST:PORT&region=R&tls=false
	// with the credentials in S3AccessKey and S3SecretKey.
	Artifacts                string
	S3AccessKey, S3SecretKey string
	// Region is the name of the region this server is: events, ARNs and
	// builds (AWS_REGION, AWS_DEFAULT_REGION, CODEBUILD_BUILD_ARN) carry it.
	// "" means "local". It is the home region: its store is Artifacts.
	Region string
	// Regions declares the other regions, each NAME=STORE as --region
	// takes it (STORE a directory or an s3:// URL as Artifacts): actions
	// whose region names one run on that region's workers, reading their
	// inputs from its store (see package region).
	Regions []string
	// AWSRegion and AWSAccount are the region and account the server's
	// events, ARNs and AWS-compatible endpoint (package awsapi) carry, as
	// CodePipeline's carry the pipeline's (see package awsid): "" takes
	// Region when it is written like an AWS region, else us-east-1; and
	// 000000000000.
	AWSRegion, AWSAccount string
	// AWSClock is the clock the AWS endpoint checks signatures' dates
	// against; time.Now when nil (tests move it to replay a request later).
	AWSClock func() time.Time
	// SSHAddr is where the hosted repositories are also served over SSH
	// (package gitssh); "" serves no SSH.
	SSHAddr string
	// SSHHostKeyFile is the SSH host key: "" for DataDir's, made on first
	// start. Replicas behind one SSH address share one file, or clients
	// see the host key change from one connection to the next.
	SSHHostKeyFile string
	// SecretKeyFile and SecretKey (base64, from SLUICE_SECRET_KEY) give the
	// key that encrypts secrets, which every replica sharing a store must
	// share; without either it is DataDir/secret.key, made on first start.
	SecretKeyFile, SecretKey string
	// DecryptKeyFiles and DecryptKeys (base64, comma-separated, from
	// SLUICE_DECRYPT_SECRET_KEYS) give keys that only decrypt: the keys of
	// a rotation of the secret key (docs/OPERATIONS.md).
	DecryptKeyFiles []string
	DecryptKeys     string
	// ReposDir is where hosted repositories live: "" for DataDir/repos;
	// replicas sharing a store mount one shared directory here.
	ReposDir string
}

// mirrorStatuses keeps the mirrors' statuses in the store's trigger state
// (keys "mirror:REPO/MIRROR"), read by every replica.
type mirrorStatuses struct{ store store.Store }

func (m mirrorStatuses) PutMirrorStatus(ctx context.Context, key string, raw []byte) error {
	return m.store.UpdateGlobal(ctx, func(tx store.Tx) error {
		return tx.SetTriggerState(ctx, "mirror:"+key, string(raw), time.Now())
	})
}

func (m mirrorStatuses) MirrorStatus(ctx context.Context, key string) ([]byte, error) {
	v, err := m.store.TriggerState(ctx, "mirror:"+key)
	if err != nil || v == "" {
		return nil, err
	}
	return []byte(v), nil
}

// pushedKind prefixes the announcement of a push to a hosted repository
// (followed by its name): the replica running the mirrors learns of pushes
// other replicas served.
const pushedKind = "pushed:"

// Server is a running sluice server.
type Server struct {
	cfg      Config
	store    store.Store
	svc      *service.Service
	poller   *trigger.Poller
	schedule *trigger.Scheduler
	events   *event.Runner
	repos    *gitserver.Server
	audit    *audit.Log // nil with NoAudit
	http     *http.Server
	listener net.Listener
	tls      bool         // listener speaks TLS
	inner    net.Listener // with TLS: loopback plain HTTP for what the in-process workers run (git, functions)
	log      *slog.Logger
	ssh      *gitssh.Server // nil without SSHAddr
	mirrors  *mirror.Runner
	sshLn    net.Listener
	ops      operations // metrics, readiness, other replicas (operations.go)

	lock *os.File // holds the data directory's lock while the server lives
	iso  *sandbox.Isolation
	undo undoStack // what Open built, for Close
	// inproc serves the in-process workers' API calls with the server's
	// own handler, in memory (see inProcessClient).
	inproc *inproc.Transport

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Files the server writes in its data directory.
const (
	// AdminTokenFile holds the admin token, written on first start.
	AdminTokenFile = "admin.token"
	// URLFile holds the server's URL, written once it listens.
	URLFile = "server.url"
	// SecretKeyFile holds the key that encrypts secrets. It is kept apart from
	// the database: a copy of sluice.db alone reveals no secret.
	SecretKeyFile = "secret.key"
	// AuditFile is the audit trail's database, apart from sluice.db so that
	// audit writes never queue behind the store's writer.
	AuditFile = "audit.db"
)

// openStore opens the store cfg.Store names.
func openStore(ctx context.Context, cfg Config) (store.Store, error) {
	switch {
	case cfg.Store == "" || cfg.Store == "sqlite":
		return sqlite.Open(ctx, filepath.Join(cfg.DataDir, "sluice.db"))
	case strings.HasPrefix(cfg.Store, "postgres://") || strings.HasPrefix(cfg.Store, "postgresql://"):
		return postgres.Open(ctx, cfg.Store)
	default:
		// The value is not repeated: a mistyped URL may hold a password.
		return nil, errors.New("store: want sqlite or a postgres:// URL")
	}
}

// openArtifacts opens the artifact store cfg.Artifacts names. An S3 bucket is
// checked at once, so a wrong bucket or key fails the start, not the first job.
func openArtifacts(ctx context.Context, cfg Config) (artifact.Store, error) {
	if !strings.HasPrefix(cfg.Artifacts, "s3://") {
		dir := cfg.Artifacts
		if dir == "" {
			dir = filepath.Join(cfg.DataDir, "artifacts")
		}
		return artifact.NewDisk(dir)
	}
	sc, err := s3.ParseURL(cfg.Artifacts)
	if err != nil {
		return nil, err
	}
	sc.AccessKey, sc.SecretKey = cfg.S3AccessKey, cfg.S3SecretKey
	arts, err := s3.New(sc)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := arts.Check(ctx); err != nil {
		return nil, fmt.Errorf("artifact store %s: %w", sc, err)
	}
	return arts, nil
}

// Open opens the data directory, creating it and the admin token on first start,
// and listens on cfg.Addr. Run serves; Close releases what Open built.
//
// Each thing Open builds registers how to undo it as it is built, so that an
// error at any step undoes exactly what was built before it, last first, and
// Close undoes all of it the same way.
func Open(ctx context.Context, cfg Config) (_ *Server, err error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	// Lines logged while handling a request, an execution or a job name
	// them (logctx): request-id, pipeline, execution_id, stage, action, job_id.
	cfg.Logger = logctx.Logger(cfg.Logger)
	if cfg.Lease == 0 {
		cfg.Lease = 30 * time.Second
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = time.Minute
	}
	if cfg.Region != "" && !region.ValidName(cfg.Region) {
		return nil, fmt.Errorf("--region %q: a region name is lower-case letters, digits and hyphens, such as us-east-1 or local", cfg.Region)
	}
	awsRegion := cfg.AWSRegion
	if awsRegion == "" && awsid.IsRegion(cfg.Region) {
		awsRegion = cfg.Region
	}
	awsID, err := awsid.New(awsRegion, cfg.AWSAccount)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	// A job runs in its own directory: every path it is given must be
	// absolute, or it names nothing there.
	if abs, err := filepath.Abs(cfg.DataDir); err == nil {
		cfg.DataDir = abs
	}
	iso, err := sandbox.New(cfg.Isolation, cfg.Bwrap, cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("--isolation: %w", err)
	}
	s := &Server{cfg: cfg, log: cfg.Logger, iso: iso, tls: cfg.TLSCert != ""}
	defer func() {
		if err != nil {
			s.undo.unwind()
		}
	}()

	if s.lock, err = lockDataDir(cfg.DataDir); err != nil {
		return nil, err
	}
	s.undo.push(s.lock.Close)
	if s.store, err = openStore(ctx, cfg); err != nil {
		return nil, err
	}
	s.undo.push(s.store.Close)
	arts, err := openArtifacts(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// The disk store holds its directory open; S3's holds nothing.
	if c, ok := arts.(io.Closer); ok {
		s.undo.push(c.Close)
	}
	regions, closers, err := openRegions(ctx, cfg, arts)
	for _, c := range closers {
		s.undo.push(c.Close)
	}
	if err != nil {
		return nil, err
	}
	if err := ensureAdminToken(ctx, s.store, cfg.DataDir, cfg.shared()); err != nil {
		return nil, err
	}
	key, err := secretKeyFrom(cfg.SecretKeyFile, cfg.SecretKey)
	if err != nil {
		return nil, err
	}
	decryptKeys, err := decryptKeysFrom(cfg.DecryptKeyFiles, cfg.DecryptKeys)
	if err != nil {
		return nil, err
	}
	if key == nil {
		if cfg.shared() {
			cfg.Logger.Warn("secret key: from this replica's data directory; replicas sharing a store must share it (--secret-key-file or " + SecretKeyEnv + ")")
		}
		if key, err = loadSecretKey(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	if s.listener, s.inner, err = listen(cfg); err != nil {
		return nil, err
	}
	// Run's shutdown closes them too; a second close only reports that.
	s.undo.push(func() error { closeListeners(s.listener, s.inner); return nil })

	base := cfg.ExternalURL
	if base == "" {
		base = s.URL()
	}
	// The service and the hosted repositories need each other: pushes go to
	// the service, which reads the repositories. No push arrives before Run
	// serves, by when svc is set.
	var svc *service.Service
	onPush := pushHandler(&svc)
	withMirrors := func(ctx context.Context, p gitserver.Push) error {
		if err := onPush(ctx, p); err != nil {
			return err
		}
		s.mirrors.Pushed(p.Repository) // set below, before any push arrives
		if s.ops.coord != nil {
			// The mirrors may run on another replica.
			s.ops.coord.Publish(pushedKind + p.Repository)
		}
		return nil
	}
	reposDir := cfg.ReposDir
	if reposDir == "" {
		reposDir = filepath.Join(cfg.DataDir, "repos")
	}
	if s.repos, err = gitserver.New(reposDir, api.GitAuthorizer{Tokens: serviceTokens{&svc}}, withMirrors, cfg.Logger); err != nil {
		return nil, err
	}
	s.ops.metrics = metrics.New()
	deliveries := cfg.Deliveries
	deliveries.SMTP = cfg.SMTP
	deliveries.Observe = s.ops.metrics.Delivered
	svc = service.New(s.store, arts, service.Config{Lease: cfg.Lease, SweepInterval: cfg.SweepInterval, Logger: cfg.Logger, SecretKey: key, DecryptKeys: decryptKeys,
		BaseURL: base, Region: cfg.Region, AWS: awsID, Regions: regions,
		Repos:     s.repos,
		Isolation: iso.Describe(), Sandboxed: iso.Enabled(),
	})
	s.svc = svc
	checkSecretKeys(ctx, svc, cfg.Logger)
	svc.SetAlarmCheck(deployAlarmCheck(svc), cfg.AlarmInterval)
	svc.SetMeter(s.ops.metrics)
	regions.ObserveCopies(s.ops.metrics.RegionCopies())
	s.ops.metrics.QueueDepth(svc.QueueDepth)
	if cfg.shared() {
		s.ops.coord = replica.New(cfg.Store, cfg.Logger)
		s.ops.coord.Leading = s.ops.metrics.Leading
		svc.SetPublisher(s.ops.coord.Publish)
		// Remembered tokens are trusted only while this replica hears
		// the others' revocations.
		svc.SetTokenCacheUsable(s.ops.coord.Listening)
		svc.SetReplicaMutex(s.ops.coord.Mutex)
		s.undo.push(func() error { s.ops.coord.Close(); return nil })
	}
	s.mirrors = mirror.New(s.repos, svc, cfg.Logger)
	if cfg.shared() {
		s.mirrors.SetShared(mirrorStatuses{s.store})
	}
	actionConn := func(ctx context.Context, pipeline, stage, action string) (*awsconn.Conn, error) {
		settings, err := svc.ActionConnection(ctx, pipeline, stage, action)
		if err != nil {
			return nil, err
		}
		return awsconn.Open(ctx, settings, awsconn.DefaultSessionName)
	}
	objects := s3source.Revisions{Conn: actionConn}
	s.poller = trigger.NewPoller(svc, gitsource.RemoteHeads{Env: worker.DefaultBaseEnv()}).
		FollowObjects(objects).
		WithImages(ecrsource.Digests{}).
		WithECR(ecrsource.ECRDigests{Conn: actionConn}).
		WithHosts(hostsource.Heads{Env: worker.DefaultBaseEnv(), Conn: svc.ActionGitConnection})
	s.schedule = trigger.NewScheduler(svc)
	s.events = event.NewRunner(svc, event.Config{Deliveries: deliveries, Functions: ruleFunctions{serverURL: base, provider: lambda.Provider{Isolation: iso}, creds: svc, region: awsID.Region}})
	svc.SetApprovalNotifier(s.events)
	if s.ops.coord != nil {
		s.events.SetPublisher(s.ops.coord.Publish)
	}

	apiServer := api.New(svc, svc, s.repos, cfg.Logger)
	apiServer.SetMirrors(s.mirrors)
	apiServer.SetObjectVersions(objects)
	apiServer.SetOperations(api.Operations{Metrics: s.ops.metrics.Handler(), Ready: s.ready(arts)})
	var handler http.Handler = apiServer
	if !cfg.NoAudit {
		retention := cfg.AuditRetention
		if retention == 0 {
			retention = 90 * 24 * time.Hour
		}
		auditOpts := audit.Options{Retention: retention, Logger: cfg.Logger}
		if cfg.shared() {
			// One trail for every replica sharing the database.
			s.audit, err = audit.OpenPostgres(ctx, cfg.Store, auditOpts)
		} else {
			s.audit, err = audit.Open(ctx, filepath.Join(cfg.DataDir, AuditFile), auditOpts)
		}
		if err != nil {
			return nil, err
		}
		// Writes what requests still running handed over; later ones are
		// refused, and logged.
		s.undo.push(s.audit.Close)
		handler = apiServer.Audited(s.audit, api.AuditOptions{TrustedProxies: cfg.TrustedProxies, Observe: s.ops.metrics.Request})
	}
	var sshHost *wire.SSHHost
	if cfg.SSHAddr != "" {
		if sshHost, err = s.openSSH(); err != nil {
			return nil, err
		}
		apiServer.SetSSHHost(*sshHost)
	}
	// The web console, at /ui/ (and / sends browsers there).
	consoleCfg := ui.Config{Service: svc, Tokens: svc, Repos: s.repos, Logger: cfg.Logger, SSHHost: sshHost, Mirrors: s.mirrors}
	if s.audit != nil {
		consoleCfg.Audit = s.audit
	}
	if cfg.shared() {
		consoleCfg.Sessions = consoleSessions{s.store}
	}
	console, err := ui.New(consoleCfg)
	if err != nil {
		return nil, err
	}
	// Run's shutdown closes it; Close does when Run never ran.
	s.undo.push(func() error { console.Close(); return nil })
	// The AWS-compatible endpoint: CodePipeline's JSON API at POST /.
	awsCfg := awsapi.Config{Service: svc, Keys: svc, Guard: &access.Guard{Tokens: svc}, ID: awsID, BaseURL: base, Logger: cfg.Logger, Now: cfg.AWSClock, Repos: s.repos}
	if s.audit != nil {
		awsCfg.Trail = s.audit
	}
	awsEndpoint := awsapi.New(awsCfg)
	mux := http.NewServeMux()
	mux.Handle("/", handler)
	mux.Handle("POST /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if awsapi.IsRequest(r) {
			awsEndpoint.ServeHTTP(w, r)
			return
		}
		handler.ServeHTTP(w, r)
	}))
	// Custom actions' job workers get and put their artifacts here, with
	// S3 clients and the job's artifactCredentials.
	mux.HandleFunc(awsapi.ArtifactPrefix, awsEndpoint.ServeArtifact)
	mux.Handle(ui.Prefix, console)
	mux.Handle("GET /{$}", http.RedirectHandler(ui.Prefix, http.StatusSeeOther))
	s.http = &http.Server{
		// No WriteTimeout: clones and artifact downloads may take long.
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
	}
	s.http.RegisterOnShutdown(console.Close)
	s.inproc = &inproc.Transport{Handler: mux, RemoteAddr: sourceAddr(s.workerURL()), Logger: cfg.Logger}
	return s, nil
}

// inProcessClient is a client of this server's API for code running in its
// process (the in-process workers): its requests go through the very
// handler HTTP requests go through, authorization, audit trail, limits and
// all, but in memory, without a connection (package inproc). Its base URL
// is workerURL, which it hands on to what must reach the server from
// another process (a function's job token goes with it).
func (s *Server) inProcessClient(token string) *client.Client {
	return client.New(s.workerURL(), token, client.WithHTTPClient(&http.Client{Transport: s.inproc}))
}

// sourceAddr is the address a connection from this machine to the server
// at url comes from, as the audit trail would see it: the server's own
// address, or loopback when it listens on every address.
func sourceAddr(url string) string {
	host := strings.TrimPrefix(strings.TrimPrefix(url, "http://"), "https://")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		ip = netip.MustParseAddr("127.0.0.1")
	case ip.IsUnspecified() && ip.Is6():
		ip = netip.IPv6Loopback()
	case ip.IsUnspecified():
		ip = netip.MustParseAddr("127.0.0.1")
	}
	return netip.AddrPortFrom(ip, 0).String()
}

// undoStack holds how to undo each thing Open built, in the order built.
type undoStack []func() error

func (u *undoStack) push(undo func() error) { *u = append(*u, undo) }

// unwind undoes everything, last built first, once: a second call finds
// nothing left.
func (u *undoStack) unwind() error {
	var errs []error
	for i := len(*u) - 1; i >= 0; i-- {
		errs = append(errs, (*u)[i]())
	}
	*u = nil
	return errors.Join(errs...)
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// URL is the server's base URL.
func (s *Server) URL() string {
	if s.tls {
		return "https://" + s.Addr()
	}
	return "http://" + s.Addr()
}

// workerURL is where what the in-process workers run (git, functions)
// reaches the API, and the base URL of their own client, whose calls stay
// in the process (inProcessClient): the server's own URL, or with TLS its
// loopback listener, so that those commands need not trust the certificate.
func (s *Server) workerURL() string {
	if s.inner != nil {
		return "http://" + s.inner.Addr().String()
	}
	return s.URL()
}

// ensureAdminToken creates the admin token on first start. The token file is the
// only copy of the secret; the store keeps its hash.
//
// On a shared store (shared), a replica started without the file finds the
// admin token another replica made and leaves it: replacing it would lock
// out whoever holds the first replica's file.
func ensureAdminToken(ctx context.Context, st store.Store, dir string, shared bool) error {
	path := filepath.Join(dir, AdminTokenFile)
	raw, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read admin token: %w", err)
	}
	if token := strings.TrimSpace(string(raw)); token != "" {
		// A crash between storing the hash and writing the file, or a database
		// restored without its token: the file is what the user holds, so it wins.
		if _, err := st.Token(ctx, api.HashToken(token)); errors.Is(err, store.ErrNotFound) {
			return st.PutToken(ctx, store.Token{Name: "admin", Hash: api.HashToken(token), Policy: iam.PolicyAdmin, Created: time.Now().UTC()})
		} else if err != nil {
			return err
		}
		return nil
	}
	if shared {
		if found, err := hasAdmin(ctx, st); err != nil {
			return err
		} else if found {
			return nil
		}
	}
	token := newToken()
	if err := st.PutToken(ctx, store.Token{Name: "admin", Hash: api.HashToken(token), Policy: iam.PolicyAdmin, Created: time.Now().UTC()}); err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(token+"\n"), 0o600)
}

// loadSecretKey reads the secret key, making it on first start.
func loadSecretKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, SecretKeyFile)
	key, err := os.ReadFile(path)
	switch {
	case err == nil && len(key) == service.SecretKeySize:
		return key, nil
	case err == nil:
		return nil, fmt.Errorf("%s: want %d bytes, found %d; restore it from a backup", path, service.SecretKeySize, len(key))
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	key = make([]byte, service.SecretKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, key, 0o600); err != nil {
		return nil, err
	}
	return key, nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func newToken() string { return auth.NewToken() }

// Run serves until ctx ends, then shuts down: the HTTP server stops taking
// requests, in-process workers abandon their jobs (which other workers, or this
// server after a restart, pick up when the leases end).
func (s *Server) Run(ctx context.Context) error {
	ctx, s.cancel = context.WithCancel(ctx)
	defer s.cancel()

	// In-process workers use a token of their own, made anew on every start; it
	// is named after the host so that replicas sharing a store keep theirs.
	workerToken := newToken()
	host, _ := os.Hostname()
	if err := s.store.PutToken(ctx, store.Token{Name: workerTokenName(host, s.cfg.DataDir), Hash: api.HashToken(workerToken), Policy: iam.PolicyWorker, Created: time.Now().UTC()}); err != nil {
		return err
	}
	// This replica's last worker token (and an admin token Open replaced)
	// is forgotten by the replicas that remembered it.
	s.svc.TokensChanged()

	// Pushes accepted before a crash whose triggers did not run yet.
	if err := s.repos.Recover(ctx); err != nil {
		s.log.Error("replay spooled pushes", "err", err)
	}

	errc := make(chan error, 3)
	// net/http's own complaints (a failed TLS handshake, a client speaking
	// plain HTTP to the TLS port) go to the server's log, not to stderr.
	s.http.ErrorLog = slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)
	go func() { errc <- s.http.Serve(s.listener) }()
	if s.inner != nil {
		go func() { errc <- s.http.Serve(s.inner) }()
	}

	// Work that must happen once across the replicas sharing the store,
	// each loop under its own name (its advisory lock, its leader metric).
	singletons := []struct {
		name string
		loop func(context.Context)
	}{
		{"sweeper", s.svc.RunSweeper},
		{"reactor", s.svc.RunReactor},
		{"deliveries", s.events.RunDeliveries},
		{"rules", s.events.RunRules},
		{"retention", func(ctx context.Context) { s.svc.RunEventPruner(ctx, s.cfg.EventRetention, time.Hour) }},
		{"poller", func(ctx context.Context) { s.poller.Run(ctx, s.cfg.PollInterval) }},
		{"schedules", func(ctx context.Context) { s.schedule.Run(ctx, time.Second) }},
		{"push-replay", s.replayPushes},
		{"mirrors", s.mirrors.Run},
		{"deployment-alarms", s.svc.RunDeployAlarms},
	}
	for _, sg := range singletons {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.ops.singleton(ctx, sg.name, sg.loop)
		}()
	}
	if s.ops.coord != nil {
		// Changes other replicas commit wake this one's long polls, gate
		// waits and live pages.
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.ops.coord.Run(ctx, func(kind string) {
				if repo, ok := strings.CutPrefix(kind, pushedKind); ok {
					s.mirrors.Pushed(repo)
					return
				}
				if kind == "" {
					// Announcements may have been missed: a push mirror
					// with nothing new pushes nothing.
					s.mirrors.PushedAll()
				}
				if kind == event.ChangeDeliveries || kind == "" {
					s.events.Wake()
				}
				if kind != event.ChangeDeliveries {
					s.svc.Wake(kind)
				}
			})
		}()
	}

	var workerClient *client.Client
	if s.cfg.Workers > 0 {
		workRoot := filepath.Join(s.cfg.DataDir, "work")
		if n := process.KillStale(workRoot); n > 0 {
			s.log.Warn("killed sandboxes left by an earlier run", "count", n)
		}
		if err := os.RemoveAll(workRoot); err != nil {
			return fmt.Errorf("clean work directory: %w", err)
		}
		if err := os.MkdirAll(workRoot, 0o700); err != nil {
			return fmt.Errorf("create work directory: %w", err)
		}
		workerClient = s.inProcessClient(workerToken)
		instance := newToken()[7:15]
		for i := range s.cfg.Workers {
			w := &worker.Worker{
				ID:          fmt.Sprintf("%s-%s-%d", host, instance, i),
				API:         workerClient,
				Providers:   registry.Implementations(registry.Options{ServerURL: s.workerURL(), Token: workerToken, Isolation: s.iso}),
				WorkRoot:    workRoot,
				BaseEnv:     worker.DefaultBaseEnv(),
				ScratchRoot: worker.DefaultScratchRoot(),
				Logger:      s.log,
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				w.Run(ctx)
			}()
		}
	}
	// Scripts and tests that start the server on port 0 read the address here.
	if err := writeFileAtomic(filepath.Join(s.cfg.DataDir, URLFile), []byte(s.URL()+"\n"), 0o644); err != nil {
		return err
	}
	if s.ssh != nil {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			if err := s.ssh.Serve(s.sshLn); err != nil {
				errc <- err
			}
		}()
		s.log.Info("git over ssh", "addr", s.sshLn.Addr().String(), "hostKey", s.ssh.Fingerprint())
	}
	s.ops.running.Store(true)
	s.log.Info("sluice server started", "addr", s.URL(), "data", s.cfg.DataDir, "workers", s.cfg.Workers, "isolation", s.iso.Describe())
	if !s.iso.Enabled() {
		s.log.Warn("actions that run code are not sandboxed on this server: " + s.iso.Describe())
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	// Long polls and event streams end now: otherwise Shutdown waits its
	// full timeout for them, and they outlive the store.
	s.svc.StopWaiting()
	// Workers first: their requests are cancelled with them, and their idle
	// connections closed, so the HTTP server has nothing left to wait for.
	s.cancel()
	if s.ssh != nil {
		s.ssh.Close()
	}
	s.wg.Wait()
	if workerClient != nil {
		workerClient.CloseIdleConnections()
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The workers' requests still being handled end as HTTP ones do,
	// before the store they use closes.
	inprocDone := make(chan struct{})
	go func() {
		s.inproc.Wait()
		close(inprocDone)
	}()
	select {
	case <-inprocDone:
	case <-shutdownCtx.Done():
		s.log.Warn("in-process requests still running at shutdown")
	}
	s.http.Shutdown(shutdownCtx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// serviceTokens finds tokens through the service *svc holds by the time
// requests arrive (its cache: see service.Service.Token).
type serviceTokens struct{ svc **service.Service }

func (t serviceTokens) Token(ctx context.Context, hash string) (service.Token, error) {
	return (*t.svc).Token(ctx, hash)
}

// pushHandler turns accepted pushes into triggers for the service *svc holds
// by the time pushes arrive.
func pushHandler(svc **service.Service) func(context.Context, gitserver.Push) error {
	return func(ctx context.Context, p gitserver.Push) error {
		sp := service.Push{ID: p.ID, Repository: p.Repository, Principal: p.Principal}
		for _, u := range p.Updates {
			su := service.RefUpdate{Ref: u.Ref, Old: u.Old, New: u.New, CommitsTruncated: u.CommitsTruncated}
			for _, c := range u.Commits {
				su.Commits = append(su.Commits, service.PushCommit{CommitID: c.ID, Message: c.Message,
					Author:    service.CommitUser{Name: c.Author.Name, Email: c.Author.Email, Date: c.Author.Date},
					Committer: service.CommitUser{Name: c.Committer.Name, Email: c.Committer.Email, Date: c.Committer.Date}})
			}
			sp.Updates = append(sp.Updates, su)
		}
		return (*svc).HandlePush(ctx, sp)
	}
}

// replayPushes retries, every half minute, pushes whose triggers failed.
func (s *Server) replayPushes(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.repos.Recover(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("replay spooled pushes", "err", err)
		}
	}
}

// Close releases everything Open built, last built first: the console, the
// audit trail, the listeners, the artifact store, the store and the data
// directory's lock. Call
// it after Run returned, or instead of Run; a second call does nothing.
func (s *Server) Close() error {
	return s.undo.unwind()
}

// lockDataDir takes an exclusive lock on the data directory, so that a second
// server started on it by mistake stops at once instead of sharing the SQLite
// file, the work directory and the in-process workers' token with the first.
// The kernel drops the lock when the process dies, however it dies.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "sluice.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder, _ := os.ReadFile(path)
		f.Close()
		msg := strings.TrimSpace(string(holder))
		if msg == "" {
			msg = "another process"
		}
		return nil, fmt.Errorf("data directory %s is in use by %s; stop it or choose another --data", dir, msg)
	}
	f.Truncate(0)
	fmt.Fprintf(f, "sluice server pid %d", os.Getpid())
	return f, nil
}
