package service

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"golang.org/x/crypto/ssh"

	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/store"
)

// SSH keys let git clients reach hosted repositories over SSH, as
// CodeCommit's SSH public keys of IAM users do. A key stands for a principal
// (a token's name): what the token's policy allows over HTTPS (GitPull,
// GitPush) it allows over SSH, no more. Keys are looked up by fingerprint on
// every connection and every command, so a deleted key, or a revoked token,
// stops working at once.

// SSHKeyInfo is a stored SSH public key.
type SSHKeyInfo struct {
	Name        string    `json:"name"`
	Principal   string    `json:"principal"`
	Type        string    `json:"type"`        // ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa, …
	Fingerprint string    `json:"fingerprint"` // SHA256:… as ssh-keygen -l prints it
	Comment     string    `json:"comment,omitempty"`
	PublicKey   string    `json:"publicKey"` // the authorized_keys form, without the comment
	Created     time.Time `json:"created"`
}

// SSHKeyRequest asks to add a key.
type SSHKeyRequest struct {
	Name      string
	Principal string
	// PublicKey is one line of an OpenSSH public key file (key.pub), as
	// ssh-keygen writes it.
	PublicKey []byte
	// Holder is the policy of whoever asks, HolderName its name: a key
	// confers its principal's policy, so Holder must allow everything that
	// policy allows (iam.Covers), as for issuing a token.
	Holder     *iam.Policy
	HolderName string
}

var sshKeyName = lazyregexp.New(`^[A-Za-z0-9._@-]{1,64}$`)

// maxSSHPublicKey bounds a public key file: an RSA key of 16384 bits is
// under 3 KiB.
const maxSSHPublicKey = 16 << 10

// minRSABits is the shortest RSA key taken (OpenSSH refuses shorter ones too).
const minRSABits = 2048

// AddSSHKey stores an SSH public key for a principal. The key must be a
// plain public key (not a certificate) of a type OpenSSH still offers; DSA
// keys and RSA keys under 2048 bits are refused. A fingerprint can belong to
// one key only, so that a key always stands for one principal.
func (s *Service) AddSSHKey(ctx context.Context, req SSHKeyRequest) (SSHKeyInfo, error) {
	if !sshKeyName.MatchString(req.Name) {
		return SSHKeyInfo{}, Errorf(CodeInvalid, "name: %q is not a key name (1-64 of letters, digits and ._@-)", req.Name)
	}
	key, comment, err := parseSSHPublicKey(req.PublicKey)
	if err != nil {
		return SSHKeyInfo{}, err
	}
	if req.Principal == "" {
		return SSHKeyInfo{}, Errorf(CodeInvalid, "principal: missing: name the token whose policy the key is to have")
	}
	if strings.HasPrefix(req.Principal, "in-process-worker@") {
		return SSHKeyInfo{}, Errorf(CodeInvalid, "principal: %s is a worker's token, which has no use for git", req.Principal)
	}
	tok, err := s.tokenByName(ctx, req.Principal)
	if ErrorCode(err) == CodeNotFound {
		return SSHKeyInfo{}, Errorf(CodeInvalid, "principal: token %s not found: a key stands for a token, create it first (sluice token create)", req.Principal)
	}
	if err != nil {
		return SSHKeyInfo{}, err
	}
	var policies iam.Policies
	granted, err := policies.Of(tok.Policy, tok.PolicyDocument)
	if err != nil {
		return SSHKeyInfo{}, Errorf(CodeInvalid, "principal: token %s: its policy document no longer reads (%v)", tok.Name, err)
	}
	if ok, why := iam.Covers(req.Holder, granted); !ok {
		return SSHKeyInfo{}, Errorf(CodeForbidden, "a key for %s would hand on policy %s: it allows %s, which %s does not hold (you can hand on only what you hold)",
			tok.Name, iam.Describe(tok.Policy, tok.PolicyDocument), why, holderName(req.HolderName))
	}
	info := SSHKeyInfo{
		Name:        req.Name,
		Principal:   req.Principal,
		Type:        key.Type(),
		Fingerprint: ssh.FingerprintSHA256(key),
		Comment:     comment,
		PublicKey:   strings.TrimSpace(string(ssh.MarshalAuthorizedKey(key))),
		Created:     s.now(),
	}
	existing, err := s.SSHKeys(ctx)
	if err != nil {
		return SSHKeyInfo{}, err
	}
	for _, k := range existing {
		if k.Name == info.Name {
			return SSHKeyInfo{}, Errorf(CodeConflict, "ssh key %s exists already: delete it first", info.Name)
		}
		if k.Fingerprint == info.Fingerprint {
			return SSHKeyInfo{}, Errorf(CodeConflict, "this key (%s) is added already, as %s for %s: a key can stand for one principal only", info.Fingerprint, k.Name, k.Principal)
		}
	}
	raw, err := json.Marshal(info)
	if err != nil {
		return SSHKeyInfo{}, err
	}
	if err := s.store.PutDefinition(ctx, store.Definition{Kind: store.KindSSHKey, Name: info.Name, Document: raw, Created: info.Created, Updated: info.Created}); err != nil {
		return SSHKeyInfo{}, err
	}
	return info, nil
}

// parseSSHPublicKey reads one public key in the authorized_keys form (as a
// key.pub file holds it).
func parseSSHPublicKey(raw []byte) (ssh.PublicKey, string, error) {
	if len(raw) > maxSSHPublicKey {
		return nil, "", Errorf(CodeInvalid, "publicKey: larger than %d bytes: give the .pub file, not the private key", maxSSHPublicKey)
	}
	if bytes.Contains(raw, []byte("PRIVATE KEY")) {
		return nil, "", Errorf(CodeInvalid, "publicKey: this is a private key: give the public one (the .pub file next to it); never hand a private key to anyone")
	}
	text := strings.TrimSpace(string(raw))
	if text == "" {
		return nil, "", Errorf(CodeInvalid, "publicKey: empty: give the contents of an OpenSSH public key file (key.pub)")
	}
	if strings.Contains(text, "\n") {
		return nil, "", Errorf(CodeInvalid, "publicKey: more than one line: add one key at a time")
	}
	key, comment, options, _, err := ssh.ParseAuthorizedKey([]byte(text))
	if err != nil {
		return nil, "", Errorf(CodeInvalid, "publicKey: not an OpenSSH public key (%v); it reads like \"ssh-ed25519 AAAA… comment\"", err)
	}
	if len(options) > 0 {
		return nil, "", Errorf(CodeInvalid, "publicKey: authorized_keys options (%s) are not taken: give the key alone", strings.Join(options, ","))
	}
	if _, ok := key.(*ssh.Certificate); ok {
		return nil, "", Errorf(CodeInvalid, "publicKey: certificates are not taken: give the plain public key")
	}
	switch key.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoSKED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521, ssh.KeyAlgoSKECDSA256:
	case ssh.KeyAlgoRSA:
		ck, ok := key.(ssh.CryptoPublicKey)
		if !ok {
			return nil, "", Errorf(CodeInvalid, "publicKey: unreadable RSA key")
		}
		if rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey); !ok || rk.N.BitLen() < minRSABits {
			return nil, "", Errorf(CodeInvalid, "publicKey: RSA keys must have at least %d bits; make an ed25519 key (ssh-keygen -t ed25519)", minRSABits)
		}
	default:
		return nil, "", Errorf(CodeInvalid, "publicKey: %s keys are not taken; make an ed25519 key (ssh-keygen -t ed25519)", key.Type())
	}
	return key, strings.TrimSpace(comment), nil
}

// SSHKeys lists the SSH keys by name.
func (s *Service) SSHKeys(ctx context.Context) ([]SSHKeyInfo, error) {
	rows, err := s.store.Definitions(ctx, store.KindSSHKey)
	if err != nil {
		return nil, err
	}
	out := make([]SSHKeyInfo, 0, len(rows))
	for _, r := range rows {
		var k SSHKeyInfo
		if err := json.Unmarshal(r.Document, &k); err != nil {
			return nil, fmt.Errorf("decode ssh key %s: %w", r.Name, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// DeleteSSHKey deletes an SSH key; it stops working at once, also on the
// connections it opened (each command asks again).
func (s *Service) DeleteSSHKey(ctx context.Context, name string) error {
	err := s.store.DeleteDefinition(ctx, store.KindSSHKey, name)
	if errors.Is(err, store.ErrNotFound) {
		return Errorf(CodeNotFound, "ssh key %s not found", name)
	}
	return err
}

// SSHKeyByFingerprint returns the key whose SHA256 fingerprint is
// fingerprint and the token it stands for; CodeNotFound when no key has it,
// or when its token is gone (revoked). The keys are read anew on each call:
// there is no cache to go stale.
func (s *Service) SSHKeyByFingerprint(ctx context.Context, fingerprint string) (SSHKeyInfo, store.Token, error) {
	keys, err := s.SSHKeys(ctx)
	if err != nil {
		return SSHKeyInfo{}, store.Token{}, err
	}
	for _, k := range keys {
		if k.Fingerprint != fingerprint {
			continue
		}
		tok, err := s.tokenByName(ctx, k.Principal)
		if ErrorCode(err) == CodeNotFound {
			return k, store.Token{}, Errorf(CodeNotFound, "ssh key %s stands for token %s, which no longer exists", k.Name, k.Principal)
		}
		return k, tok, err
	}
	return SSHKeyInfo{}, store.Token{}, Errorf(CodeNotFound, "no ssh key of this server has fingerprint %s", fingerprint)
}
