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

	"github.com/sluice-ci/sluice/internal/artifact"
)

// ArtifactFile is one file of a build's artifact: where it is in the
// workspace, and its name inside the artifact.
type ArtifactFile struct {
	Source string      // absolute path in the workspace, links resolved
	Name   string      // slash-separated path inside the artifact
	Mode   fs.FileMode // the file's mode; fs.ModeSymlink for a link kept as a link
	Link   string      // the link's target, for a link kept as a link
	// Workspace is the directory Source must stay in; Open goes through an
	// os.Root on it, so a link swapped in after Collect cannot lead out.
	Workspace string
}

// Open opens the file's content for reading, never following a link out of
// its workspace.
func (f ArtifactFile) Open() (*os.File, error) {
	var in *os.File
	var err error
	if f.Workspace == "" {
		in, err = os.Open(f.Source)
	} else {
		rel, rerr := filepath.Rel(f.Workspace, f.Source)
		if rerr != nil || !filepath.IsLocal(rel) {
			return nil, fmt.Errorf("artifacts: %s is outside the workspace", f.Name)
		}
		in, err = os.OpenInRoot(f.Workspace, rel)
	}
	if err != nil {
		return nil, fmt.Errorf("artifacts: %s: %w", f.Name, err)
	}
	fi, err := in.Stat()
	if err != nil {
		in.Close()
		return nil, fmt.Errorf("artifacts: %s: %w", f.Name, err)
	}
	if !fi.Mode().IsRegular() {
		in.Close()
		return nil, fmt.Errorf("artifacts: %s: not a regular file", f.Name)
	}
	return in, nil
}

// LinkError is artifact.LinkError: the artifact collection here and Zip
// refuse links alike.
type LinkError = artifact.LinkError

// Reasons of a LinkError.
const (
	LinkOutside         = artifact.LinkOutside
	LinkDangling        = artifact.LinkDangling
	LinkCycle           = artifact.LinkCycle
	LinkOutsideArtifact = artifact.LinkOutsideArtifact
)

// maxCollect bounds how many paths one artifact looks at and collects, so
// that links to directories that fan out fail instead of running on or filling
// the disk. A variable so that a test can lower it.
var maxCollect = 1_000_000

// Collect lists the files of an artifact as CodeBuild lays them out: the files
// globs are matched under base-directory (or the source directory), names are
// relative to it, exclude-paths drop files, discard-paths keeps only base names,
// and a glob that matches nothing fails the build, as CodeBuild's "no matching
// artifact paths found" does. A glob naming a directory takes the whole
// directory.
//
// srcDir is the workspace, and nothing outside it is ever taken: a symbolic
// link that resolves outside it, to nothing, or into a cycle fails Collect
// with a *LinkError naming the link and its target. With enable-symlinks a
// link is kept as a link (CodeBuild's behaviour); otherwise it is stored as
// what it points to, a directory's link as the directory's files.
func (a Artifact) Collect(srcDir string) ([]ArtifactFile, error) {
	ws, err := filepath.EvalSymlinks(srcDir)
	if err != nil {
		return nil, fmt.Errorf("artifacts: workspace: %w", err)
	}
	if ws, err = filepath.Abs(ws); err != nil {
		return nil, fmt.Errorf("artifacts: workspace: %w", err)
	}
	base := ws
	if a.BaseDirectory != "" {
		if err := relativeGlob("base-directory", a.BaseDirectory); err != nil {
			return nil, err
		}
		b := filepath.Join(ws, filepath.FromSlash(a.BaseDirectory))
		real, err := filepath.EvalSymlinks(b)
		if err == nil && !inside(ws, real) {
			target, _ := os.Readlink(b)
			return nil, fmt.Errorf("artifacts: base-directory %s: %w", a.BaseDirectory, &LinkError{Path: a.BaseDirectory, Target: target, Reason: LinkOutside})
		}
		base = real
	}
	if fi, err := os.Stat(base); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("artifacts: base-directory %s: not a directory in the workspace", a.BaseDirectory)
	}
	c := &collector{a: a, ws: ws, files: map[string]ArtifactFile{}, expanding: map[string]bool{}}
	root := os.DirFS(base)
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
			n, err := c.add(m, filepath.Join(base, filepath.FromSlash(m)))
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
	out := make([]ArtifactFile, 0, len(c.files))
	for _, f := range c.files {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

type collector struct {
	a     Artifact
	ws    string // the workspace, resolved
	files map[string]ArtifactFile
	// expanding holds the directories being taken through links, so that a
	// cycle is reported rather than followed.
	expanding map[string]bool
	// visited counts paths looked at, so that links to directories that fan
	// out (each holding two links to the next) fail rather than run on.
	visited int
}

// inside reports whether the resolved path p is dir or below it.
func inside(dir, p string) bool {
	r, err := filepath.Rel(dir, p)
	return err == nil && (r == "." || filepath.IsLocal(r))
}

// add puts the file at phys (or every file under the directory), named rel
// under the base directory, into the collection. phys is inside the workspace
// and its parent is a real directory.
func (c *collector) add(rel, phys string) (int, error) {
	if c.visited++; c.visited > maxCollect {
		return 0, fmt.Errorf("artifacts: more than %d paths to look at (links to directories that fan out?)", maxCollect)
	}
	fi, err := os.Lstat(phys)
	if err != nil {
		return 0, fmt.Errorf("artifacts: %s: %w", rel, err)
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if c.a.excluded(rel) {
			return 0, nil // an excluded link is not followed
		}
		return c.addLink(rel, phys)
	}
	if fi.IsDir() {
		return c.addDir(rel, phys)
	}
	if !fi.Mode().IsRegular() {
		return 0, nil // sockets, pipes, devices cannot be carried
	}
	return c.put(rel, ArtifactFile{Source: phys, Mode: fi.Mode(), Workspace: c.ws})
}

func (c *collector) addDir(rel, dir string) (int, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("artifacts: %s: %w", rel, err)
	}
	n := 0
	for _, de := range des {
		k, err := c.add(rel+"/"+de.Name(), filepath.Join(dir, de.Name()))
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (c *collector) addLink(rel, phys string) (int, error) {
	target, err := os.Readlink(phys)
	if err != nil {
		return 0, fmt.Errorf("artifacts: %s: %w", rel, err)
	}
	// The link's own directory is real (Glob and the walk do not follow
	// links), so a relative target is read from there.
	lexical := target
	if !filepath.IsAbs(target) {
		lexical = filepath.Join(filepath.Dir(phys), target)
	}
	real, err := filepath.EvalSymlinks(phys)
	if err != nil {
		reason := LinkCycle
		switch {
		case !inside(c.ws, filepath.Clean(lexical)):
			reason = LinkOutside
		case errors.Is(err, fs.ErrNotExist):
			if c.a.EnableSymlinks && !filepath.IsAbs(target) {
				return c.keepLink(rel, target)
			}
			reason = LinkDangling
		case c.a.EnableSymlinks && !filepath.IsAbs(target):
			return c.keepLink(rel, target)
		}
		return 0, &LinkError{Path: rel, Target: target, Reason: reason}
	}
	if !inside(c.ws, real) {
		return 0, &LinkError{Path: rel, Target: target, Reason: LinkOutside}
	}
	if c.a.EnableSymlinks {
		t := target
		if via, err := filepath.EvalSymlinks(lexical); filepath.IsAbs(target) || err != nil || via != real {
			// Point straight at the resolved file when the link's own text
			// would mean something else once extracted.
			if t, err = filepath.Rel(filepath.Dir(phys), real); err != nil {
				return 0, fmt.Errorf("artifacts: %s: %w", rel, err)
			}
		}
		return c.keepLink(rel, t)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return 0, fmt.Errorf("artifacts: %s: %w", rel, err)
	}
	switch {
	case fi.IsDir():
		parent, err := filepath.EvalSymlinks(filepath.Dir(phys))
		if err != nil {
			return 0, fmt.Errorf("artifacts: %s: %w", rel, err)
		}
		// A link to its own directory or an ancestor would hold itself; so
		// would one back into a directory already taken through a link.
		if inside(real, parent) || c.expanding[real] {
			return 0, &LinkError{Path: rel, Target: target, Reason: LinkCycle}
		}
		c.expanding[real] = true
		defer delete(c.expanding, real)
		return c.addDir(rel, real)
	case fi.Mode().IsRegular():
		return c.put(rel, ArtifactFile{Source: real, Mode: fi.Mode(), Workspace: c.ws})
	default:
		return 0, nil
	}
}

// keepLink stores the link at rel as a link (enable-symlinks) if its target
// stays inside the artifact, where Unzip will accept it.
func (c *collector) keepLink(rel, target string) (int, error) {
	t := filepath.ToSlash(target)
	clean := path.Clean(t)
	if path.IsAbs(t) || !filepath.IsLocal(filepath.FromSlash(path.Join(path.Dir(rel), clean))) {
		return 0, &LinkError{Path: rel, Target: target, Reason: LinkOutsideArtifact}
	}
	return c.put(rel, ArtifactFile{Source: "", Mode: fs.ModeSymlink | 0o777, Link: clean})
}

// put adds f under rel, applying exclude-paths and discard-paths.
func (c *collector) put(rel string, f ArtifactFile) (int, error) {
	if c.a.excluded(rel) {
		return 0, nil
	}
	if len(c.files) >= maxCollect {
		return 0, fmt.Errorf("artifacts: more than %d files (links to directories that fan out?)", maxCollect)
	}
	name := rel
	if c.a.DiscardPaths {
		name = path.Base(rel)
		if prev, clash := c.files[name]; clash && (prev.Source != f.Source || prev.Link != f.Link) {
			return 0, fmt.Errorf("artifacts: discard-paths puts both %s and %s at %s", orLink(prev), orLink(f), name)
		}
	}
	f.Name = name
	c.files[name] = f
	return 1, nil
}

func orLink(f ArtifactFile) string {
	if f.Source == "" {
		return "a link to " + f.Link
	}
	return f.Source
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

// WriteZip writes files as a zip archive, with their modification times.
func WriteZip(w io.Writer, files []ArtifactFile) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		if err := writeEntry(zw, f); err != nil {
			return err
		}
	}
	return zw.Close()
}

func writeEntry(zw *zip.Writer, f ArtifactFile) error {
	h := &zip.FileHeader{Name: f.Name, Method: zip.Deflate}
	if f.Mode&fs.ModeSymlink != 0 {
		h.SetMode(f.Mode)
		h.Method = zip.Store
		dst, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = io.WriteString(dst, f.Link)
		return err
	}
	in, err := f.Open()
	if err != nil {
		return err
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return err
	}
	// Without Modified, archive/zip writes the MS-DOS epoch and extracted
	// files would carry the date 1979-11-30.
	h.SetMode(fi.Mode())
	h.Modified = fi.ModTime()
	dst, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, in)
	return err
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
		in, err := f.Open()
		if err != nil {
			return err
		}
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, f.Mode.Perm()|0o600)
		if err != nil {
			in.Close()
			return err
		}
		_, err = io.Copy(out, in)
		in.Close()
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
