package pipeline

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// The shared corpus holds real files copied from public repositories. It
// lives outside the module, so these tests skip when it is absent.
const corpusDir = "../../../shared/corpus"

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
	var files []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, _, _ := strings.Cut(sc.Text(), "\t")
		if strings.HasPrefix(name, folder+"/") {
			files = append(files, filepath.Join(corpusDir, name))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return files
}

// isGetPipelineJSON tells raw CodePipeline JSON from the CloudFormation
// templates that share the folder; templates are not in scope yet.
func isGetPipelineJSON(data []byte) bool {
	return bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) &&
		bytes.Contains(data, []byte(`"pipeline"`)) && !bytes.Contains(data, []byte("AWSTemplateFormatVersion")) &&
		!bytes.Contains(data, []byte(`"Resources"`))
}

func TestCorpusPipelines(t *testing.T) {
	parsed, templates, templatesRead := 0, 0, 0
	for _, path := range corpusFiles(t, "pipelines") {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !isGetPipelineJSON(data) {
			// CloudFormation templates: their pipeline resource is read;
			// what sluice cannot take (intrinsic functions naming the
			// stack's other resources, more than one pipeline) is refused
			// on its line.
			templates++
			_, err := Parse(filepath.Base(path), data)
			var list yamlnode.ErrorList
			switch {
			case err == nil:
				templatesRead++
			case !errors.As(err, &list) || len(list) == 0:
				t.Errorf("%s: %v, want a list of errors with lines", filepath.Base(path), err)
			default:
				for _, e := range list {
					if e.Line <= 0 || e.File != filepath.Base(path) {
						t.Errorf("%s: error without file and line: %v", filepath.Base(path), e)
					}
				}
			}
			continue
		}
		parsed++
		t.Run(filepath.Base(path), func(t *testing.T) {
			p, err := Parse(filepath.Base(path), data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if p.Name == "" || len(p.Stages) < 2 {
				t.Errorf("parsed %q with %d stages", p.Name, len(p.Stages))
			}
			// What sluice reads it must also write back.
			out, err := MarshalYAML(p)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Parse("again.yml", out)
			if err != nil {
				t.Fatalf("re-parse: %v", err)
			}
			if !bytes.Equal(again.Canonical(), p.Canonical()) {
				t.Errorf("round trip changed the pipeline")
			}
		})
	}
	if parsed < 3 {
		t.Errorf("found %d get-pipeline files in the corpus, want at least 3", parsed)
	}
	t.Logf("%d CloudFormation templates, %d of them read whole", templates, templatesRead)
}

func TestCorpusInvalid(t *testing.T) {
	for _, path := range corpusFiles(t, "invalid") {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			_, err := Parse(filepath.Base(path), data)
			if err == nil {
				t.Fatal("Parse accepted a broken file")
			}
			var list yamlnode.ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is not a yamlnode.ErrorList: %v", err)
			}
			for _, e := range list {
				if e.Line <= 0 || e.File != filepath.Base(path) {
					t.Errorf("error without file and line: %v", e)
				}
			}
		})
	}
}

// TestCorpusInvalidLines pins the line of each broken file's first problem,
// checked by reading the files.
func TestCorpusInvalidLines(t *testing.T) {
	want := map[string]int{
		"buildspec--byu-oit__handel-codepipeline__src__phases__npm__npm-buildspec.yml":                                                                   5,
		"events--awsdocs__aws-codepipeline-user-guide__doc_source__actions-invoke-lambda-function.md__L283-L334__codepipeline-job-event.json":            28,
		"events--awsdocs__aws-codepipeline-user-guide__doc_source__detect-state-changes-cloudwatch-events.md__L237-L263__pipeline-failed-processed.json": 27,
		"events--awsdocs__aws-codepipeline-user-guide__doc_source__detect-state-changes-cloudwatch-events.md__L285-L303__stage-started-emitted.json":     3,
		"events--awsdocs__aws-codepipeline-user-guide__doc_source__detect-state-changes-cloudwatch-events.md__L416-L449__action-started-emitted.json":    3,
	}
	for _, path := range corpusFiles(t, "invalid") {
		name := filepath.Base(path)
		line, ok := want[name]
		if !ok {
			continue
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Parse(name, data)
		var list yamlnode.ErrorList
		if !errors.As(err, &list) || list[0].Line != line {
			t.Errorf("%s: %v, want the first error on line %d", name, err, line)
		}
	}
}
