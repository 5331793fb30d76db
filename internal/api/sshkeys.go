package api

import (
	"net/http"

	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire"
)

// SetSSHHost tells the API how git reaches the server over SSH, for
// ListSSHPublicKeys' answer (and `sluice status`). Call it before serving.
func (s *Server) SetSSHHost(h wire.SSHHost) { s.ssh = &h }

var resSSHKey = pathResource("sshkey", "name")

func (s *Server) sshKeyRoutes() {
	s.handle("GET /api/v1/ssh-keys", "ListSSHPublicKeys", resAll, func(w http.ResponseWriter, r *http.Request) error {
		keys, err := s.svc.SSHKeys(r.Context())
		if err != nil {
			return err
		}
		out := wire.SSHKeyList{Keys: make([]wire.SSHKey, 0, len(keys)), Host: s.ssh}
		for _, k := range keys {
			out.Keys = append(out.Keys, sshKeyView(k))
		}
		return writeJSON(w, http.StatusOK, out)
	})
	s.handle("POST /api/v1/ssh-keys", "UploadSSHPublicKey", bodyResource("sshkey", 64<<10, jsonName), func(w http.ResponseWriter, r *http.Request) error {
		var req wire.UploadSSHPublicKeyRequest
		if err := decode(r, &req); err != nil {
			return err
		}
		p := caller(r)
		ci := callInfoFrom(r.Context())
		ci.setParam("principal", req.Principal)
		k, err := s.svc.AddSSHKey(r.Context(), service.SSHKeyRequest{
			Name: req.Name, Principal: req.Principal, PublicKey: []byte(req.PublicKey),
			Holder: p.Policy, HolderName: p.Name,
		})
		if err != nil {
			return err
		}
		ci.setParam("fingerprint", k.Fingerprint)
		return writeJSON(w, http.StatusCreated, sshKeyView(k))
	})
	s.handle("DELETE /api/v1/ssh-keys/{name}", "DeleteSSHPublicKey", resSSHKey, func(w http.ResponseWriter, r *http.Request) error {
		if err := s.svc.DeleteSSHKey(r.Context(), r.PathValue("name")); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
}

func sshKeyView(k service.SSHKeyInfo) wire.SSHKey {
	return wire.SSHKey{Name: k.Name, Principal: k.Principal, Type: k.Type, Fingerprint: k.Fingerprint,
		Comment: k.Comment, PublicKey: k.PublicKey, Created: k.Created}
}
