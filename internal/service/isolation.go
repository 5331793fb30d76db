package service

import "sync"

// isolation is what the server says about the sandbox its workers run
// actions' code in, for the console and `sluice status`.
type isolation struct {
	mu        sync.Mutex
	desc      string
	sandboxed bool
}

// SetIsolation records which isolation the server's workers use: desc in a
// line, and whether actions' code runs in a sandbox.
func (s *Service) SetIsolation(desc string, sandboxed bool) {
	s.isolation.mu.Lock()
	s.isolation.desc, s.isolation.sandboxed = desc, sandboxed
	s.isolation.mu.Unlock()
}

// Isolation is what SetIsolation recorded; "" when nothing was.
func (s *Service) Isolation() (desc string, sandboxed bool) {
	s.isolation.mu.Lock()
	defer s.isolation.mu.Unlock()
	return s.isolation.desc, s.isolation.sandboxed
}
