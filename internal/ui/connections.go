package ui

import (
	"net/http"

	"github.com/sluice-ci/sluice/internal/service"
)

// actListConnections is the action the connections page needs.
const actListConnections = "ListConnections"

type connectionsPage struct{ Connections []service.ConnectionInfo }

// The page follows every change; its list is read again on each.
func (connectionsPage) liveURL() string { return Prefix + "live" }

func (connectionsPage) navKey() string { return "connections" }

func (s *Server) connectionsPage(w http.ResponseWriter, r *http.Request, c *call) error {
	cs, err := s.svc.Connections(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, c, "connections", "Connections", connectionsPage{Connections: cs})
	return nil
}
