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
