// Package auth holds what sluice knows of principals: tokens (only their hashes
// are stored) and the policies that say what a token may do.
//
// Three policies exist until IAM-like policies arrive: admin may do
// everything; read may look (GET requests, and fetch from hosted repositories)
// but change nothing; worker may only speak the job protocol and fetch from
// hosted repositories. The check lives here, in one place, so that it can be
// tightened without touching the handlers.
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
)

// Policies.
const (
	PolicyAdmin  = "admin"
	PolicyRead   = "read"
	PolicyWorker = "worker"
)

// ValidPolicy reports whether p names a policy a user may give a token.
func ValidPolicy(p string) bool {
	return p == PolicyAdmin || p == PolicyRead || p == PolicyWorker
}

// NewToken makes a new secret token. The prefix makes leaked tokens easy to
// find with secret scanners.
func NewToken() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return "sluice_" + hex.EncodeToString(b[:])
}

// HashToken is how tokens are stored: only their SHA-256.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// JobPolicy is the policy of a job token: it may answer for that one job and
// read and write its artifacts, nothing else.
func JobPolicy(jobID string) string { return "job:" + jobID }

// AllowsRequest reports whether a token with policy may make an API request.
func AllowsRequest(policy, method, path string) bool {
	jobs := strings.HasPrefix(path, "/api/v1/jobs/")
	if jobID, ok := strings.CutPrefix(policy, "job:"); ok && jobID != "" {
		rest, ok := strings.CutPrefix(path, "/api/v1/jobs/"+jobID+"/")
		switch {
		case !ok:
			return false
		case method == http.MethodPost:
			return rest == "success" || rest == "failure"
		case method == http.MethodGet:
			return strings.HasPrefix(rest, "inputs/")
		case method == http.MethodPut:
			return strings.HasPrefix(rest, "outputs/")
		}
		return false
	}
	switch policy {
	case PolicyAdmin:
		return true
	case PolicyWorker:
		return jobs
	case PolicyRead:
		return !jobs && (method == http.MethodGet || method == http.MethodHead)
	}
	return false
}

// AllowsGit reports whether a token with policy may fetch (write false) or push
// (write true) to hosted repositories.
func AllowsGit(policy string, write bool) bool {
	if write {
		return policy == PolicyAdmin
	}
	return ValidPolicy(policy)
}
