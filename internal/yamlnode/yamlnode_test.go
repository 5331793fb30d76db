package yamlnode

import (
	"testing"

	"gopkg.in/yaml.v3"
)

func TestHelpers(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("a: &x 3\nb: *x\nc: ~\nd: [1]\ne: true\nf: text\n"), &doc); err != nil {
		t.Fatal(err)
	}
	m := doc.Content[0]
	want := map[string]string{"a": "the number 3", "b": "the number 3", "c": "null", "d": "a list", "e": "true", "f": `"text"`}
	for i := 0; i < len(m.Content); i += 2 {
		k, v := m.Content[i].Value, Resolve(m.Content[i+1])
		if got := Describe(v); got != want[k] {
			t.Errorf("%s: Describe = %q, want %q", k, got, want[k])
		}
		if IsNull(v) != (k == "c") {
			t.Errorf("%s: IsNull = %v", k, IsNull(v))
		}
	}
	if n := Resolve(nil); !IsNull(n) {
		t.Fatal("a missing node is not null")
	}
	loop := &yaml.Node{Kind: yaml.AliasNode}
	loop.Alias = loop
	if n := Resolve(loop); !IsNull(n) {
		t.Fatal("an alias cycle is not cut")
	}
}
