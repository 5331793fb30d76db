// Package auth makes and hashes tokens: a token's secret is shown once, and
// only its SHA-256 is stored. What a token may do is its policy's business
// (package iam).
package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

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
