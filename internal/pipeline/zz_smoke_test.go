package pipeline

import (
	"os"
	"path/filepath"
	"testing"
)

func TestZZSmoke(t *testing.T) {
	for _, dir := range []string{"/work/shared/corpus/pipelines", "/work/shared/corpus/invalid"} {
		files, _ := filepath.Glob(dir + "/*")
		for _, f := range files {
			data, _ := os.ReadFile(f)
			p, err := Parse(filepath.Base(f), data)
			if err != nil {
				s := err.Error()
				if len(s) > 400 {
					s = s[:400]
				}
				t.Logf("%s:\n%s", filepath.Base(f), s)
			} else {
				t.Logf("%s: OK %s %d stages", filepath.Base(f), p.Name, len(p.Stages))
			}
		}
	}
	y := `name: demo
executionMode: queued
variables:
  - name: ENV
    defaultValue: prod
stages:
  - name: Source
    actions:
      - name: Checkout
        provider: Git
        outputArtifacts: [src]
        namespace: source
  - name: Build
    actions:
      - name: Test
        provider: Commands
        inputArtifacts: [src]
        comands: [x]
        commands:
          - make test #{source.CommitId}
          - "echo #{build.X} #{variables.ENVV} #{sourc.A}"
        outputArtifacts:
          - name: bin
            files: [bin/**]
        outputVariables: [VERSION]
        namespace: build
        timeoutInMinutes: 600
`
	_, err := Parse("pipe.yml", []byte(y))
	t.Logf("%v", err)
}
