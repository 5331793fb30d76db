package artifact

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// Zip writes to w a zip of the files under root that match globs, and returns
// how many files and symlinks it holds (directories are not counted).
//
// Globs are doublestar patterns, relative to root and slash-separated; "**/*"
// matches everything. A glob that matches a directory takes the directory with
// everything below it, so that naming a directory in the files of a Commands
// action does what its user means. Like CodeBuild, which fails a build with "no
// matching artifact paths found", Zip fails when any glob matches nothing, and
// the error names every such glob. Globs that are absolute or contain a ".."
// segment are refused before anything is written. Directories that no glob can
// reach (by its literal prefix, such as "dist" in "dist/**/*.js") are not read.
//
// Entries keep their path relative to root, their permission bits and their
// modification time, and come in lexical order so the same tree gives the same
// entry list. Directories are entries too, so empty ones survive a round trip.
//
// Artifacts never follow a link out of root: root is what the code that made
// it was trusted with, and the worker zipping it is not in its sandbox. A
// symlink that resolves inside root is stored as what it points to (a file's
// content, a directory's tree); one that resolves outside root, or to nothing,
// fails Zip with a *LinkError naming the link and its target. A link to a
// directory that leads back to itself fails as a cycle instead of filling the
// zip. Symlinked directories are not descended while matching globs: a glob
// matches the link, which then takes the directory. Every file is opened
// through an os.Root on root, so a link swapped in while Zip runs cannot lead
// out either. ZipWith can keep links as links instead. Sockets, pipes and
// devices are skipped: builds leave such things around and they cannot be
// carried in a zip.
//
// On error, what was written to w is not a valid artifact. w must not be a file
// under root.
func Zip(ctx context.Context, w io.Writer, root string, globs []string) (files int, err error) {
	return ZipWith(ctx, w, root, globs, ZipOptions{})
}

// ZipOptions change how Zip stores what it finds.
type ZipOptions struct {
	// KeepLinks stores a symlink that resolves inside root, or that dangles
	// but names a place inside root, as a symlink with a relative target
	// (CodeBuild's enable-symlinks), so that Unzip restores it as one. Links
	// leading outside root still fail.
	KeepLinks bool
	// Stored, when set, names the files (by slash-separated path relative
	// to root) kept without compression: data compressed already, such as
	// git's packs and loose objects, which deflate cannot shrink and only
	// slows down.
	Stored func(rel string) bool
}

// LinkError is a symbolic link that an artifact cannot carry: it leads
// outside the workspace, cannot be resolved, or loops. Artifacts never follow
// a link out of the workspace: the worker collecting them runs outside the
// job's sandbox. Zip and the buildspec's artifact collection both report it.
type LinkError struct {
	Path   string // slash-separated, relative to the workspace (or the artifact's base directory)
	Target string // as the link says
	Reason string
}

func (e *LinkError) Error() string {
	return fmt.Sprintf("symbolic link %s -> %s %s", e.Path, e.Target, e.Reason)
}

// Reasons of a LinkError.
const (
	LinkOutside         = "points outside the workspace; artifacts never follow a link out of it"
	LinkDangling        = "points to nothing"
	LinkCycle           = "leads back into a directory it is in (a cycle)"
	LinkOutsideArtifact = "points outside the artifact's base directory, where enable-symlinks cannot keep it"
)

// maxZipEntries bounds what Zip writes, so that links that fan out (a
// directory holding two links to the next, and so on) fail rather than fill
// the disk; Unzip would refuse more anyway.
const maxZipEntries = MaxUnzipEntries

// ZipWith is Zip with options.
func ZipWith(ctx context.Context, w io.Writer, root string, globs []string, opts ZipOptions) (files int, err error) {
	patterns, err := cleanGlobs(globs)
	if err != nil {
		return 0, fmt.Errorf("zip: %w", err)
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return 0, fmt.Errorf("zip: %w", err)
	}
	// Resolving root once lets "inside root" be a plain prefix test on
	// resolved paths, whatever symlinks lead to root itself.
	realRoot, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return 0, fmt.Errorf("zip: %w", err)
	}
	if fi, err := os.Stat(realRoot); err != nil {
		return 0, fmt.Errorf("zip: %w", err)
	} else if !fi.IsDir() {
		return 0, fmt.Errorf("zip: root %s is not a directory", root)
	}

	fsRoot, err := os.OpenRoot(realRoot)
	if err != nil {
		return 0, fmt.Errorf("zip: %w", err)
	}
	defer fsRoot.Close()

	z := &zipper{ctx: ctx, zw: zip.NewWriter(w), realRoot: realRoot, root: fsRoot, keepLinks: opts.KeepLinks, stored: opts.Stored, expanding: map[string]bool{}}
	matched := make([]bool, len(patterns))
	included := map[string]bool{} // directories taken whole, by root-relative path
	bases := make([]string, len(patterns))
	for i, pat := range patterns {
		bases[i] = literalBase(pat)
	}

	err = filepath.WalkDir(realRoot, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == realRoot {
			return nil
		}
		rel, err := filepath.Rel(realRoot, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		take := included[path.Dir(rel)]
		for i, pat := range patterns {
			// Keep matching after a hit so every glob gets credit for what
			// it matched, even inside a directory another glob took.
			if pat == "" || doublestar.MatchUnvalidated(pat, rel) {
				matched[i] = true
				take = true
			}
		}
		if !take {
			if de.IsDir() && !mayHoldMatches(bases, rel) {
				// Skipping saves walking a node_modules or .git that no
				// glob can reach, and reading what the build cannot.
				return fs.SkipDir
			}
			return nil
		}
		if de.IsDir() {
			included[rel] = true
		}
		return z.add(rel, p, de.Type())
	})
	if err != nil {
		return 0, fmt.Errorf("zip: %w", err)
	}
	var missing []string
	for i, ok := range matched {
		if !ok {
			missing = append(missing, fmt.Sprintf("%q", globs[i]))
		}
	}
	if len(missing) > 0 {
		return 0, fmt.Errorf("zip: no files match %s", strings.Join(missing, ", "))
	}
	if err := z.zw.Close(); err != nil {
		return 0, fmt.Errorf("zip: %w", err)
	}
	return z.files, nil
}

// cleanGlobs validates globs and returns them without a leading "./" or
// trailing "/"; "" stands for a glob meaning root itself, which takes all.
func cleanGlobs(globs []string) ([]string, error) {
	if len(globs) == 0 {
		return nil, errors.New("no file globs")
	}
	out := make([]string, len(globs))
	for i, g := range globs {
		switch {
		case strings.TrimSpace(g) == "":
			return nil, fmt.Errorf("glob %q: empty", g)
		case strings.HasPrefix(g, "/") || filepath.IsAbs(g):
			return nil, fmt.Errorf("glob %q: absolute; globs are relative to the working directory", g)
		case strings.ContainsRune(g, 0):
			return nil, fmt.Errorf("glob %q: contains NUL", g)
		}
		for seg := range strings.SplitSeq(g, "/") {
			if seg == ".." {
				return nil, fmt.Errorf("glob %q: \"..\" would leave the working directory", g)
			}
		}
		if !doublestar.ValidatePattern(g) {
			return nil, fmt.Errorf("glob %q: %w", g, doublestar.ErrBadPattern)
		}
		// Clean after the ".." check, so "a/../b" is refused rather than
		// quietly rewritten.
		c := path.Clean(g)
		if c == "." {
			c = ""
		}
		out[i] = c
	}
	return out, nil
}

// literalBase returns the directory part of pat before any wildcard, or ""
// when matches may be anywhere.
func literalBase(pat string) string {
	if pat == "" {
		return ""
	}
	base, _ := doublestar.SplitPattern(pat)
	if base == "." {
		return ""
	}
	return base
}

// mayHoldMatches reports whether the directory rel is on the way to, or
// inside, the literal base of some pattern.
func mayHoldMatches(bases []string, rel string) bool {
	for _, b := range bases {
		if b == "" || b == rel || strings.HasPrefix(b, rel+"/") || strings.HasPrefix(rel, b+"/") {
			return true
		}
	}
	return false
}

type zipper struct {
	ctx       context.Context
	zw        *zip.Writer
	realRoot  string
	root      *os.Root // on realRoot: every read goes through it
	keepLinks bool
	stored    func(rel string) bool
	files     int
	entries   int
	// expanding holds the directories being copied in through symlinks, so
	// that a link cycle is reported instead of followed forever.
	expanding map[string]bool
}

// add writes the entry rel for the file at p, whose type (from Lstat) is typ.
// p is a resolved path inside realRoot.
func (z *zipper) add(rel, p string, typ fs.FileMode) error {
	switch {
	case typ.IsDir():
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		return z.addDir(rel, fi)
	case typ.IsRegular():
		return z.addFile(rel, p)
	case typ&fs.ModeSymlink != 0:
		return z.addLink(rel, p)
	default:
		return nil
	}
}

func (z *zipper) header(h *zip.FileHeader) (io.Writer, error) {
	z.entries++
	if z.entries > maxZipEntries {
		return nil, fmt.Errorf("more than %d entries (links to directories that fan out?)", maxZipEntries)
	}
	return z.zw.CreateHeader(h)
}

func (z *zipper) addDir(rel string, fi fs.FileInfo) error {
	h, err := zip.FileInfoHeader(fi)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	h.Name = rel + "/"
	h.Method = zip.Store
	if _, err := z.header(h); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	return nil
}

// addFile stores the content of the file at p, a path inside realRoot, as rel.
// It opens p through the os.Root, which follows links only inside root, so a
// path changed since it was looked at cannot lead out; the header comes from
// what was opened.
func (z *zipper) addFile(rel, p string) error {
	inRoot, ok := z.rootRel(p)
	if !ok {
		return &LinkError{Path: rel, Target: p, Reason: LinkOutside}
	}
	f, err := z.root.Open(filepath.FromSlash(inRoot))
	if err != nil {
		if strings.Contains(err.Error(), "escapes from parent") {
			return &LinkError{Path: rel, Target: inRoot, Reason: LinkOutside}
		}
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	h, err := zip.FileInfoHeader(fi)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	h.Name = rel
	h.Method = zip.Deflate
	if z.stored != nil && z.stored(rel) {
		h.Method = zip.Store
	}
	fw, err := z.header(h)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	if _, err := io.Copy(fw, ctxReader{ctx: z.ctx, r: f}); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	z.files++
	return nil
}

// addLink stores the symlink at p (inside realRoot) as rel: as a link with
// keepLinks, otherwise as what it points to; either way only if it resolves
// inside root.
func (z *zipper) addLink(rel, p string) error {
	target, err := os.Readlink(p)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		// A dangling or looping link has no content to copy, so it can only
		// be kept as a link, and only if it names a place inside root.
		if t, ok := localTarget(rel, target); ok && z.keepLinks {
			return z.writeLink(rel, t)
		}
		if errors.Is(err, fs.ErrNotExist) {
			if _, ok := localTarget(rel, target); !ok {
				return &LinkError{Path: rel, Target: target, Reason: LinkOutside}
			}
			return &LinkError{Path: rel, Target: target, Reason: LinkDangling}
		}
		return &LinkError{Path: rel, Target: target, Reason: LinkCycle}
	}
	inRoot, ok := z.rootRel(real)
	if !ok {
		return &LinkError{Path: rel, Target: target, Reason: LinkOutside}
	}

	if z.keepLinks {
		// Keep the link's own target when it means the same thing in the
		// archive, so chains like lib.so -> lib.so.1 -> lib.so.1.2 survive;
		// otherwise point straight at the resolved file.
		if t, ok := localTarget(rel, target); ok {
			via, err := filepath.EvalSymlinks(filepath.Join(z.realRoot, filepath.FromSlash(path.Join(path.Dir(rel), t))))
			if err == nil && via == real {
				return z.writeLink(rel, t)
			}
		}
		t, err := filepath.Rel(filepath.FromSlash(path.Dir(rel)), filepath.FromSlash(inRoot))
		if err != nil {
			return fmt.Errorf("symlink %s: %w", rel, err)
		}
		return z.writeLink(rel, filepath.ToSlash(t))
	}

	fi, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("symlink %s: %w", rel, err)
	}
	switch {
	case fi.Mode().IsRegular():
		return z.addFile(rel, real)
	case fi.IsDir():
		return z.addLinkedDir(rel, target, filepath.Dir(p), real, fi)
	default:
		return nil
	}
}

// addLinkedDir copies in, as rel, the tree of the directory dir inside root
// that a symlink with the given target in the directory parent points to.
func (z *zipper) addLinkedDir(rel, target, parent, dir string, fi fs.FileInfo) error {
	realParent, err := filepath.EvalSymlinks(parent)
	if err != nil {
		return fmt.Errorf("symlink %s: %w", rel, err)
	}
	// A link to its own directory or an ancestor would hold itself; so would
	// one back into a directory already being copied in through a link.
	if r, err := filepath.Rel(dir, realParent); err == nil && (r == "." || filepath.IsLocal(r)) || z.expanding[dir] {
		return &LinkError{Path: rel, Target: target, Reason: LinkCycle}
	}
	z.expanding[dir] = true
	defer delete(z.expanding, dir)

	if err := z.addDir(rel, fi); err != nil {
		return err
	}
	inRoot, _ := z.rootRel(dir)
	d, err := z.root.Open(filepath.FromSlash(inRoot))
	if err != nil {
		return fmt.Errorf("symlink %s: %w", rel, err)
	}
	des, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return fmt.Errorf("symlink %s: %w", rel, err)
	}
	slices.SortFunc(des, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, de := range des {
		if err := z.ctx.Err(); err != nil {
			return err
		}
		if err := z.addIn(rel+"/"+de.Name(), filepath.Join(dir, de.Name()), de.Type()); err != nil {
			return err
		}
	}
	return nil
}

// addIn is add for an entry met while copying a linked directory: real
// directories are walked too.
func (z *zipper) addIn(rel, p string, typ fs.FileMode) error {
	if !typ.IsDir() {
		return z.add(rel, p, typ)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if err := z.addDir(rel, fi); err != nil {
		return err
	}
	inRoot, ok := z.rootRel(p)
	if !ok {
		return &LinkError{Path: rel, Target: p, Reason: LinkOutside}
	}
	d, err := z.root.Open(filepath.FromSlash(inRoot))
	if err != nil {
		return err
	}
	des, err := d.ReadDir(-1)
	d.Close()
	if err != nil {
		return err
	}
	slices.SortFunc(des, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	for _, de := range des {
		if err := z.ctx.Err(); err != nil {
			return err
		}
		if err := z.addIn(rel+"/"+de.Name(), filepath.Join(p, de.Name()), de.Type()); err != nil {
			return err
		}
	}
	return nil
}

func (z *zipper) writeLink(rel, target string) error {
	h := &zip.FileHeader{Name: rel, Method: zip.Store}
	h.SetMode(fs.ModeSymlink | 0o777)
	fw, err := z.header(h)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	if _, err := io.WriteString(fw, target); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	z.files++
	return nil
}

// rootRel returns the slash-separated path of the resolved path real relative
// to root, and whether real is inside root (root itself counts).
func (z *zipper) rootRel(real string) (string, bool) {
	r, err := filepath.Rel(z.realRoot, real)
	if err != nil || !filepath.IsLocal(r) {
		return "", false
	}
	return filepath.ToSlash(r), true
}

// localTarget cleans the target of a link stored at name and reports whether
// it is relative and stays inside the archive's root. Unzip applies the same
// rule, so what Zip keeps as a link Unzip restores as one.
func localTarget(name, target string) (string, bool) {
	if target == "" || strings.HasPrefix(target, "/") || filepath.IsAbs(target) ||
		strings.ContainsAny(target, "\\\x00") {
		return "", false
	}
	t := path.Clean(target)
	if !filepath.IsLocal(filepath.FromSlash(path.Join(path.Dir(name), t))) {
		return "", false
	}
	return t, true
}

// Limits on what Unzip extracts, so that a zip bomb fails fast instead of
// filling the disk or the inode table of a worker.
const (
	MaxUnzipSize    int64 = 10 << 30 // total uncompressed bytes
	MaxUnzipEntries       = 1_000_000
	// maxLinkTarget bounds the content read for a symlink entry; PATH_MAX is
	// 4096 on Linux.
	maxLinkTarget = 4096
)

type unzipLimits struct {
	size    int64
	entries int
}

// UnzipFile extracts the zip file at path into dest; see Unzip.
func UnzipFile(ctx context.Context, path, dest string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("unzip: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("unzip: %w", err)
	}
	return Unzip(ctx, f, fi.Size(), dest)
}

// Unzip extracts the zip read from r (size bytes long) into dest, creating dest
// and parent directories as needed.
//
// It treats the archive as hostile. Before anything is written it refuses the
// whole archive if an entry's name is absolute, contains a ".." segment, a
// backslash or NUL; if a name is used twice or as both a file and a directory;
// if a symlink's target is absolute or leads outside dest; if a file would be
// written below a symlink entry; or if the archive declares more than
// MaxUnzipEntries entries or MaxUnzipSize bytes. While writing, every path goes
// through an os.Root on dest, files are created exclusively (never truncating
// or following an existing name), and a path through any symlink, including
// one already in dest, is refused. Symlinks are created last, so no entry is
// written through one. Symlinks already in dest are the caller's: a link from
// the archive may point at one.
//
// Permission bits are restored without setuid, setgid and sticky bits; entries
// from archives made on systems without Unix modes get 0644 and 0755, and
// directories always keep rwx for the owner, so dest can be removed. File
// modification times are restored. Errors name the offending entry. On error,
// dest may hold part of the archive and should be discarded.
func Unzip(ctx context.Context, r io.ReaderAt, size int64, dest string) error {
	return unzip(ctx, r, size, dest, unzipLimits{size: MaxUnzipSize, entries: MaxUnzipEntries})
}

type entryKind int

const (
	kindDir entryKind = iota
	kindFile
	kindLink
)

type entry struct {
	f      *zip.File
	name   string // cleaned, slash-separated, local
	kind   entryKind
	target string // cleaned, for links
}

func unzip(ctx context.Context, r io.ReaderAt, size int64, dest string, lim unzipLimits) error {
	zr, err := zip.NewReader(r, size)
	// ErrInsecurePath (under GODEBUG=zipinsecurepath=0) still returns a usable
	// reader; plan refuses those entries with a message naming them.
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fmt.Errorf("unzip: %w", err)
	}
	entries, err := plan(zr, lim)
	if err != nil {
		return fmt.Errorf("unzip: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("unzip: %w", err)
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return fmt.Errorf("unzip: %w", err)
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return fmt.Errorf("unzip: %w", err)
	}
	defer root.Close()

	x := &extractor{ctx: ctx, root: root, left: lim.size, dirs: map[string]bool{".": true}}
	for _, e := range entries {
		if e.kind == kindLink {
			continue
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("unzip: %w", err)
		}
		if err := x.extract(e); err != nil {
			return fmt.Errorf("unzip: entry %q: %w", e.f.Name, err)
		}
	}
	for _, e := range entries {
		if e.kind != kindLink {
			continue
		}
		if err := x.link(e); err != nil {
			return fmt.Errorf("unzip: entry %q: %w", e.f.Name, err)
		}
	}
	// Directory modes go on last and deepest first, so a read-only directory
	// does not stop its own entries from being written. The owner always
	// keeps rwx on directories so that a worker can delete what it extracted.
	var dirs []entry
	for _, e := range entries {
		if e.kind == kindDir {
			dirs = append(dirs, e)
		}
	}
	slices.SortStableFunc(dirs, func(a, b entry) int {
		return strings.Count(b.name, "/") - strings.Count(a.name, "/")
	})
	for _, e := range dirs {
		if err := root.Chmod(filepath.FromSlash(e.name), entryPerm(e.f, 0o755)|0o700); err != nil {
			return fmt.Errorf("unzip: entry %q: %w", e.f.Name, err)
		}
	}
	return nil
}

// plan checks the whole archive before anything touches the disk, and returns
// its entries with clean names, in archive order, without repeated directories.
func plan(zr *zip.Reader, lim unzipLimits) ([]entry, error) {
	if len(zr.File) > lim.entries {
		return nil, fmt.Errorf("%d entries, more than the limit of %d", len(zr.File), lim.entries)
	}
	var total uint64
	for _, f := range zr.File {
		// archive/zip fails a read past the declared size, so the declared
		// sizes bound what can be written.
		total += min(f.UncompressedSize64, uint64(lim.size)+1)
		if total > uint64(lim.size) {
			return nil, fmt.Errorf("entry %q: archive expands to more than the limit of %d bytes", f.Name, lim.size)
		}
	}

	kinds := map[string]entryKind{}
	entries := make([]entry, 0, len(zr.File))
	for _, f := range zr.File {
		e, skip, err := checkEntry(f)
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", f.Name, err)
		}
		if skip {
			continue
		}
		// Every ancestor must be a directory, and nothing may be both a
		// directory and something else: that is what stops a file from
		// being written through a symlink entry, whatever the order.
		for dir := path.Dir(e.name); dir != "."; dir = path.Dir(dir) {
			if k, ok := kinds[dir]; ok && k != kindDir {
				return nil, fmt.Errorf("entry %q: %q is not a directory in this archive", f.Name, dir)
			}
			kinds[dir] = kindDir
		}
		if k, ok := kinds[e.name]; ok {
			if k == kindDir && e.kind == kindDir {
				continue
			}
			if k == kindDir || e.kind == kindDir {
				return nil, fmt.Errorf("entry %q: %q is both a directory and a file or symlink", f.Name, e.name)
			}
			return nil, fmt.Errorf("entry %q: %q appears more than once", f.Name, e.name)
		}
		kinds[e.name] = e.kind
		entries = append(entries, e)
	}
	return entries, nil
}

// checkEntry validates one entry's name, type and, for a symlink, target.
// skip is true for a directory entry naming the root itself ("./").
func checkEntry(f *zip.File) (e entry, skip bool, err error) {
	name := f.Name
	switch {
	case name == "":
		return e, false, errors.New("empty name")
	case strings.ContainsRune(name, 0):
		return e, false, errors.New("name contains NUL")
	case strings.ContainsRune(name, '\\'):
		return e, false, errors.New("name contains a backslash")
	case strings.HasPrefix(name, "/"):
		return e, false, errors.New("absolute name")
	}
	for seg := range strings.SplitSeq(name, "/") {
		if seg == ".." {
			return e, false, errors.New("name contains \"..\"")
		}
	}
	mode := f.Mode()
	isDir := strings.HasSuffix(name, "/") || mode.IsDir()
	clean := path.Clean(name)
	if clean == "." {
		if isDir {
			return e, true, nil
		}
		return e, false, errors.New("file entry without a name")
	}
	if !filepath.IsLocal(filepath.FromSlash(clean)) {
		return e, false, errors.New("name is not a local path")
	}
	e = entry{f: f, name: clean}
	switch {
	case mode&fs.ModeSymlink != 0:
		e.kind = kindLink
		target, err := readLinkTarget(f)
		if err != nil {
			return e, false, err
		}
		t, ok := localTarget(clean, target)
		if !ok {
			return e, false, fmt.Errorf("symlink target %q is absolute or outside the destination", target)
		}
		e.target = t
	case isDir:
		e.kind = kindDir
	case mode.Type() != 0:
		return e, false, fmt.Errorf("unsupported file type %s", mode.Type())
	default:
		e.kind = kindFile
	}
	return e, false, nil
}

func readLinkTarget(f *zip.File) (string, error) {
	if f.UncompressedSize64 > maxLinkTarget {
		return "", fmt.Errorf("symlink target longer than %d bytes", maxLinkTarget)
	}
	rc, err := f.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, maxLinkTarget+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxLinkTarget {
		return "", fmt.Errorf("symlink target longer than %d bytes", maxLinkTarget)
	}
	return string(b), nil
}

type extractor struct {
	ctx  context.Context
	root *os.Root
	left int64 // bytes still allowed
	// dirs are directories known to be real (not symlinks) in dest.
	dirs map[string]bool
}

func (x *extractor) extract(e entry) error {
	if e.kind == kindDir {
		return x.mkdir(e.name)
	}
	if err := x.mkdir(path.Dir(e.name)); err != nil {
		return err
	}
	name := filepath.FromSlash(e.name)
	rc, err := e.f.Open()
	if err != nil {
		return err
	}
	defer rc.Close()
	// O_EXCL never follows a symlink at name and never clobbers a file that
	// was there before.
	out, err := x.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(out, io.LimitReader(ctxReader{ctx: x.ctx, r: rc}, x.left+1))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n > x.left {
		return errors.New("archive expands past the size limit")
	}
	x.left -= n
	if err := x.root.Chmod(name, entryPerm(e.f, 0o644)); err != nil {
		return err
	}
	if !e.f.Modified.IsZero() {
		if err := x.root.Chtimes(name, e.f.Modified, e.f.Modified); err != nil {
			return err
		}
	}
	return nil
}

func (x *extractor) link(e entry) error {
	if err := x.mkdir(path.Dir(e.name)); err != nil {
		return err
	}
	return x.root.Symlink(filepath.FromSlash(e.target), filepath.FromSlash(e.name))
}

// mkdir creates dir and its parents in dest, refusing to pass through anything
// that is not a real directory.
func (x *extractor) mkdir(dir string) error {
	if x.dirs[dir] {
		return nil
	}
	if err := x.mkdir(path.Dir(dir)); err != nil {
		return err
	}
	name := filepath.FromSlash(dir)
	fi, err := x.root.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if err := x.root.Mkdir(name, 0o755); err != nil {
			return err
		}
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("%q is a symlink in the destination", dir)
	case !fi.IsDir():
		return fmt.Errorf("%q is not a directory in the destination", dir)
	}
	x.dirs[dir] = true
	return nil
}

// entryPerm returns the permission bits to give an extracted entry. Only
// Unix-made archives carry meaningful modes; Perm drops setuid, setgid and
// sticky, which an artifact has no business setting.
func entryPerm(f *zip.File, def fs.FileMode) fs.FileMode {
	const creatorUnix, creatorMacOSX = 3, 19
	switch f.CreatorVersion >> 8 {
	case creatorUnix, creatorMacOSX:
		if f.ExternalAttrs>>16 != 0 {
			return f.Mode().Perm()
		}
	}
	return def
}
