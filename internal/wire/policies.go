package wire

import (
	"encoding/json"
	"time"
)

// Policy is a named policy: a role pipelines and build projects run with.
type Policy struct {
	Name      string          `json:"name"`
	ReadyMade bool            `json:"readyMade,omitempty"`
	Document  json.RawMessage `json:"document"`
	Created   time.Time       `json:"created,omitzero"`
	Updated   time.Time       `json:"updated,omitzero"`
}
