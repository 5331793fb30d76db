package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPermissions: tokens with a policy file of their own, an expiry, the
// 403 that names what is missing, and revocation, all through the CLI.
func TestPermissions(t *testing.T) {
	t.Parallel()
	s := startServer(t)
	dir := s.scratch("permissions")
	for _, name := range []string{"app-web", "app-prod"} {
		file := filepath.Join(dir, name+".yml")
		writeFile(t, file, "name: "+name+"\nstages:\n  - name: S\n    actions:\n      - name: a\n        provider: Noop\n")
		s.apply(file)
	}
	policy := filepath.Join(dir, "deployer.yml")
	writeFile(t, policy, `# Deploys the app's pipelines, never production's.
Statement:
  - Sid: Look
    Effect: Allow
    Action: ["sluice:Get*", "sluice:List*"]
    Resource: "*"
  - Sid: Deploy
    Effect: Allow
    Action: sluice:StartPipelineExecution
    Resource: pipeline/app-*
  - Sid: NotProd
    Effect: Deny
    Action: "sluice:*"
    Resource: pipeline/app-prod
`)
	// The token alone on standard output.
	out := s.ok("token", "create", "deployer", "--policy", policy, "--expires", "30d")
	deployer := strings.TrimSpace(out)
	if !strings.HasPrefix(deployer, "sluice_") || strings.Count(out, "\n") != 1 {
		t.Fatalf("token create printed %q", out)
	}
	list := s.ok("token", "list")
	wantContains(t, "token list", list, "NAME", "POLICY", "CREATED", "EXPIRES", "deployer.yml", "never")
	if strings.Contains(list, deployer) {
		t.Errorf("token list shows a secret:\n%s", list)
	}
	for _, line := range lines(list) {
		if strings.HasPrefix(line, "deployer ") && (strings.Contains(line, "never") || !strings.Contains(line, time.Now().AddDate(0, 0, 30).Format("2006-01-02"))) {
			t.Errorf("deployer's line: %q", line)
		}
	}

	as := func(args ...string) result { return runCLI(t, cliEnv(s.url, deployer), args...) }
	if r := as("start", "app-web"); r.code != 0 {
		t.Errorf("deployer starts app-web: %s", r)
	}
	r := as("pipeline", "delete", "app-web")
	wantContains(t, "deployer deletes app-web", r.stderr, "token deployer (policy deployer.yml) is not allowed sluice:DeletePipeline on pipeline/app-web")
	r = as("start", "app-prod")
	wantContains(t, "deployer starts app-prod", r.stderr,
		`is not allowed sluice:StartPipelineExecution on pipeline/app-prod: explicitly denied by statement "NotProd"`)

	// Ready-made policies by name; read is still viewer.
	viewer := strings.TrimSpace(s.ok("token", "create", "ops", "--policy", "operator"))
	if r := runCLI(t, cliEnv(s.url, viewer), "start", "app-web"); r.code != 0 {
		t.Errorf("operator starts: %s", r)
	}
	r = runCLI(t, cliEnv(s.url, viewer), "token", "create", "x", "--policy", "admin")
	wantContains(t, "operator makes a token", r.stderr, "token ops (policy operator) is not allowed sluice:CreateToken on any token/* (refused before reading the request body)")

	// Mistakes in a policy file name file, line and field.
	bad := filepath.Join(dir, "bad.json")
	writeFile(t, bad, "{\n  \"Statement\": [{\n    \"Effect\": \"Allow\",\n    \"Action\": \"sluice:StartPipelineExecutoin\",\n    \"Resource\": \"*\"\n  }]\n}\n")
	r = s.fails("token", "create", "bad", "--policy", bad)
	wantContains(t, "a bad policy file", r.stderr, bad+`:4: Statement[0].Action: "sluice:StartPipelineExecutoin" is not a sluice action (did you mean "sluice:StartPipelineExecution"?)`)
	r = s.fails("token", "create", "bad", "--policy", "nobody")
	wantContains(t, "an unknown policy", r.stderr, `"nobody" is neither a ready-made policy (admin, operator, approver, viewer, worker, agent) nor a file`)
	r = s.fails("token", "create", "bad", "--policy", "viewer", "--expires", "soon")
	wantContains(t, "a bad expiry", r.stderr, "--expires", "720h or 30d")

	// Revoked, at once; delete is still revoke.
	s.ok("token", "revoke", "deployer")
	wantContains(t, "a revoked token", as("pipeline", "list").stderr, "invalid token")
	s.ok("token", "delete", "ops")
}

// TestServerTLS: off loopback the server wants TLS or --insecure; with a
// certificate, the CLI trusts it through --ca-cert or SLUICE_CA_CERT.
func TestServerTLS(t *testing.T) {
	singleServer(t, "TLS between the CLI and one server; the harness's load balancer speaks plain HTTP")
	t.Parallel()
	base := t.TempDir()
	r := runCLI(t, cliEnv("", ""), "server", "--data", filepath.Join(base, "refused"), "--addr", "0.0.0.0:0")
	if r.code == 0 {
		t.Fatalf("a clear-text server off loopback started: %s", r)
	}
	wantContains(t, "refusal", r.stderr, "refusing to listen on 0.0.0.0:0 without TLS", "--tls-cert", "--insecure")

	insecure := startServer(t, "--addr", "0.0.0.0:0", "--insecure")
	log := readFile(t, filepath.Join(insecure.base, "server-1.log"))
	wantContains(t, "the insecure server's log", log, "level=WARN", "without TLS")

	cert, key := writeSelfSigned(t, base)
	s := startServer(t, "--tls-cert", cert, "--tls-key", key)
	if !strings.HasPrefix(s.url, "https://127.0.0.1:") {
		t.Fatalf("URL %s", s.url)
	}
	r = runCLI(t, cliEnv(s.url, s.token), "pipeline", "list")
	wantContains(t, "without the CA", r.stderr, "certificate")
	if r := runCLI(t, cliEnv(s.url, s.token), "--ca-cert", cert, "pipeline", "list"); r.code != 0 {
		t.Errorf("with --ca-cert: %s", r)
	}
	if r := runCLI(t, append(cliEnv(s.url, s.token), "SLUICE_CA_CERT="+cert), "pipeline", "list"); r.code != 0 {
		t.Errorf("with SLUICE_CA_CERT: %s", r)
	}
	// The in-process workers run jobs behind TLS too.
	file := filepath.Join(s.scratch("tls"), "p.yml")
	writeFile(t, file, "name: p\nstages:\n  - name: S\n    actions:\n      - name: a\n        provider: Commands\n        commands: [echo over tls]\n")
	env := append(cliEnv(s.url, s.token), "SLUICE_CA_CERT="+cert)
	if r := runCLI(t, env, "pipeline", "apply", "-f", file); r.code != 0 {
		t.Fatalf("apply: %s", r)
	}
	r = runCLI(t, env, "start", "p", "--wait")
	if r.code != 0 || !strings.Contains(r.stdout+r.stderr, "Succeeded") {
		t.Errorf("start --wait over TLS: %s", r)
	}
}

// writeSelfSigned writes a self-signed certificate for 127.0.0.1 and its key.
func writeSelfSigned(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sluice e2e"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
