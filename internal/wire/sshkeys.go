package wire

import (
	"strings"
	"time"
)

// UploadSSHPublicKeyRequest adds an SSH public key for a principal
// (UploadSSHPublicKey, as IAM names it).
type UploadSSHPublicKeyRequest struct {
	Name string `json:"name"`
	// Principal is the token whose policy the key has over SSH.
	Principal string `json:"principal"`
	// PublicKey is one line of an OpenSSH public key file (key.pub).
	PublicKey string `json:"publicKey"`
}

// SSHKey is a stored SSH public key.
type SSHKey struct {
	Name        string    `json:"name"`
	Principal   string    `json:"principal"`
	Type        string    `json:"type"`
	Fingerprint string    `json:"fingerprint"`
	Comment     string    `json:"comment,omitempty"`
	PublicKey   string    `json:"publicKey"`
	Created     time.Time `json:"created"`
}

// SSHHost is how git reaches the server over SSH.
type SSHHost struct {
	// Addr is the address the SSH server listens on, host:port.
	Addr string `json:"addr"`
	// HostKey is the server's public host key (authorized_keys form), for
	// a known_hosts line; HostKeyFingerprint its SHA256 fingerprint.
	HostKey            string `json:"hostKey"`
	HostKeyFingerprint string `json:"hostKeyFingerprint"`
}

// SSHKeyList is ListSSHPublicKeys' answer; Host is absent when the server
// does not serve SSH.
type SSHKeyList struct {
	Keys []SSHKey `json:"keys"`
	Host *SSHHost `json:"host,omitempty"`
}

// KnownHostsLine is the line of ~/.ssh/known_hosts for the server: OpenSSH
// names host:port as the host alone on port 22, else as [host]:port.
func (h SSHHost) KnownHostsLine() string {
	name := h.Addr
	if i := strings.LastIndexByte(h.Addr, ':'); i > 0 && h.Addr[i+1:] != "22" {
		name = "[" + strings.Trim(h.Addr[:i], "[]") + "]" + h.Addr[i:]
	} else if i > 0 {
		name = strings.Trim(h.Addr[:i], "[]")
	}
	return name + " " + h.HostKey
}
