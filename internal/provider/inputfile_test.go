package provider

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A configuration names files of the input artifact; whoever wrote the
// pipeline or the repository cannot make it read anything else, nor
// anything without bound.
func TestReadInputFile(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret")
	os.WriteFile(secret, []byte("s3cr3t"), 0o600)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "conf", "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "conf", "in.json"), []byte(`{"a": 1}`), 0o644)
	os.WriteFile(filepath.Join(dir, "big.json"), []byte(strings.Repeat("x", 101)), 0o644)
	os.Symlink(secret, filepath.Join(dir, "link"))
	os.Symlink("conf/in.json", filepath.Join(dir, "inner-link"))
	os.Symlink(outside, filepath.Join(dir, "dirlink"))
	j := &Job{WorkDir: dir}

	if got, err := j.ReadInputFile("conf/in.json", 100); err != nil || string(got) != `{"a": 1}` {
		t.Errorf("conf/in.json = %q, %v", got, err)
	}
	if got, err := j.ReadInputFile("inner-link", 100); err != nil || string(got) != `{"a": 1}` {
		t.Errorf("a link inside the artifact = %q, %v; want its target read", got, err)
	}
	for _, tc := range []struct{ path, want string }{
		{"../" + filepath.Base(outside) + "/secret", "leads out of the input artifact"},
		{"conf/../../x", "leads out of the input artifact"},
		{secret, "not a relative path"},
		{"link", "link"},
		{"dirlink/secret", "dirlink/secret"},
		{"conf/sub", "not a regular file"},
		{"big.json", "over 100 bytes"},
		{"none.json", "has no file none.json"},
		{"", "not a relative path"},
	} {
		got, err := j.ReadInputFile(tc.path, 100)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadInputFile(%q) = %q, %v; want an error saying %q", tc.path, got, err, tc.want)
		}
		if strings.Contains(string(got), "s3cr3t") {
			t.Errorf("ReadInputFile(%q) read the file outside the artifact", tc.path)
		}
	}
}
