package pipeline

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

func TestCanonicalIgnoresHowThePipelineWasWritten(t *testing.T) {
	want := demoPipeline().Canonical()
	for _, src := range []struct{ file, text string }{
		{"demo.yml", demoYAML},
		{"demo.json", demoJSON},
		{"demo.json", `{"pipeline": ` + demoJSON + `, "metadata": {"version": 9}}`},
	} {
		got := mustParse(t, src.file, src.text).Canonical()
		if !bytes.Equal(got, want) {
			t.Errorf("%s: Canonical differs:\n%s\nwant\n%s", src.file, got, want)
		}
	}
}

func TestCanonicalFillsDefaultsWithoutChangingThePipeline(t *testing.T) {
	p := basePipeline()
	before := basePipeline()
	got := p.Canonical()
	if !reflect.DeepEqual(p, before) {
		t.Fatalf("Canonical changed its receiver")
	}
	filled := basePipeline()
	filled.SetDefaults()
	if !bytes.Equal(got, filled.Canonical()) {
		t.Errorf("Canonical with and without defaults differ")
	}
	if !bytes.Equal(got, p.Canonical()) {
		t.Errorf("Canonical is not deterministic")
	}
	if !json.Valid(got) {
		t.Errorf("Canonical is not JSON: %s", got)
	}
}

func TestCanonicalGolden(t *testing.T) {
	p := &Pipeline{Name: "p", Stages: []Stage{{Name: "S", Actions: []Action{{
		Name:          "A",
		ActionTypeID:  ActionTypeID{Provider: "Commands"},
		Configuration: map[string]string{"z": "<&>", "a": "1"},
		Commands:      []string{"make"},
	}}}, {Name: "Empty"}}}
	want := `{"name":"p","pipelineType":"V2","executionMode":"SUPERSEDED","stages":[` +
		`{"name":"S","actions":[{"name":"A","actionTypeId":{"category":"Compute","owner":"AWS","provider":"Commands","version":"1"},` +
		`"runOrder":1,"configuration":{"a":"1","z":"<&>"},"commands":["make"]}]},{"name":"Empty","actions":[]}]}`
	if got := string(p.Canonical()); got != want {
		t.Errorf("Canonical =\n%s\nwant\n%s", got, want)
	}
	if got := string((&Pipeline{}).Canonical()); got != `{"name":"","pipelineType":"V2","executionMode":"SUPERSEDED","stages":[]}` {
		t.Errorf("Canonical of an empty pipeline = %s", got)
	}
}

func TestCanonicalSeesChanges(t *testing.T) {
	base := basePipeline().Canonical()
	changes := []func(p *Pipeline){
		func(p *Pipeline) { p.Name = "other" },
		func(p *Pipeline) { p.ExecutionMode = Queued },
		func(p *Pipeline) { act(p, 1, 0).Commands[0] += " " },
		func(p *Pipeline) { act(p, 1, 1).RunOrder = 3 },
		func(p *Pipeline) { act(p, 0, 0).Configuration = map[string]string{"Branch": "main"} },
		func(p *Pipeline) { p.Variables[0].Description = "d" },
		func(p *Pipeline) { act(p, 1, 0).MaxAttempts = 2 },
	}
	for i, change := range changes {
		p := basePipeline()
		change(p)
		if bytes.Equal(p.Canonical(), base) {
			t.Errorf("change %d did not change Canonical", i)
		}
	}
}

func TestMarshalYAMLRoundTrip(t *testing.T) {
	odd := basePipeline()
	act(odd, 1, 0).Configuration = map[string]string{
		"false": "false", "<<": "<<", "empty": "", "multi": "a\nb\n", "trailing": "a \n b ",
		"lead": "  x", "ref": "#{source.CommitId}", "unicode": "é😀", "dash": "- x", "colon": "a: b",
		"tab": "\tx", "null": "null", "tilde": "~", "number": "010", "float": "1e3", "hash": "# not a comment",
		"quote": `"'`, "cr": "a\r\nb", "nel": "a\u0085b", "bom": "\ufeffx", "yes": "yes",
	}
	act(odd, 1, 0).Commands = []string{"echo 'a: b' # c", "|", ">", "[x]", "{x}", "*x", "&x", "!x", "%x", "@x", "`x`"}
	act(odd, 1, 0).TimeoutInMinutes = 30
	act(odd, 1, 0).Region = "eu-west-1"
	odd.PipelineType = "V2"
	odd.Variables = append(odd.Variables, Variable{Name: "B", Description: "multi\nline"})

	for _, p := range []*Pipeline{demoPipeline(), basePipeline(), odd} {
		want := p.clone()
		want.SetDefaults()
		if errs := want.Validate(); errs != nil {
			t.Fatalf("test pipeline is invalid: %v", errs)
		}
		out, err := MarshalYAML(p)
		if err != nil {
			t.Fatalf("MarshalYAML: %v", err)
		}
		got, err := Parse("round.yml", out)
		if err != nil {
			t.Fatalf("Parse(MarshalYAML(p)): %v\n%s", err, out)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("round trip changed the pipeline:\ngot  %s\nwant %s\nYAML:\n%s", got.Canonical(), want.Canonical(), out)
		}
	}
}

func TestMarshalYAMLGolden(t *testing.T) {
	p := mustParse(t, "p.yml", `name: p
stages:
  - name: Build
    actions:
      - name: Test
        provider: Commands
        commands: [make test]
        configuration: {Poll: false}
        outputArtifacts:
          - name: bin
            files: [bin/*]
          - logs
        outputVariables: [V]
        namespace: test
`)
	want := `name: p
pipelineType: V2
executionMode: SUPERSEDED
stages:
  - name: Build
    actions:
      - name: Test
        actionTypeId:
          category: Compute
          owner: AWS
          provider: Commands
          version: "1"
        runOrder: 1
        configuration:
          Poll: "false"
        commands:
          - make test
        outputArtifacts:
          - name: bin
            files:
              - bin/*
          - logs
        outputVariables:
          - V
        namespace: test
`
	out, err := MarshalYAML(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(out); got != want {
		t.Errorf("MarshalYAML =\n%s\nwant\n%s", got, want)
	}
}
