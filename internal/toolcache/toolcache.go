// Package toolcache finds the programs some tests run against (versitygw,
// the CNCF registry, Gitea), built with `go install` (or, for a module whose
// go.mod has replace directives, `go build` in a copy of its source) into a
// directory outside the repository so that one install serves every run on a
// machine. A test installs its tool only when asked to (CI=true, or its own
// opt-in variable), and otherwise skips, saying how to get it.
package toolcache

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Dir is where tools are looked for and installed: $SLUICE_TOOLS, or
// ~/.cache/sluice-tools.
func Dir() (string, error) {
	if d := os.Getenv("SLUICE_TOOLS"); d != "" {
		return filepath.Abs(d)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "sluice-tools"), nil
}

// Tool is a program a test needs.
type Tool struct {
	Name   string // the binary's name, and what messages call it
	Module string // what `go install` builds it from, version included
	OptIn  string // the variable that, set to 1, asks to install it (besides CI=true)
	About  string // how long an install takes, for the skip message ("about 90 s")
	// Build means `go install` refuses the module (its go.mod has replace
	// directives): its source is downloaded with `go mod download`, copied
	// to a writable directory and built there with `go build`. Name should
	// then carry the version (gitea-v1.27.3), as nothing else tells a
	// cached binary's version.
	Build bool
	// Files are directories of the module's source (Build only) that the
	// program reads at run time, kept beside the binary in Name.files/
	// (FilesDir); Gitea built without its bindata tag reads its locales
	// and templates from there.
	Files []string
}

// FilesDir is where a Build tool's Files are kept: bin + ".files".
func FilesDir(bin string) string { return bin + ".files" }

// Find returns the tool's path, installing it first when CI=true or
// t.OptIn=1. When it is missing and not to be installed, bin is "" and skip
// says why and how to get it; an error means an install that failed.
func (t Tool) Find() (bin, skip string, err error) {
	dir, err := Dir()
	if err != nil {
		return "", "", fmt.Errorf("tools directory: %w", err)
	}
	bin = filepath.Join(dir, t.Name)
	if _, err := os.Stat(bin); err == nil {
		if _, err := os.Stat(FilesDir(bin)); err == nil || len(t.Files) == 0 {
			return bin, "", nil
		}
	}
	if os.Getenv("CI") != "true" && os.Getenv(t.OptIn) != "1" {
		how := fmt.Sprintf("GOBIN=%s go install %s", dir, t.Module)
		if t.Build {
			how = fmt.Sprintf("go mod download -json %s, copy its Dir, go build -o %s there", t.Module, bin)
		}
		return "", fmt.Sprintf("%s not found at %s; run with %s=1 (or CI=true) to install it there "+
			"(%s, %s once), or set SLUICE_TOOLS to a directory holding it", t.Name, bin, t.OptIn, how, t.About), nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "installing %s into %s (once per machine)\n", t.Name, dir)
	if t.Build {
		if err := t.build(bin); err != nil {
			return "", "", fmt.Errorf("install %s: %w", t.Name, err)
		}
		fmt.Fprintf(os.Stderr, "installed %s in %s\n", t.Name, time.Since(start).Round(time.Second))
		return bin, "", nil
	}
	cmd := exec.Command("go", "install", t.Module)
	// Outside the module, so that its go.mod and any -mod flag play no part.
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("install %s: %w\n%s", t.Name, err, out)
	}
	fmt.Fprintf(os.Stderr, "installed %s in %s\n", t.Name, time.Since(start).Round(time.Second))
	return bin, "", nil
}

// build downloads the module's source, copies it to a writable directory
// (the module cache is read-only) and builds its main package there into
// bin. The binary is written under another name and renamed, so that a test
// run in parallel never finds half of one.
func (t Tool) build(bin string) error {
	dl := exec.Command("go", "mod", "download", "-json", t.Module)
	dl.Dir = os.TempDir()
	dl.Env = append(os.Environ(), "GOFLAGS=")
	out, err := dl.Output()
	if err != nil {
		return fmt.Errorf("go mod download %s: %w", t.Module, err)
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		return fmt.Errorf("go mod download %s: no source directory in %q (%s)", t.Module, out, mod.Error)
	}
	src, err := os.MkdirTemp("", "sluice-tool-src-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(src)
	// CopyFS makes the copies writable (0666 and the source's execute bits).
	if err := os.CopyFS(src, os.DirFS(mod.Dir)); err != nil {
		return fmt.Errorf("copy %s: %w", mod.Dir, err)
	}
	tmp := bin + ".building-" + fmt.Sprint(os.Getpid())
	defer os.Remove(tmp)
	version := t.Module[strings.LastIndex(t.Module, "@")+1:]
	cmd := exec.Command("go", "build", "-trimpath", "-o", tmp,
		"-ldflags", "-X main.Version="+strings.TrimPrefix(version, "v"), ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	if len(t.Files) > 0 {
		files := FilesDir(bin)
		tmpFiles := files + ".building-" + fmt.Sprint(os.Getpid())
		defer os.RemoveAll(tmpFiles)
		for _, f := range t.Files {
			if err := os.CopyFS(filepath.Join(tmpFiles, f), os.DirFS(filepath.Join(src, f))); err != nil {
				return fmt.Errorf("keep %s: %w", f, err)
			}
		}
		os.RemoveAll(files)
		if err := os.Rename(tmpFiles, files); err != nil {
			return err
		}
	}
	return os.Rename(tmp, bin)
}
