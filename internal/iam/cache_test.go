package iam

import "testing"

func TestPoliciesOf(t *testing.T) {
	var c Policies
	if p, err := c.Of("viewer", ""); err != nil || p == nil {
		t.Fatalf("ready-made viewer: %v, %v", p, err)
	}
	if p, err := c.Of("nosuch", ""); err != nil || p != nil {
		t.Fatalf("an unknown name must allow nothing: %v, %v", p, err)
	}
	doc := `{"Statement": [{"Effect": "Allow", "Action": "sluice:GetPipeline", "Resource": "pipeline/app"}]}`
	p1, err := c.Of("custom", doc)
	if err != nil {
		t.Fatal(err)
	}
	if p2, _ := c.Of("custom", doc); p2 != p1 {
		t.Error("the same document was parsed twice")
	}
	if ok, _ := Evaluate(p1, "sluice:GetPipeline", "pipeline/app"); !ok {
		t.Error("the document's statement does not apply")
	}
	if _, err := c.Of("broken", `{"Statement": 1}`); err == nil {
		t.Error("a document that does not parse gave no error")
	}
}
