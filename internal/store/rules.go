package store

import "time"

// Rule is a stored event rule.
type Rule struct {
	Name       string
	Definition []byte // JSON owned by the service
	Created    time.Time
	Updated    time.Time
	// CreatedSeq is the Seq of the last event written when the rule was
	// created: the rule sees the events after it. PutRule sets it when it
	// creates the rule, in the same statement, and a replacement keeps it;
	// the value given to PutRule is ignored.
	CreatedSeq int64
}
