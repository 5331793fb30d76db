package yamlnode

import (
	"errors"
	"testing"
)

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		err  Error
		want string
	}{
		{Error{File: "p.yml", Line: 7, Path: "stages[0].name", Msg: "required"}, "p.yml:7: stages[0].name: required"},
		{Error{File: "p.yml", Path: "name", Msg: "required"}, "p.yml: name: required"},
		{Error{Line: 3, Path: "name", Msg: "required"}, "line 3: name: required"},
		{Error{Path: "name", Msg: "required"}, "name: required"},
		{Error{File: "p.yml", Line: 1, Msg: "empty"}, "p.yml:1: empty"},
		{Error{Msg: "bare"}, "bare"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	list := ErrorList{&tests[0].err, &tests[1].err}
	if got, want := list.Error(), "p.yml:7: stages[0].name: required\np.yml: name: required"; got != want {
		t.Errorf("ErrorList.Error() = %q, want %q", got, want)
	}
	var e *Error
	if !errors.As(list.Err(), &e) || e != &tests[0].err {
		t.Errorf("errors.As did not find the first *Error")
	}
	if err := ErrorList(nil).Err(); err != nil {
		t.Errorf("empty ErrorList.Err() = %v, want nil", err)
	}
}
