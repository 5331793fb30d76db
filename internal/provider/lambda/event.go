package lambda

import (
	"net/url"
	"strings"

	"github.com/sluice-ci/sluice/internal/provider"
)

// Event is CodePipeline's job event, the input of a Lambda invoke function,
// field for field. Artifacts have a url besides their S3 location: sluice
// keeps them behind its API, where the function downloads its inputs (GET)
// and uploads its outputs (PUT, a zip) with the job token as a bearer token.
// The token is also artifactCredentials.sessionToken, where a Lambda function
// finds its temporary credentials.
type Event struct {
	Job EventJob `json:"CodePipeline.job"`
}

// EventJob is the event's "CodePipeline.job".
type EventJob struct {
	ID        string    `json:"id"`
	AccountID string    `json:"accountId"`
	Data      EventData `json:"data"`
}

// EventData is the job's data.
type EventData struct {
	ActionConfiguration ActionConfiguration `json:"actionConfiguration"`
	InputArtifacts      []EventArtifact     `json:"inputArtifacts"`
	OutputArtifacts     []EventArtifact     `json:"outputArtifacts"`
	ArtifactCredentials ArtifactCredentials `json:"artifactCredentials"`
	// ContinuationToken is set when the function asked, last time, to be
	// invoked again with it.
	ContinuationToken string `json:"continuationToken,omitempty"`
}

// ActionConfiguration holds the action's configuration.
type ActionConfiguration struct {
	Configuration Configuration `json:"configuration"`
}

// Configuration is the part of the action's configuration a function gets.
type Configuration struct {
	FunctionName   string `json:"FunctionName"`
	UserParameters string `json:"UserParameters,omitempty"`
}

// EventArtifact is an input or output artifact.
type EventArtifact struct {
	Name     string        `json:"name"`
	Revision *string       `json:"revision"`
	Location EventLocation `json:"location"`
	// URL is sluice's own: where the artifact is downloaded or uploaded.
	URL string `json:"url"`
}

// EventLocation is where an artifact is kept, in S3's terms.
type EventLocation struct {
	Type       string     `json:"type"`
	S3Location S3Location `json:"s3Location"`
}

// S3Location names an artifact as a bucket and a key.
type S3Location struct {
	BucketName string `json:"bucketName"`
	ObjectKey  string `json:"objectKey"`
}

// ArtifactCredentials are the credentials for the artifacts: sluice has no
// access keys, and its job token stands in the session token's place.
type ArtifactCredentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken"`
}

// Event constants: sluice runs in no AWS account, and its artifacts live in
// one "bucket", keyed by the API path that serves them.
const (
	AccountID = "local"
	Bucket    = "sluice"
)

// NewEvent builds job's event.
func NewEvent(job *provider.Job) Event {
	base := strings.TrimRight(job.ServerURL, "/")
	artifact := func(dir, name string) EventArtifact {
		key := "api/v1/jobs/" + url.PathEscape(job.ID) + "/" + dir + "/" + url.PathEscape(name)
		return EventArtifact{
			Name:     name,
			Location: EventLocation{Type: "S3", S3Location: S3Location{BucketName: Bucket, ObjectKey: key}},
			URL:      base + "/" + key,
		}
	}
	d := EventData{
		ActionConfiguration: ActionConfiguration{Configuration: Configuration{
			FunctionName: job.Configuration["FunctionName"], UserParameters: job.Configuration["UserParameters"],
		}},
		InputArtifacts:      []EventArtifact{},
		OutputArtifacts:     []EventArtifact{},
		ArtifactCredentials: ArtifactCredentials{SessionToken: job.JobToken},
		ContinuationToken:   job.ContinuationToken,
	}
	for _, name := range job.Inputs {
		d.InputArtifacts = append(d.InputArtifacts, artifact("inputs", name))
	}
	for _, o := range job.Outputs {
		d.OutputArtifacts = append(d.OutputArtifacts, artifact("outputs", o.Name))
	}
	return Event{Job: EventJob{ID: job.ID, AccountID: AccountID, Data: d}}
}
