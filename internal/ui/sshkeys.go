package ui

import (
	"net/http"

	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

// The SSH keys page: the keys that stand for tokens over git's SSH
// transport, the server's SSH address and host key, a form to add a key
// and a button to delete one.

const (
	actListSSHKeys  = "ListSSHPublicKeys"
	actAddSSHKey    = "UploadSSHPublicKey"
	actDeleteSSHKey = "DeleteSSHPublicKey"
)

type sshKeysPage struct {
	Keys   []service.SSHKeyInfo
	Host   *wire.SSHHost
	CanAdd bool
}

func (sshKeysPage) navKey() string { return "ssh-keys" }

func (s *Server) sshKeysPage(w http.ResponseWriter, r *http.Request, c *call) error {
	keys, err := s.svc.SSHKeys(r.Context())
	if err != nil {
		return err
	}
	page := sshKeysPage{Keys: keys, Host: s.sshHost, CanAdd: c.perm.Can(actAddSSHKey, "sshkey/*")}
	s.render(w, r, c, "sshkeys", "SSH keys", page)
	return nil
}

func sshKeyResource(r *http.Request) string { return "sshkey/" + r.PathValue("name") }

func sshKeyFormResource(r *http.Request) string { return "sshkey/" + r.PostFormValue("name") }

func (s *Server) addSSHKey(w http.ResponseWriter, r *http.Request, c *call) error {
	k, err := s.svc.AddSSHKey(r.Context(), service.SSHKeyRequest{
		Name: r.PostFormValue("name"), Principal: r.PostFormValue("principal"),
		PublicKey: []byte(r.PostFormValue("publicKey")),
		Holder:    c.who.Policy, HolderName: c.who.Name,
	})
	if err != nil {
		return err
	}
	return s.changed(w, r, c, "Added SSH key "+k.Name+" for "+k.Principal+" ("+k.Fingerprint+").", Prefix+"ssh-keys")
}

func (s *Server) deleteSSHKey(w http.ResponseWriter, r *http.Request, c *call) error {
	name := r.PathValue("name")
	if err := s.svc.DeleteSSHKey(r.Context(), name); err != nil {
		return err
	}
	return s.changed(w, r, c, "Deleted SSH key "+name+".", Prefix+"ssh-keys")
}
