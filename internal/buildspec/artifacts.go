package buildspec

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// ArtifactFile is one file of a build's artifact: where it is in the
// workspace, and its name inside the artifact.
type ArtifactFile struct {
	Source string      // absolute path in the workspace
	Name   string      // slash-separated path inside the artifact
	Mode   fs.FileMode // the file's mode; fs.ModeSymlink for a link kept as a link
	Link   string      // the link's target, for a link kept as a link
}

// Collect lists the files of an artifact as CodeBuild lays them out: the files
// globs are matched under base-directory (or the source directory), names are
// relative to it, exclude-paths drop files, discard-paths keeps only base names,
// and a glob that matches nothing fails the build, as CodeBuild's "no matching
// artifact paths found" does. A glob naming a directory takes the whole
// directory. Symbolic links are followed unless enable-symlinks keeps them.
func (a Artifact) Collect(srcDir string) ([]ArtifactFile, error) {
	base := srcDir
	if a.BaseDirectory != "" {
		if err := relativeGlob("base-directory", a.BaseDirectory); err != nil {
			return nil, err
		}
		base = filepath.Join(srcDir, filepath.FromSlash(a.BaseDirectory))
	}
	if fi, err := os.Stat(base); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("artifacts: base-directory %s: not a directory in the workspace", a.BaseDirectory)
	}
	root := os.DirFS(base)
	byName := map[string]ArtifactFile{}
	var unmatched []string
	for _, pattern := range a.Files {
		if err := relativeGlob("files", pattern); err != nil {
			return nil, err
		}
		pattern = strings.TrimPrefix(path.Clean(filepath.ToSlash(pattern)), "./")
		matches, err := doublestar.Glob(root, pattern, doublestar.WithNoFollow())
		if err != nil {
			return nil, fmt.Errorf("artifacts: files %q: %w", pattern, err)
		}
		found := 0
		for _, m := range matches {
			n, err := a.add(byName, base, m)
			if err != nil {
				return nil, err
			}
			found += n
		}
		if found == 0 {
			unmatched = append(unmatched, pattern)
		}
	}
	if len(unmatched) > 0 {
		return nil, fmt.Errorf("artifacts: no matching artifact paths found for %s", strings.Join(quoteAll(unmatched), ", "))
	}
	out := make([]ArtifactFile, 0, len(byName))
	for _, f := range byName {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// add puts the file (or every file under the directory) at rel into files.
func (a Artifact) add(files map[string]ArtifactFile, base, rel string) (int, error) {
	full := filepath.Join(base, filepath.FromSlash(rel))
	fi, err := os.Lstat(full)
	if err != nil {
		return 0, fmt.Errorf("artifacts: %s: %w", rel, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 && !a.EnableSymlinks {
		if fi, err = os.Stat(full); err != nil {
			return 0, fmt.Errorf("artifacts: %s: a broken symbolic link: %w", rel, err)
		}
	}
	if fi.IsDir() {
		n := 0
		err := filepath.WalkDir(full, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == full {
				return err
			}
			if d.IsDir() && d.Type()&fs.ModeSymlink == 0 {
				return nil
			}
			r, _ := filepath.Rel(base, p)
			k, err := a.add(files, base, filepath.ToSlash(r))
			n += k
			return err
		})
		return n, err
	}
	if a.excluded(rel) {
		return 0, nil
	}
	name := rel
	if a.DiscardPaths {
		name = path.Base(rel)
		if prev, clash := files[name]; clash && prev.Source != full {
			return 0, fmt.Errorf("artifacts: discard-paths puts both %s and %s at %s", prev.Source, full, name)
		}
	}
	f := ArtifactFile{Source: full, Name: name, Mode: fi.Mode()}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if f.Link, err = os.Readlink(full); err != nil {
			return 0, err
		}
	}
	files[name] = f
	return 1, nil
}

func (a Artifact) excluded(rel string) bool {
	for _, p := range a.ExcludePaths {
		p = strings.TrimPrefix(path.Clean(filepath.ToSlash(p)), "./")
		if ok, _ := doublestar.Match(p, rel); ok {
			return true
		}
	}
	return false
}

func relativeGlob(field, p string) error {
	clean := path.Clean(filepath.ToSlash(p))
	if filepath.IsAbs(p) || clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("artifacts: %s %q must stay inside the source directory", field, p)
	}
	return nil
}

func quoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%q", x)
	}
	return out
}

// WriteZip writes files as a zip archive.
func WriteZip(w io.Writer, files []ArtifactFile) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate}
		h.SetMode(f.Mode)
		dst, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if f.Mode&fs.ModeSymlink != 0 {
			if _, err := io.WriteString(dst, f.Link); err != nil {
				return err
			}
			continue
		}
		if err := copyFileTo(dst, f.Source); err != nil {
			return err
		}
	}
	return zw.Close()
}

// WriteDir lays files out under dir, as the artifact would extract.
func WriteDir(dir string, files []ArtifactFile) error {
	for _, f := range files {
		dst := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if f.Mode&fs.ModeSymlink != 0 {
			if err := os.Symlink(f.Link, dst); err != nil && !errors.Is(err, fs.ErrExist) {
				return err
			}
			continue
		}
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, f.Mode.Perm()|0o600)
		if err != nil {
			return err
		}
		if err := copyFileTo(out, f.Source); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
	}
	return nil
}

func copyFileTo(w io.Writer, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	_, err = io.Copy(w, in)
	return err
}
