package awsconn

// Settings is what the server hands the worker holding a job for an aws
// connection the job uses (the job protocol's GetJobConnection): the
// connection as the job must use it (the action's roleArn already in its
// role, the action's region where the region picked it) and, for one whose
// credentials are in a sluice secret, the keys. Nothing else carries Keys.
type Settings struct {
	Name        string            `json:"name"`
	Region      string            `json:"region"`
	Endpoint    string            `json:"endpoint,omitempty"`
	Endpoints   map[string]string `json:"endpoints,omitempty"`
	S3PathStyle bool              `json:"s3PathStyle"`
	Bucket      string            `json:"bucket,omitempty"`
	// FromWorker: use the worker's own environment (no Keys).
	FromWorker bool  `json:"fromWorker,omitempty"`
	Keys       *Keys `json:"keys,omitempty"`
	Role       *Role `json:"role,omitempty"`
}

// Keys are static aws credentials.
type Keys struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
	SessionToken    string `json:"sessionToken,omitempty"`
}

// Role is a role to assume with STS AssumeRole.
type Role struct {
	ARN             string `json:"arn"`
	ExternalID      string `json:"externalId,omitempty"`
	SessionName     string `json:"sessionName,omitempty"`
	DurationSeconds int    `json:"durationSeconds,omitempty"`
}

// Values are the secret strings in s, for a log masker.
func (s Settings) Values() []string {
	if s.Keys == nil {
		return nil
	}
	var out []string
	for _, v := range []string{s.Keys.AccessKeyID, s.Keys.SecretAccessKey, s.Keys.SessionToken} {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}
