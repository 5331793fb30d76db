package store

import "time"

// Rule is a stored event rule.
type Rule struct {
	Name       string
	Definition []byte // JSON owned by the service
	Created    time.Time
	Updated    time.Time
}
