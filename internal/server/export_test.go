package server

import "github.com/sluice-ci/sluice/internal/api/client"

// InProcessClient is inProcessClient, for package server_test: a client
// whose calls go to the server as its in-process workers' do.
func (s *Server) InProcessClient(token string) *client.Client { return s.inProcessClient(token) }
