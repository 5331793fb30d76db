package pipeline

import (
	"errors"
	"reflect"
	"testing"
)

func TestReferences(t *testing.T) {
	tests := []struct {
		in   string
		want []Ref
	}{
		{"", nil},
		{"no references", nil},
		{"#{a.b}", []Ref{{"a", "b"}}},
		{"x #{variables.ENV}-#{codepipeline.PipelineExecutionId}y", []Ref{{"variables", "ENV"}, {"codepipeline", "PipelineExecutionId"}}},
		{"#{a.b} #{a.b} #{c.d} #{a.b}", []Ref{{"a", "b"}, {"c", "d"}}},
		{"#{Source@1.Commit_Id-2}", []Ref{{"Source@1", "Commit_Id-2"}}},
		{"##{a.b}}", []Ref{{"a", "b"}}},
		{"#{#{a.b}", []Ref{{"a", "b"}}},
		{"#{a.b.c} #{a} #{.b} #{a.} #{} #{ a.b } #{a.b", nil},
		{"ruby -e 'puts \"#{1 + 1}\"' #{x.y}", []Ref{{"x", "y"}}},
		{"#{é.b}", nil},
	}
	for _, tt := range tests {
		if got := References(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("References(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestBadReferences(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"#{a.b} plain #{1 + 1} #{x.map { |y| y }} #{", nil},
		{"#{}", []string{`malformed variable reference "#{}" (want #{namespace.name})`}},
		{"#{ENV}", []string{`malformed variable reference "#{ENV}" (want #{namespace.name})`}},
		{"#{a.b.c}", []string{`malformed variable reference "#{a.b.c}" (want #{namespace.name})`}},
		{"#{ a.b }", []string{`malformed variable reference "#{ a.b }" (want #{namespace.name})`}},
		{"echo #{a.b", []string{`unterminated variable reference "#{a.b" (want #{namespace.name})`}},
		{`echo "#{a.b"`, []string{`unterminated variable reference "#{a.b" (want #{namespace.name})`}},
		{"echo #{a.b done", []string{`unterminated variable reference "#{a.b done" (want #{namespace.name})`}},
		{"echo '#{' #{a}", []string{`malformed variable reference "#{a}" (want #{namespace.name})`}},
	}
	for _, tt := range tests {
		var got []string
		for _, b := range badReferences(tt.in) {
			got = append(got, b.Msg)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("badReferences(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	vars := map[Ref]string{
		{"build", "VERSION"}:   "1.2.3",
		{"variables", "ENV"}:   "prod",
		{"loop", "SELF"}:       "#{build.VERSION}",
		{"empty", "VALUE"}:     "",
		{"variables", "DOLLR"}: "$HOME",
	}
	lookup := func(ns, name string) (string, bool) {
		v, ok := vars[Ref{ns, name}]
		return v, ok
	}
	tests := []struct {
		in, want, err string
	}{
		{in: "", want: ""},
		{in: "plain", want: "plain"},
		{in: "v#{build.VERSION}", want: "v1.2.3"},
		{in: "#{variables.ENV}-#{build.VERSION}-#{variables.ENV}", want: "prod-1.2.3-prod"},
		{in: "[#{empty.VALUE}]", want: "[]"},
		{in: "#{variables.DOLLR}", want: "$HOME"},
		// Values are not expanded again.
		{in: "#{loop.SELF}", want: "#{build.VERSION}"},
		// Text that is not a reference stays.
		{in: "#{ENV} #{1 + 1} #{build.VERSION", want: "#{ENV} #{1 + 1} #{build.VERSION"},
		{in: "#{build.VERSON}", err: "unresolved variable #{build.VERSON}"},
		{in: "#{a.b} #{build.VERSION} #{c.d} #{a.b}", err: "unresolved variables #{a.b}, #{c.d}"},
	}
	for _, tt := range tests {
		got, err := Resolve(tt.in, lookup)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("Resolve(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			var ue *UnresolvedError
			if !errors.As(err, &ue) || len(ue.Refs) == 0 {
				t.Errorf("Resolve(%q) error is %T, want *UnresolvedError", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Resolve(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}
