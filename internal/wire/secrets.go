package wire

import (
	"time"
)

// SecretInfo is what the API shows of a secret: never its value.
type SecretInfo struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// ReencryptReport is what `sluice admin reencrypt` did, by name: never a
// value. Reencrypted were under a key that only decrypts and are now under
// the encrypting key; Current were already; Failed open with none of the
// server's keys and were left as they are.
type ReencryptReport struct {
	Reencrypted []string           `json:"reencrypted"`
	Current     int                `json:"current"`
	Failed      []ReencryptFailure `json:"failed"`
}

// ReencryptFailure is a sealed value that could not be re-encrypted.
type ReencryptFailure struct {
	Name   string `json:"name"` // secret/NAME or accesskey/ID
	Reason string `json:"reason"`
}
