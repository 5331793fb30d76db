package provider

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// ReadInputFile reads the file at rel, a slash-separated path inside the
// job's first input artifact (its WorkDir), as the AWS deploy and invoke
// actions read the files their configuration names (imagedefinitions.json,
// a state machine's input). The path cannot lead out of the artifact, by
// ".." or by a symlink the artifact carries, and a file over limit bytes is
// refused rather than read whole.
func (j *Job) ReadInputFile(rel string, limit int64) ([]byte, error) {
	if rel == "" || path.IsAbs(rel) || strings.HasPrefix(rel, "/") {
		return nil, fmt.Errorf("%q is not a relative path inside the input artifact", rel)
	}
	clean := path.Clean(rel)
	if clean == ".." || strings.HasPrefix(clean, "../") {
		return nil, fmt.Errorf("%q leads out of the input artifact", rel)
	}
	f, err := os.OpenInRoot(j.WorkDir, clean)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("the input artifact has no file %s", clean)
	}
	if err != nil {
		return nil, fmt.Errorf("open %s in the input artifact: %w", clean, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open %s in the input artifact: %w", clean, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s in the input artifact is not a regular file", clean)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s in the input artifact: %w", clean, err)
	}
	if int64(len(data)) > limit {
		return nil, fmt.Errorf("%s in the input artifact is over %d bytes", clean, limit)
	}
	return data, nil
}
