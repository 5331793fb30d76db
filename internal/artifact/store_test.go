package artifact

import (
	"errors"
	"strings"
	"testing"
)

func TestValidKey(t *testing.T) {
	t.Parallel()
	good := []string{
		"EXECID/Name/JOBID.zip",
		"a",
		"0f8fad5b-d9cb-469f-a165-70867728950e/BuildOutput/7c9e6679.zip",
		"with space/and-dash_and.dots.zip",
		"ünïcödé/ok.zip",
		strings.Repeat("k", MaxKeyLen),
	}
	for _, key := range good {
		if err := ValidKey(key); err != nil {
			t.Errorf("ValidKey(%q) = %v, want nil", key, err)
		}
	}
	bad := map[string]string{
		"":                                    "empty",
		"/etc/passwd":                         "absolute",
		"a/":                                  "slash",
		"..":                                  `".."`,
		"../x":                                `".."`,
		"a/../../x":                           `".."`,
		"a/./b":                               `"."`,
		".":                                   `"."`,
		"a//b":                                "empty segment",
		"a\\..\\b":                            "backslash",
		"a\x00b":                              "NUL",
		"a\nb":                                "control",
		"a\x7fb":                              "control",
		"\xff\xfe":                            "UTF-8",
		".tmp-x":                              "dot",
		"a/.hidden/b":                         "dot",
		strings.Repeat("k", MaxKeyLen+1):      "longer",
		"exec/Name/" + strings.Repeat("/", 2): "slash",
	}
	for key, want := range bad {
		err := ValidKey(key)
		if !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ValidKey(%q) = %v, want ErrInvalidKey", key, err)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ValidKey(%q) = %q, want it to mention %q", key, err, want)
		}
	}
}
