package wire_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/rule"
	"github.com/sluice-ci/sluice/internal/wire"
	"github.com/sluice-ci/sluice/internal/wire/wiretest"
)

// convert moves v into out through JSON, as the API does (api.ruleView).
func convert(t *testing.T, v, out any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
}

// A rule as declared (package rule) and as the API shows it (wire.Rule)
// share their JSON, both ways: a field added to one and not to the other,
// or named differently, fails here rather than vanishing from the API.
func TestRuleMatchesItsDeclaration(t *testing.T) {
	var declared rule.Rule
	wiretest.Fill(reflect.ValueOf(&declared).Elem())
	// Exactly one target kind is set in a real rule; each on its own.
	full := declared.Targets[0]
	var targets []rule.Target
	for i := range reflect.TypeOf(full).NumField() {
		var one rule.Target
		reflect.ValueOf(&one).Elem().Field(i).Set(reflect.ValueOf(full).Field(i))
		targets = append(targets, one)
	}
	declared.Targets = targets

	var shown wire.Rule
	convert(t, declared, &shown)
	var back rule.Rule
	convert(t, shown, &back)
	if !reflect.DeepEqual(declared, back) {
		t.Fatalf("a declared rule lost something through wire.Rule:\n sent %+v\n  got %+v", declared, back)
	}

	// The other way, but for what only the server adds.
	var api wire.Rule
	wiretest.Fill(reflect.ValueOf(&api).Elem())
	api.ARN, api.Created, api.Updated = "", time.Time{}, time.Time{}
	var decl rule.Rule
	convert(t, api, &decl)
	var again wire.Rule
	convert(t, decl, &again)
	if !reflect.DeepEqual(api, again) {
		t.Fatalf("wire.Rule has something a declared rule has not:\n sent %+v\n  got %+v", api, again)
	}
}
