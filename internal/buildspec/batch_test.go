package buildspec

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestBatchBuilds(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		want []string // identifier:buildspec:VAR=value...
		err  string
	}{
		{"build-list keeps its order", `version: 0.2
batch:
  build-list:
    - identifier: linux
      env: {variables: {OS: linux}}
    - identifier: windows
      buildspec: win.yml
      ignore-failure: true
`, []string{"linux::OS=linux", "windows:win.yml:"}, ""},
		{"build-graph runs dependencies first", `version: 0.2
batch:
  build-graph:
    - identifier: deploy
      depend-on: [test, build]
    - identifier: test
      depend-on: [build]
    - identifier: build
`, []string{"build::", "test::", "deploy::"}, ""},
		{"build-matrix combines", `version: 0.2
batch:
  build-matrix:
    static:
      env: {variables: {CI: "1"}}
    dynamic:
      buildspec: [a.yml, b.yml]
      env:
        variables:
          GO: ["1.25", "1.26"]
`, []string{"build1:a.yml:CI=1,GO=1.25", "build2:a.yml:CI=1,GO=1.26", "build3:b.yml:CI=1,GO=1.25", "build4:b.yml:CI=1,GO=1.26"}, ""},
		{"no batch section", "version: 0.2\nphases: {build: {commands: [true]}}\n", nil, "no batch section"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, _, err := Parse("b.yml", []byte(tc.yaml))
			if err != nil {
				t.Fatal(err)
			}
			builds, err := spec.BatchBuilds()
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, b := range builds {
				var vars []string
				for _, k := range slices.Sorted(maps.Keys(b.Variables)) {
					vars = append(vars, k+"="+b.Variables[k])
				}
				got = append(got, b.Identifier+":"+b.Buildspec+":"+strings.Join(vars, ","))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("builds %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestBatchGraphCycle(t *testing.T) {
	b := []PlannedBuild{{Identifier: "a", DependOn: []string{"b"}}, {Identifier: "b", DependOn: []string{"a"}}}
	if _, err := graphOrder(b); err == nil || !strings.Contains(err.Error(), "cycle among a, b") {
		t.Fatalf("cycle: %v", err)
	}
}
