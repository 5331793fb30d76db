package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadParametersFile(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct {
		src  string
		want map[string]string
		err  string
	}{
		"aws cli":                {`[{"ParameterKey": "Env", "ParameterValue": "prod"}, {"ParameterKey": "N", "ParameterValue": "3"}]`, map[string]string{"Env": "prod", "N": "3"}, ""},
		"template configuration": {`{"Parameters": {"Env": "dev", "Size": 2}, "Tags": {"team": "web"}}`, map[string]string{"Env": "dev", "Size": "2"}, ""},
		"mapping":                {"Env: qa\nFlag: true\n", map[string]string{"Env": "qa", "Flag": "true"}, ""},
		"incomplete item":        {`[{"ParameterKey": "Env"}]`, nil, "item 0: each item needs ParameterKey and ParameterValue"},
		"nested value":           {`{"Env": {"a": 1}}`, nil, "Env: a parameter's value is a string"},
		"not a mapping":          {`"just a string"`, nil, "not a list of {ParameterKey, ParameterValue}"},
	} {
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		if err := os.WriteFile(f, []byte(c.src), 0o644); err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		err := readParametersFile(f, got)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: %v, want %q", name, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%s: %s = %q, want %q (%v)", name, k, got[k], v, got)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("%s: %v", name, got)
		}
	}
}
