package api

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/sluice-ci/sluice/internal/buildproject"
	"github.com/sluice-ci/sluice/internal/function"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/wire/wiretest"
)

// shows checks that every field of a declaration, fully set, reaches its
// API view under the same JSON name with the same value, except those
// listed in hidden: a field added to a declaration and not to its view
// (or copied wrong) fails here.
func shows(t *testing.T, declared, view any, hidden ...string) {
	t.Helper()
	var d, v map[string]any
	for _, p := range []struct {
		from any
		to   *map[string]any
	}{{declared, &d}, {view, &v}} {
		data, err := json.Marshal(p.from)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, p.to); err != nil {
			t.Fatal(err)
		}
	}
	for key, want := range d {
		if slices.Contains(hidden, key) {
			continue
		}
		if got, ok := v[key]; !ok {
			t.Errorf("%T's %q is not shown by the API (%T)", declared, key, view)
		} else if !reflect.DeepEqual(got, want) {
			t.Errorf("%T's %q is shown as %v, declared %v", declared, key, got, want)
		}
	}
}

func TestViewsShowEveryDeclaredField(t *testing.T) {
	var fn function.Function
	wiretest.Fill(reflect.ValueOf(&fn).Elem())
	shows(t, fn, functionView(service.FunctionInfo{Function: fn}))

	var p buildproject.Project
	wiretest.Fill(reflect.ValueOf(&p).Elem())
	shows(t, p, projectView(service.ProjectInfo{Project: p}))
}
