package wire

import "time"

// PutMirrorRequest adds or replaces a mirror of a hosted repository
// (PutRepositoryMirror).
type PutMirrorRequest struct {
	URL       string `json:"url"`
	Direction string `json:"direction"` // push or pull
	Username  string `json:"username,omitempty"`
	// PasswordSecret names the sluice secret holding the password or token.
	PasswordSecret string `json:"passwordSecret,omitempty"`
	// IntervalSeconds is how often a pull mirror fetches.
	IntervalSeconds int64 `json:"intervalSeconds,omitempty"`
}

// Mirror is a repository's mirror with what happened to it.
type Mirror struct {
	Name            string        `json:"name"`
	URL             string        `json:"url"`
	Direction       string        `json:"direction"`
	Username        string        `json:"username,omitempty"`
	PasswordSecret  string        `json:"passwordSecret,omitempty"`
	IntervalSeconds int64         `json:"intervalSeconds,omitempty"`
	Status          *MirrorStatus `json:"status,omitempty"`
}

// MirrorStatus is what happened to a mirror since the server started.
type MirrorStatus struct {
	LastAttempt *time.Time `json:"lastAttempt,omitempty"`
	LastSuccess *time.Time `json:"lastSuccess,omitempty"`
	LastError   string     `json:"lastError,omitempty"`
	Failures    int        `json:"failures,omitempty"`
	NextAttempt *time.Time `json:"nextAttempt,omitempty"`
	// Pending says a push mirror has changes not yet pushed.
	Pending bool `json:"pending,omitempty"`
}

// MirrorList is ListRepositoryMirrors' answer.
type MirrorList struct {
	Mirrors []Mirror `json:"mirrors"`
}
