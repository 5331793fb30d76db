package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuildspecValidate(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yml")
	bad := filepath.Join(dir, "bad.yml")
	os.WriteFile(good, []byte("version: 0.2\nphases:\n  build:\n    commands: [make]\n    comands: [x]\n"), 0o644)
	os.WriteFile(bad, []byte("version: 0.3\n"), 0o644)

	run := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		cmd := newBuildspecCmd(&globals{out: &out, errOut: &errOut})
		cmd.SetArgs(append([]string{"validate"}, args...))
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		err := cmd.Execute()
		return out.String(), errOut.String(), err
	}

	out, errOut, err := run(good)
	if err != nil {
		t.Fatalf("valid file: %v", err)
	}
	if want := good + ": valid (version 0.2, 1 phase)\n"; out != want {
		t.Errorf("stdout %q, want %q", out, want)
	}
	if want := "warning: " + good + ":5: phases.build.comands: unknown key, ignored (did you mean \"commands\"?)\n"; errOut != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}

	out, errOut, err = run(good, bad)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 1 {
		t.Fatalf("err %v, want exit code 1", err)
	}
	if !strings.Contains(out, bad+": invalid (1 error)\n") || !strings.Contains(out, good+": valid") {
		t.Errorf("stdout %q", out)
	}
	if !strings.Contains(errOut, "error: "+bad+":1: version: must be 0.1 or 0.2, not the number 0.3\n") {
		t.Errorf("stderr %q", errOut)
	}
}
