package gitsource

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/provider"
)

func writeCodeZip(ctx context.Context, g *git, id string, out provider.Output) error {
	dest, err := filepath.Abs(out.Path)
	if err != nil {
		return fmt.Errorf("output artifact %s: %w", out.Name, err)
	}
	if o, err := g.run(ctx, true, "archive", "--format=zip", "--output="+dest, id); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("output artifact %s: git archive: %s", out.Name, orDefault(lastError(o.stderr), err.Error()))
	}
	return nil
}

func writeCloneRef(ctx context.Context, g *git, src *source, id string, out provider.Output) error {
	if o, err := g.run(ctx, true, "checkout", "-q", "--no-recurse-submodules", "-B", src.branch, id); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("checking out commit %s: %s", id, orDefault(lastError(o.stderr), err.Error()))
	}
	if _, err := g.output(ctx, "branch", "-q", "--set-upstream-to=origin/"+src.branch, src.branch); err != nil {
		return err
	}
	if err := checkSymlinks(g.dir); err != nil {
		return err
	}
	f, err := os.Create(out.Path)
	if err != nil {
		return fmt.Errorf("output artifact %s: %w", out.Name, err)
	}
	if _, err := artifact.ZipWith(ctx, f, g.dir, []string{"**/*"}, artifact.ZipOptions{KeepLinks: true, Stored: gitObject}); err != nil {
		f.Close()
		return fmt.Errorf("output artifact %s: %w", out.Name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("output artifact %s: %w", out.Name, err)
	}
	return nil
}

// checkSymlinks refuses a working copy with a symlink that leads out of it.
// artifact.ZipWith would fail on it naming only the link, and artifact.Unzip
// refuses the link itself, so neither can carry it; this says why.
func checkSymlinks(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == ".git" && d.IsDir() {
			return fs.SkipDir
		}
		if d.Type()&fs.ModeSymlink == 0 {
			return nil
		}
		target, err := os.Readlink(p)
		if err != nil {
			return err
		}
		t := filepath.ToSlash(target)
		if path.IsAbs(t) || filepath.IsAbs(target) || !filepath.IsLocal(filepath.FromSlash(path.Join(path.Dir(rel), t))) {
			return fmt.Errorf("symlink %s points outside the repository (to %s); a %s artifact cannot carry it", rel, target, FormatCloneRef)
		}
		return nil
	})
}

// gitObject reports whether rel is one of git's object files (packs, their
// indexes, loose objects): zlib-compressed already, so the artifact stores
// them as they are rather than deflate them again for nothing. For a clone
// of a large history that is most of the time the artifact took.
func gitObject(rel string) bool { return strings.HasPrefix(rel, ".git/objects/") }
