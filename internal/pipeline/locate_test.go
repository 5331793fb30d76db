package pipeline

import "testing"

func TestLocate(t *testing.T) {
	src := []byte(`name: app
triggers:
  - providerType: Pipeline
    pipeline:
      name: infra
stages:
  - name: Deploy
    actions:
      - name: run
        provider: Noop
      - name: call
        provider: Pipeline
        configuration:
          PipelineName: db
`)
	for _, c := range []struct {
		field string
		line  int
	}{
		{"triggers[0].pipeline.name", 5},
		{"stages[0].actions[1].configuration.PipelineName", 14},
		{"stages[0].actions[1]", 11},
		{"name", 1},
	} {
		if line, written := Locate("app.yml", src, c.field); line != c.line || written != c.field {
			t.Errorf("Locate(%s) = %d %s, want line %d", c.field, line, written, c.line)
		}
	}
	if line, _ := Locate("app.yml", []byte("name: [\n"), "name"); line != 0 {
		t.Errorf("Locate in a file that does not read = %d", line)
	}
}
