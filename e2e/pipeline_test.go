package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type pipelineSummary struct {
	Name          string `json:"name"`
	Version       int    `json:"version"`
	ExecutionMode string `json:"executionMode"`
}

// pipelineDoc is the document `aws codepipeline get-pipeline` prints.
type pipelineDoc struct {
	Pipeline struct {
		Name          string `json:"name"`
		ExecutionMode string `json:"executionMode"`
		Variables     []struct {
			Name         string `json:"name"`
			DefaultValue string `json:"defaultValue"`
		} `json:"variables"`
		Stages []struct {
			Name    string `json:"name"`
			Actions []struct {
				Name         string `json:"name"`
				ActionTypeID struct {
					Category string `json:"category"`
					Owner    string `json:"owner"`
					Provider string `json:"provider"`
					Version  string `json:"version"`
				} `json:"actionTypeId"`
				RunOrder        int                     `json:"runOrder"`
				Commands        []string                `json:"commands"`
				InputArtifacts  []struct{ Name string } `json:"inputArtifacts"`
				OutputArtifacts []struct {
					Name  string   `json:"name"`
					Files []string `json:"files"`
				} `json:"outputArtifacts"`
				Namespace string `json:"namespace"`
			} `json:"actions"`
		} `json:"stages"`
	} `json:"pipeline"`
	Metadata *struct {
		Version int `json:"version"`
	} `json:"metadata"`
}

func (s *server) version(name string) int {
	s.t.Helper()
	var doc pipelineDoc
	s.json(&doc, "pipeline", "get", name)
	if doc.Metadata == nil {
		s.t.Fatalf("pipeline get %s: no metadata", name)
	}
	return doc.Metadata.Version
}

func TestPipelineLifecycle(t *testing.T) {
	t.Parallel()
	s := startServer(t)

	wantEqual(t, "first apply", s.apply("testdata/lifecycle.yml"), "pipeline lifecycle created (version 1)")
	wantEqual(t, "identical apply", s.apply("testdata/lifecycle.yml"), "pipeline lifecycle unchanged (version 1)")
	wantEqual(t, "version after an identical apply", s.version("lifecycle"), 1)
	wantEqual(t, "changed apply", s.apply("testdata/lifecycle-v2.yml"), "pipeline lifecycle updated to version 2")
	wantEqual(t, "apply of v2 again", s.apply("testdata/lifecycle-v2.yml"), "pipeline lifecycle unchanged (version 2)")

	// get -o json is CodePipeline's get-pipeline document.
	out := s.ok("pipeline", "get", "lifecycle", "-o", "json")
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("pipeline get -o json: %v\n%s", err, out)
	}
	if _, ok := raw["pipeline"]; !ok {
		t.Errorf("pipeline get -o json has no \"pipeline\" key:\n%s", out)
	}
	if _, ok := raw["metadata"]; !ok {
		t.Errorf("pipeline get -o json has no \"metadata\" key:\n%s", out)
	}
	var doc pipelineDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	p := doc.Pipeline
	wantEqual(t, "name", p.Name, "lifecycle")
	wantEqual(t, "metadata.version", doc.Metadata.Version, 2)
	if len(p.Stages) != 2 || p.Stages[0].Name != "Build" || p.Stages[1].Name != "Deploy" {
		t.Fatalf("stages = %+v, want Build and Deploy", p.Stages)
	}
	ship := p.Stages[1].Actions[0]
	wantEqual(t, "Ship provider", ship.ActionTypeID.Provider, "Commands")
	wantEqual(t, "Ship category (inferred)", ship.ActionTypeID.Category, "Compute")
	wantEqual(t, "Ship owner", ship.ActionTypeID.Owner, "AWS")
	wantEqual(t, "Ship runOrder (default)", ship.RunOrder, 1)
	if len(ship.InputArtifacts) != 1 || ship.InputArtifacts[0].Name != "bin" {
		t.Errorf("Ship inputArtifacts = %+v, want [{name: bin}]", ship.InputArtifacts)
	}
	wantContains(t, "Ship commands", strings.Join(ship.Commands, "\n"), "carefully")
	if len(p.Variables) != 1 || p.Variables[0].Name != "TARGET" || p.Variables[0].DefaultValue != "staging" {
		t.Errorf("variables = %+v, want TARGET=staging", p.Variables)
	}

	// The printed documents apply back unchanged, JSON and YAML alike.
	dir := s.scratch("docs")
	jsonFile := filepath.Join(dir, "lifecycle.json")
	if err := os.WriteFile(jsonFile, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "apply of get -o json", s.apply(jsonFile), "pipeline lifecycle unchanged (version 2)")
	yamlOut := s.ok("pipeline", "get", "lifecycle", "-o", "yaml")
	wantContains(t, "pipeline get -o yaml", yamlOut, "pipeline:", "metadata:", "name: lifecycle", "provider: Commands")
	yamlFile := filepath.Join(dir, "lifecycle.yaml")
	if err := os.WriteFile(yamlFile, []byte(yamlOut), 0o644); err != nil {
		t.Fatal(err)
	}
	wantEqual(t, "apply of get -o yaml", s.apply(yamlFile), "pipeline lifecycle unchanged (version 2)")
	// The default output is YAML too.
	wantEqual(t, "pipeline get (default output)", s.ok("pipeline", "get", "lifecycle"), yamlOut)

	// A typo'd provider: validate names file, line and field; apply changes nothing.
	r := s.fails("pipeline", "validate", "-f", "testdata/typo.yml")
	wantContains(t, "validate stderr", r.stderr,
		`testdata/typo.yml:19: stages[1].actions[0].provider: unknown provider "Comands"`)
	r = s.fails("pipeline", "apply", "-f", "testdata/typo.yml")
	wantContains(t, "apply stderr", r.stderr,
		`testdata/typo.yml:19: stages[1].actions[0].provider: unknown provider "Comands"`)
	wantEqual(t, "version after a failed apply", s.version("lifecycle"), 2)
	yamlAfter := s.ok("pipeline", "get", "lifecycle", "-o", "yaml")
	if strings.Contains(yamlAfter, "recklessly") || strings.Contains(yamlAfter, "Comands") {
		t.Errorf("a failed apply changed the pipeline:\n%s", yamlAfter)
	}
	// The same typo in a new pipeline: nothing is created.
	typo := strings.Replace(readFile(t, "testdata/typo.yml"), "name: lifecycle", "name: typo-new", 1)
	typoFile := filepath.Join(dir, "typo-new.yml")
	if err := os.WriteFile(typoFile, []byte(typo), 0o644); err != nil {
		t.Fatal(err)
	}
	r = s.fails("pipeline", "apply", "-f", typoFile)
	wantContains(t, "apply stderr", r.stderr, typoFile+`:19: stages[1].actions[0].provider: unknown provider "Comands"`)
	r = s.fails("pipeline", "get", "typo-new")
	wantContains(t, "get of a pipeline a failed apply named", strings.ToLower(r.stderr), "not found")

	// A reference to a namespace nothing declares is caught before anything runs.
	r = s.fails("pipeline", "apply", "-f", "testdata/unknown-namespace.yml")
	wantContains(t, "apply stderr", r.stderr, `testdata/unknown-namespace.yml:9: stages[0].actions[0].commands[0]:`, `#{nope.X}`, `"nope"`)

	// CodePipeline's JSON, as get-pipeline prints it, imports and runs.
	wantEqual(t, "apply codepipeline.json", s.apply("testdata/codepipeline.json"), "pipeline imported created (version 1)")
	wantEqual(t, "apply codepipeline.json again", s.apply("testdata/codepipeline.json"), "pipeline imported unchanged (version 1)")
	var imported pipelineDoc
	s.json(&imported, "pipeline", "get", "imported")
	wantEqual(t, "imported executionMode", imported.Pipeline.ExecutionMode, "QUEUED")
	if st := imported.Pipeline.Stages; len(st) != 2 || st[0].Actions[0].Namespace != "BuildVariables" ||
		len(st[0].Actions[0].OutputArtifacts) != 1 || st[0].Actions[0].OutputArtifacts[0].Files[0] != "greeting.txt" {
		t.Errorf("imported stages = %+v", st)
	}
	id := s.start("imported")
	s.waitEnd("imported", id, "Succeeded")
	wantContains(t, "imported Read log", s.ok("logs", "imported", id, "Read"), "hello from json", "written=16")

	// list
	var list []pipelineSummary
	s.json(&list, "pipeline", "list")
	got := map[string]pipelineSummary{}
	for _, p := range list {
		got[p.Name] = p
	}
	if len(list) != 2 || got["lifecycle"].Version != 2 || got["imported"].Version != 1 || got["imported"].ExecutionMode != "QUEUED" {
		t.Errorf("pipeline list = %+v, want lifecycle v2 and imported v1 (QUEUED)", list)
	}
	wantContains(t, "pipeline list", s.ok("pipeline", "list"), "lifecycle", "imported")

	// delete
	wantEqual(t, "delete", strings.TrimSpace(s.ok("pipeline", "delete", "lifecycle")), "pipeline lifecycle deleted")
	r = s.fails("pipeline", "get", "lifecycle")
	wantContains(t, "get after delete", strings.ToLower(r.stderr), "not found")
	r = s.fails("pipeline", "delete", "lifecycle")
	wantContains(t, "delete after delete", strings.ToLower(r.stderr), "not found")
	list = nil
	s.json(&list, "pipeline", "list")
	if len(list) != 1 || list[0].Name != "imported" {
		t.Errorf("pipeline list after delete = %+v, want only imported", list)
	}
	// A pipeline with executions goes with them.
	s.ok("pipeline", "delete", "imported")
	r = s.fails("execution", "get", "imported", id)
	wantContains(t, "execution get after delete", strings.ToLower(r.stderr), "not found")
	r = s.fails("executions", "imported")
	wantContains(t, "executions after delete", strings.ToLower(r.stderr), "not found")
	list = nil
	s.json(&list, "pipeline", "list")
	if len(list) != 0 {
		t.Errorf("pipeline list after deleting both = %+v, want none", list)
	}
	// Applying again starts over at version 1.
	wantEqual(t, "apply after delete", s.apply("testdata/lifecycle.yml"), "pipeline lifecycle created (version 1)")
}
