package pipeline

import "strings"

// ObjectSource is an S3 source action and the stage it is in.
type ObjectSource struct {
	Stage  string
	Action Action
}

// ObjectSources lists p's S3 source actions that read s3://bucket/key,
// what an object store's notification of a new version of that object
// concerns.
func (p *Pipeline) ObjectSources(bucket, key string) []ObjectSource {
	var out []ObjectSource
	for _, st := range p.Stages {
		for _, a := range st.Actions {
			if a.ActionTypeID.Category == CategorySource && a.ActionTypeID.Provider == "S3" &&
				a.Configuration["S3Bucket"] == bucket && a.Configuration["S3ObjectKey"] == key {
				out = append(out, ObjectSource{Stage: st.Name, Action: a})
			}
		}
	}
	return out
}

// EventDriven reports whether an S3 source action's changes are detected
// by events rather than polls: PollForSourceChanges false, as CodePipeline
// says when an EventBridge rule starts the pipeline.
func (o ObjectSource) EventDriven() bool {
	return o.Action.Configuration["PollForSourceChanges"] == "false"
}

// ObjectRevision is an S3 object's source revision: its version id, or,
// where the bucket keeps no versions (no id, or "null"), its ETag without
// quotes.
func ObjectRevision(versionID, etag string) string {
	if versionID != "" && versionID != "null" {
		return versionID
	}
	return strings.Trim(etag, `"`)
}

// EventStartKey is the idempotency key of a start of pipeline name by an
// event about revision rev of the object action follows (sequencer: S3's
// ordering of the object's events, "" when not known): the same whether
// the event came as a store's notification or through an EventBridge rule,
// so that both together start one execution, and a redelivery none. The
// sequencer tells apart two uploads of the same content to a bucket
// without versions, whose revision (the ETag) is the same.
func EventStartKey(name, action, rev, sequencer string) string {
	return "s3event/" + name + "/" + action + "/" + rev + "/" + sequencer
}
