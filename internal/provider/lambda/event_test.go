package lambda

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/provider"
)

func eventJob() *provider.Job {
	return &provider.Job{
		ID: "job-1", Configuration: map[string]string{"FunctionName": "notify", "UserParameters": `{"stage":"prod"}`},
		Inputs:   []string{"src", "docs"},
		Outputs:  []provider.Output{{Name: "out put", Path: "/x/out.zip"}},
		JobToken: "sjt_job-1.secret", ContinuationToken: "step2",
		ServerURL: "http://127.0.0.1:8080/",
	}
}

func TestEventJSON(t *testing.T) {
	got, err := json.MarshalIndent(NewEvent(eventJob()), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "CodePipeline.job": {
    "id": "job-1",
    "accountId": "local",
    "data": {
      "actionConfiguration": {
        "configuration": {
          "FunctionName": "notify",
          "UserParameters": "{\"stage\":\"prod\"}"
        }
      },
      "inputArtifacts": [
        {
          "name": "src",
          "revision": null,
          "location": {
            "type": "S3",
            "s3Location": {
              "bucketName": "sluice",
              "objectKey": "api/v1/jobs/job-1/inputs/src"
            }
          },
          "url": "http://127.0.0.1:8080/api/v1/jobs/job-1/inputs/src"
        },
        {
          "name": "docs",
          "revision": null,
          "location": {
            "type": "S3",
            "s3Location": {
              "bucketName": "sluice",
              "objectKey": "api/v1/jobs/job-1/inputs/docs"
            }
          },
          "url": "http://127.0.0.1:8080/api/v1/jobs/job-1/inputs/docs"
        }
      ],
      "outputArtifacts": [
        {
          "name": "out put",
          "revision": null,
          "location": {
            "type": "S3",
            "s3Location": {
              "bucketName": "sluice",
              "objectKey": "api/v1/jobs/job-1/outputs/out%20put"
            }
          },
          "url": "http://127.0.0.1:8080/api/v1/jobs/job-1/outputs/out%20put"
        }
      ],
      "artifactCredentials": {
        "accessKeyId": "",
        "secretAccessKey": "",
        "sessionToken": "sjt_job-1.secret"
      },
      "continuationToken": "step2"
    }
  }
}`
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestEventFirstInvocationWithoutArtifacts(t *testing.T) {
	job := &provider.Job{ID: "j", Configuration: map[string]string{"FunctionName": "f"}, JobToken: "t", ServerURL: "http://s"}
	got, err := json.Marshal(NewEvent(job))
	if err != nil {
		t.Fatal(err)
	}
	// No continuation token and no UserParameters: the keys are left out,
	// as CodePipeline leaves them out; artifact lists are empty, not null.
	want := `{"CodePipeline.job":{"id":"j","accountId":"local","data":{"actionConfiguration":{"configuration":{"FunctionName":"f"}},` +
		`"inputArtifacts":[],"outputArtifacts":[],"artifactCredentials":{"accessKeyId":"","secretAccessKey":"","sessionToken":"t"}}}}`
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// corpusDir holds real files copied from public repositories, outside the
// module: the test skips when it is absent.
const corpusDir = "../../../../shared/corpus"

// sluiceOnly are keys sluice's event has that CodePipeline's has not;
// awsOnly are keys of CodePipeline's that do not apply here.
var (
	sluiceOnly = map[string]bool{"url": true}
	awsOnly    = map[string]bool{"encryptionKey": true, "expirationTime": true}
)

// TestEventMatchesCodePipelineSamples checks that sluice's event has every
// field of the Lambda job events in the corpus (CodePipeline's documentation,
// the Go and Python Lambda libraries' test data), of the same JSON kind, and
// no field of its own but the artifacts' url.
func TestEventMatchesCodePipelineSamples(t *testing.T) {
	n := 0
	for _, path := range corpusFiles(t, "events") {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(raw, []byte(`"CodePipeline.job"`)) {
			continue // an EventBridge state-change event
		}
		n++
		t.Run(filepath.Base(path), func(t *testing.T) {
			theirs := decodeAny(t, raw)
			// Optional fields: sluice's event has them when CodePipeline's
			// would, so build it like the sample.
			job := eventJob()
			if !strings.Contains(string(raw), `"continuationToken"`) {
				job.ContinuationToken = ""
			}
			if !strings.Contains(string(raw), `"UserParameters"`) {
				delete(job.Configuration, "UserParameters")
			}
			ours := decodeAny(t, mustJSON(t, NewEvent(job)))
			for _, p := range compareShape(theirs, ours, "") {
				t.Error(p)
			}
		})
	}
	if n == 0 {
		t.Fatal("no CodePipeline job event in the corpus")
	}
}

// compareShape lists how ours differs in shape from theirs.
func compareShape(theirs, ours any, path string) []string {
	var out []string
	switch tv := theirs.(type) {
	case map[string]any:
		ov, ok := ours.(map[string]any)
		if !ok {
			return []string{path + ": an object in CodePipeline's event, " + kind(ours) + " in sluice's"}
		}
		for _, k := range sortedAny(tv) {
			if awsOnly[k] {
				continue
			}
			o, has := ov[k]
			if !has {
				out = append(out, path+"."+k+": missing from sluice's event")
				continue
			}
			out = append(out, compareShape(tv[k], o, path+"."+k)...)
		}
		for _, k := range sortedAny(ov) {
			if _, has := tv[k]; !has && !sluiceOnly[k] {
				out = append(out, path+"."+k+": in sluice's event only")
			}
		}
	case []any:
		ov, ok := ours.([]any)
		if !ok {
			return []string{path + ": a list in CodePipeline's event, " + kind(ours) + " in sluice's"}
		}
		if len(tv) > 0 && len(ov) > 0 {
			out = append(out, compareShape(tv[0], ov[0], path+"[0]")...)
		}
	default:
		// A revision is a commit id or null; sluice gives null, as
		// CodePipeline does for artifacts that have none.
		if kind(theirs) != kind(ours) && !(strings.HasSuffix(path, ".revision") && ours == nil) {
			out = append(out, path+": "+kind(theirs)+" in CodePipeline's event, "+kind(ours)+" in sluice's")
		}
	}
	return out
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case float64:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return "something else"
}

func sortedAny(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func decodeAny(t *testing.T, raw []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// corpusFiles lists the MANIFEST entries under folder.
func corpusFiles(t *testing.T, folder string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(corpusDir, "MANIFEST.tsv"))
	if errors.Is(err, os.ErrNotExist) {
		t.Skip("corpus not present")
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	var files []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, _, _ := strings.Cut(sc.Text(), "\t")
		if strings.HasPrefix(name, folder+"/") && !seen[name] {
			seen[name] = true
			files = append(files, filepath.Join(corpusDir, name))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return files
}
