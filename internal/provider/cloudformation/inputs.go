package cloudformation

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/sluice-ci/sluice/internal/provider"
)

// maxInputFile bounds what is read from an input artifact: CloudFormation's
// own largest template (from S3) is 1 MB.
const maxInputFile = 1 << 20

// ArtifactStoreBucket is what Fn::GetArtifactAtt answers for BucketName:
// sluice's artifacts live in one store, keyed by the API path that serves
// them (as the function provider's event says too).
const ArtifactStoreBucket = "sluice"

// SplitArtifactPath splits CodePipeline's "ArtifactName::path/in/it".
func SplitArtifactPath(s string) (artifact, file string, ok bool) {
	artifact, file, ok = strings.Cut(s, "::")
	if !ok || artifact == "" || file == "" {
		return "", "", false
	}
	return artifact, file, true
}

// readArtifactFile reads file from the named input artifact of job. The file
// is opened through an os.Root on the artifact's directory, so neither "..",
// an absolute path nor a symbolic link in the artifact leads out of it: a
// template must not be a way to send the worker's own files to AWS.
func readArtifactFile(job *provider.Job, artifact, file string) ([]byte, error) {
	dir, err := artifactDir(job, artifact)
	if err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("open input artifact %q: %w", artifact, err)
	}
	defer root.Close()
	f, err := root.Open(path.Clean(file))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("input artifact %q has no file %q", artifact, file)
		}
		return nil, fmt.Errorf("input artifact %q: %w", artifact, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxInputFile+1))
	if err != nil {
		return nil, fmt.Errorf("read %s::%s: %w", artifact, file, err)
	}
	if len(b) > maxInputFile {
		return nil, fmt.Errorf("%s::%s is larger than %d bytes", artifact, file, maxInputFile)
	}
	return b, nil
}

// artifactDir is where the named input artifact was extracted.
func artifactDir(job *provider.Job, name string) (string, error) {
	if len(job.Inputs) > 0 && job.Inputs[0] == name {
		return job.WorkDir, nil
	}
	if d, ok := job.InputDirs[name]; ok {
		return d, nil
	}
	return "", fmt.Errorf("%q is not an input artifact of this action (it has %s)", name, strings.Join(job.Inputs, ", "))
}

// readArtifactPath reads "Artifact::path" for the configuration key named key.
func readArtifactPath(job *provider.Job, key string) ([]byte, error) {
	a, f, ok := SplitArtifactPath(job.Configuration[key])
	if !ok {
		return nil, fmt.Errorf("%s %q is not ArtifactName::path/in/it", key, job.Configuration[key])
	}
	b, err := readArtifactFile(job, a, f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return b, nil
}

// templateConfiguration is CodePipeline's template configuration file.
type templateConfiguration struct {
	Parameters  map[string]string `json:"Parameters"`
	Tags        map[string]string `json:"Tags"`
	StackPolicy json.RawMessage   `json:"StackPolicy"`
}

// stackInputs are the parameters, tags and policy a stack is given: the
// template configuration's, with ParameterOverrides on top.
type stackInputs struct {
	Parameters  []types.Parameter
	Tags        []types.Tag
	StackPolicy string
}

func readStackInputs(job *provider.Job) (stackInputs, error) {
	params := map[string]string{}
	var in stackInputs
	if job.Configuration["TemplateConfiguration"] != "" {
		b, err := readArtifactPath(job, "TemplateConfiguration")
		if err != nil {
			return in, err
		}
		var tc templateConfiguration
		if err := json.Unmarshal(b, &tc); err != nil {
			return in, fmt.Errorf("TemplateConfiguration %s: not a template configuration file ({\"Parameters\": {...}, \"Tags\": {...}, \"StackPolicy\": {...}}): %v", job.Configuration["TemplateConfiguration"], err)
		}
		for k, v := range tc.Parameters {
			params[k] = v
		}
		for _, k := range sortedKeys(tc.Tags) {
			in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(tc.Tags[k])})
		}
		if len(tc.StackPolicy) > 0 && string(tc.StackPolicy) != "null" {
			in.StackPolicy = string(tc.StackPolicy)
		}
	}
	if s := job.Configuration["ParameterOverrides"]; strings.TrimSpace(s) != "" {
		overrides, err := ParameterOverrides(job, s)
		if err != nil {
			return in, err
		}
		for k, v := range overrides {
			params[k] = v
		}
	}
	for _, k := range sortedKeys(params) {
		in.Parameters = append(in.Parameters, types.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(params[k])})
	}
	return in, nil
}

// ParameterOverrides reads the ParameterOverrides JSON object: each value is
// a string, or one of CodePipeline's parameter override functions:
//
//	{"Fn::GetParam": ["Artifact", "file.json", "key"]}   a key of a JSON file in an input artifact
//	{"Fn::GetArtifactAtt": ["Artifact", "BucketName"|"ObjectKey"|"URL"]}
func ParameterOverrides(job *provider.Job, s string) (map[string]string, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("ParameterOverrides: must be a JSON object of parameter names to values: %v", err)
	}
	out := make(map[string]string, len(raw))
	for _, name := range sortedKeys(raw) {
		v, err := overrideValue(job, raw[name])
		if err != nil {
			return nil, fmt.Errorf("ParameterOverrides %s: %w", name, err)
		}
		out[name] = v
	}
	return out, nil
}

func overrideValue(job *provider.Job, raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var fn map[string][]string
	if err := json.Unmarshal(raw, &fn); err != nil || len(fn) != 1 {
		return "", fmt.Errorf("must be a string, {\"Fn::GetParam\": [artifact, file, key]} or {\"Fn::GetArtifactAtt\": [artifact, attribute]}")
	}
	if args, ok := fn["Fn::GetParam"]; ok {
		if len(args) != 3 {
			return "", fmt.Errorf("Fn::GetParam takes [artifact, JSON file, key], not %d values", len(args))
		}
		b, err := readArtifactFile(job, args[0], args[1])
		if err != nil {
			return "", fmt.Errorf("Fn::GetParam: %w", err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return "", fmt.Errorf("Fn::GetParam: %s::%s is not a JSON object: %v", args[0], args[1], err)
		}
		v, ok := m[args[2]]
		if !ok {
			return "", fmt.Errorf("Fn::GetParam: %s::%s has no key %q", args[0], args[1], args[2])
		}
		if s, ok := v.(string); ok {
			return s, nil
		}
		b, _ = json.Marshal(v)
		return string(b), nil
	}
	if args, ok := fn["Fn::GetArtifactAtt"]; ok {
		if len(args) != 2 {
			return "", fmt.Errorf("Fn::GetArtifactAtt takes [artifact, attribute], not %d values", len(args))
		}
		if _, err := artifactDir(job, args[0]); err != nil {
			return "", fmt.Errorf("Fn::GetArtifactAtt: %w", err)
		}
		key := "api/v1/jobs/" + url.PathEscape(job.ID) + "/inputs/" + url.PathEscape(args[0])
		switch args[1] {
		case "BucketName":
			return ArtifactStoreBucket, nil
		case "ObjectKey":
			return key, nil
		case "URL":
			return strings.TrimRight(job.ServerURL, "/") + "/" + key, nil
		}
		return "", fmt.Errorf("Fn::GetArtifactAtt: unknown attribute %q (want BucketName, ObjectKey or URL)", args[1])
	}
	for k := range fn {
		return "", fmt.Errorf("unknown function %q (want Fn::GetParam or Fn::GetArtifactAtt)", k)
	}
	return "", nil
}

// capabilities reads CodePipeline's comma-separated Capabilities.
func capabilities(s string) []types.Capability {
	var out []types.Capability
	for _, c := range strings.Split(s, ",") {
		if c = strings.TrimSpace(c); c != "" {
			out = append(out, types.Capability(c))
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
