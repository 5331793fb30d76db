// Package toolcache finds the programs some tests run against (versitygw,
// the CNCF registry): a system package's binary where the machine has one
// (Debian's docker-registry is the CNCF registry, installed in seconds by
// test.sh), or one built with `go install` into a directory outside the
// repository so that one install serves every run on a machine. A test
// installs its tool only when asked to (CI=true, or its own opt-in variable),
// and otherwise skips, saying how to get it.
package toolcache

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// The tools sluice's tests run against, defined once for the unit and the
// end-to-end tests.
var (
	// VersityGW is the S3-compatible server (../shared/RECIPES.md, "An
	// S3-compatible server").
	VersityGW = Tool{Name: "versitygw", Module: "github.com/versity/versitygw/cmd/versitygw@v1.8.0",
		OptIn: "SLUICE_S3_TESTS", About: "about three minutes on 2 cores"}
	// Registry is the CNCF distribution registry: Debian's docker-registry
	// package where there is one (test.sh installs it), else a build of
	// the module.
	Registry = Tool{Name: "registry", Module: "github.com/distribution/distribution/v3/cmd/registry@v3.1.2",
		OptIn: "SLUICE_REGISTRY_TESTS", About: "about three minutes on 2 cores", System: "/usr/bin/docker-registry"}
)

// Tool is a program a test needs.
type Tool struct {
	Name   string // the binary's name, and what messages call it
	Module string // what `go install` builds it from, version included
	OptIn  string // the variable that, set to 1, asks to install it (besides CI=true)
	About  string // how long an install takes, for the skip message ("about 90 s")
	// System, when set, is where a system package installs the same
	// program (/usr/bin/docker-registry): used when present, before a
	// build of Module.
	System string
}

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
		return bin, "", nil
	}
	if t.System != "" {
		if _, err := os.Stat(t.System); err == nil {
			return t.System, "", nil
		}
	}
	if os.Getenv("CI") != "true" && os.Getenv(t.OptIn) != "1" {
		return "", fmt.Sprintf("%s not found at %s; run with %s=1 (or CI=true) to install it there "+
			"(GOBIN=%s go install %s, %s once), or set SLUICE_TOOLS to a directory holding it", t.Name, bin, t.OptIn, dir, t.Module, t.About), nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	start := time.Now()
	fmt.Fprintf(os.Stderr, "installing %s into %s (once per machine)\n", t.Name, dir)
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
