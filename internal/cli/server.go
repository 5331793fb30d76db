//go:build !sluiceclient

package cli

import (
	"cmp"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sluice-ci/sluice/internal/server"
	"github.com/sluice-ci/sluice/internal/startgc"
)

func newServerCmd(g *globals) *cobra.Command {
	cfg := server.Config{}
	var logFormat string
	var regions []string
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the sluice server: API, engine, scheduler and in-process workers",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			startgc.Restore() // runs for days: the collector as usual
			if err := splitRegions(regions, &cfg); err != nil {
				return err
			}
			// Jobs run in directories of their own: a relative path given
			// to one (CODEBUILD_SRC_DIR, a sandbox's binds) would name
			// nothing there, so every configured path is made absolute now.
			for _, p := range []*string{&cfg.DataDir, &cfg.TLSCert, &cfg.TLSKey, &cfg.Artifacts, &cfg.SecretKeyFile, &cfg.ReposDir} {
				if *p == "" || strings.Contains(*p, "://") {
					continue
				}
				abs, err := filepath.Abs(*p)
				if err != nil {
					return fmt.Errorf("%s: %w", *p, err)
				}
				*p = abs
			}
			switch logFormat {
			case "text":
				cfg.Logger = slog.New(slog.NewTextHandler(g.errOut, nil))
			case "json":
				// One JSON object a line, for log shippers.
				cfg.Logger = slog.New(slog.NewJSONHandler(g.errOut, nil))
			default:
				return fmt.Errorf("--log-format %q: want text or json", logFormat)
			}
			// The password comes from the environment only, never a flag that
			// shows in the process list.
			cfg.SMTP.Password = os.Getenv("SLUICE_SMTP_PASSWORD")
			// S3 credentials too come from the environment only.
			cfg.S3AccessKey = cmp.Or(os.Getenv("SLUICE_S3_ACCESS_KEY"), os.Getenv("AWS_ACCESS_KEY_ID"))
			cfg.S3SecretKey = cmp.Or(os.Getenv("SLUICE_S3_SECRET_KEY"), os.Getenv("AWS_SECRET_ACCESS_KEY"))
			if cfg.Store == "" {
				cfg.Store = os.Getenv("SLUICE_STORE") // not the flag's default: --help would show a URL's password
			}
			// The secret key too: from a file or the environment, never a flag.
			cfg.SecretKey = os.Getenv(server.SecretKeyEnv)
			cfg.DecryptKeys = os.Getenv(server.DecryptKeysEnv)
			s, err := server.Open(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer s.Close()
			return s.Run(cmd.Context())
		},
	}
	def := os.Getenv("SLUICE_DATA")
	if def == "" {
		def = "sluice-data"
	}
	cmd.Flags().StringVar(&cfg.DataDir, "data", def, "data directory (env SLUICE_DATA)")
	cmd.Flags().StringVar(&cfg.Store, "store", "", "where state is kept: sqlite (the embedded default, in --data) or a postgres:// URL (env SLUICE_STORE; password in PGPASSWORD)")
	cmd.Flags().StringVar(&cfg.Artifacts, "artifacts", "", "where artifacts are kept: a directory (default DATA/artifacts) or s3://BUCKET/PREFIX?endpoint=HOST:PORT&region=R&tls=false (keys in env SLUICE_S3_ACCESS_KEY/SLUICE_S3_SECRET_KEY or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)")
	cmd.Flags().StringVar(&logFormat, "log-format", "text", "how the server logs to standard error: text (key=value) or json (one object a line)")
	cmd.Flags().StringVar(&cfg.SecretKeyFile, "secret-key-file", "", "file holding the 32-byte key that encrypts secrets, shared by every replica on one store (or base64 in env SLUICE_SECRET_KEY; default DATA/secret.key)")
	cmd.Flags().StringArrayVar(&cfg.DecryptKeyFiles, "decrypt-secret-key-file", nil, "file holding a 32-byte key that decrypts secrets but never encrypts: a key being rotated in or out (repeatable; or base64, comma-separated, in env SLUICE_DECRYPT_SECRET_KEYS); see docs/OPERATIONS.md")
	cmd.Flags().StringVar(&cfg.ReposDir, "repos", "", "directory of the hosted repositories, on a file system every replica mounts when several share a store (default DATA/repos)")
	cmd.Flags().StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&cfg.SSHAddr, "ssh-addr", "", "address to serve the hosted repositories over SSH on, e.g. 127.0.0.1:2222 or :22 (default: SSH off)")
	cmd.Flags().StringVar(&cfg.SSHHostKeyFile, "ssh-host-key-file", "", "the SSH host key, made there on first start; replicas behind one SSH address share one file (default DATA/ssh_host_ed25519_key)")
	cmd.Flags().StringArrayVar(&regions, "region", nil, "NAME: the name of this server's home region (default local), as builds (AWS_REGION) carry it, e.g. us-east-1 (events and ARNs carry --aws-region); "+
		"NAME=STORE (repeatable): another region, with its own artifact store, a directory or s3://BUCKET/PREFIX?endpoint=HOST:PORT&region=R&tls=false: actions whose region is NAME run on workers started with --region NAME")
	cmd.Flags().StringVar(&cfg.AWSRegion, "aws-region", "", "the AWS region events, ARNs and the AWS-compatible endpoint carry, as CodePipeline's do (default: --region when it is an AWS region such as eu-west-3, else us-east-1)")
	cmd.Flags().StringVar(&cfg.AWSAccount, "aws-account-id", "", "the 12-digit AWS account id events and ARNs carry (default 000000000000)")
	cmd.Flags().IntVar(&cfg.Workers, "workers", 4, "in-process workers (0 for none)")
	cmd.Flags().DurationVar(&cfg.Lease, "lease", 30*time.Second, "how long a worker holds a job between heartbeats")
	addIsolationFlags(cmd, &cfg.Isolation, &cfg.Bwrap)
	cmd.Flags().DurationVar(&cfg.PollInterval, "poll-interval", time.Minute, "how often remote repositories are polled for changes (PollForSourceChanges)")
	cmd.Flags().DurationVar(&cfg.SweepInterval, "sweep-interval", time.Second, "how often expired leases and action timeouts are looked for")
	cmd.Flags().DurationVar(&cfg.AlarmInterval, "deploy-alarm-interval", 10*time.Second, "how often a running deployment's alarms (its group's alarmConfiguration) are read")
	cmd.Flags().DurationVar(&cfg.EventRetention, "event-retention", 30*24*time.Hour, "how long events are kept (0: for ever); events a rule or the reactor has not read yet are kept regardless")
	cmd.Flags().StringVar(&cfg.ExternalURL, "external-url", "", "the server's address in links it sends, e.g. https://sluice.example.com (default: the listening address)")
	cmd.Flags().StringVar(&cfg.SMTP.Addr, "smtp-addr", "", "mail server for email notifications, host:port")
	cmd.Flags().StringVar(&cfg.SMTP.From, "smtp-from", "sluice@localhost", "sender of email notifications")
	cmd.Flags().StringVar(&cfg.SMTP.Username, "smtp-user", "", "user for SMTP AUTH (password in env SLUICE_SMTP_PASSWORD)")
	cmd.Flags().StringVar(&cfg.SMTP.TLS, "smtp-tls", "", "SMTP TLS: starttls, tls, none (default: STARTTLS when offered)")
	addAuditServerFlags(cmd, &cfg)
	cmd.Flags().StringVar(&cfg.TLSCert, "tls-cert", "", "PEM file of the server's certificate (and chain): serve HTTPS")
	cmd.Flags().StringVar(&cfg.TLSKey, "tls-key", "", "PEM file of the key of --tls-cert")
	cmd.Flags().BoolVar(&cfg.Insecure, "insecure", false, "allow listening on an address other than loopback without TLS (tokens in clear text)")
	return cmd
}

// splitRegions sorts the --region values: the one bare NAME is the home
// region, each NAME=STORE another region (checked by the server).
func splitRegions(values []string, cfg *server.Config) error {
	cfg.Region = "local"
	home := ""
	for _, v := range values {
		if strings.Contains(v, "=") {
			cfg.Regions = append(cfg.Regions, v)
			continue
		}
		if home != "" {
			return fmt.Errorf("--region %q: the home region is already %q; another region needs its store: --region %s=DIR or =s3://BUCKET/PREFIX", v, home, v)
		}
		home, cfg.Region = v, v
	}
	return nil
}

// addIsolationFlags adds --isolation, and the hidden --bwrap that tests use
// to play a machine without bubblewrap.
func addIsolationFlags(cmd *cobra.Command, isolation, bwrap *string) {
	cmd.Flags().StringVar(isolation, "isolation", "auto", "how actions' code (Commands, builds, command functions) is isolated: auto (bubblewrap; where it does not work such actions are refused), bubblewrap (refuse to start without it) or none (run it unsandboxed as this process's user)")
	cmd.Flags().StringVar(bwrap, "bwrap", "", "bubblewrap program to use (default: bwrap in PATH)")
	cmd.Flags().MarkHidden("bwrap")
}
