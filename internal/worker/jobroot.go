package worker

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// A job runs in a directory of its own under WorkRoot, holding its
// workspace (src), and whatever else it needs (inputs, outputs, a
// sandbox's home). Making and removing those directories costs about a
// millisecond each on some virtual disks (ext4's journal), which was a
// quarter of a short action's whole time. So a worker keeps its job
// directory for the next job when the job left it exactly as it found it
// — src and home empty, nothing else — and makes a fresh one otherwise.
// A job can never see what an earlier one left: what is kept is empty.

// jobRoot returns the directory the next job runs in, and whether it is
// new (src still to be made) or the last job's, emptied.
func (w *Worker) jobRoot() (root string, fresh bool, err error) {
	if w.root != "" {
		return w.root, false, nil
	}
	root, err = os.MkdirTemp(w.WorkRoot, "job-")
	if err != nil {
		return "", false, err
	}
	w.root = root
	return root, true, nil
}

// releaseRoot ends a job's use of its directory: kept for the next job when
// it is as a new one would be, removed otherwise.
func (w *Worker) releaseRoot() {
	if w.root == "" || reusable(w.root) {
		return
	}
	w.dropRoot()
}

// dropRoot removes the kept job directory.
func (w *Worker) dropRoot() {
	if w.root != "" {
		os.RemoveAll(w.root)
		w.root = ""
	}
}

// keptDirs are the directories a job directory may hold to be reused, with
// the mode each gets back (a job may have changed it).
var keptDirs = map[string]os.FileMode{"src": 0o755, "home": 0o700}

// reusable reports whether root holds only an empty src (and an empty home
// a sandbox made), plain directories with no access control list that
// would pass on to the next job's files, and resets their modes.
func reusable(root string) bool {
	entries, err := os.ReadDir(root)
	if err != nil {
		return false
	}
	if hasACL(root) {
		return false
	}
	hasSrc := false
	for _, e := range entries {
		mode, ok := keptDirs[e.Name()]
		if !ok || e.Type() != os.ModeDir {
			return false
		}
		dir := filepath.Join(root, e.Name())
		if !emptyDir(dir) || hasACL(dir) || os.Chmod(dir, mode) != nil {
			return false
		}
		hasSrc = hasSrc || e.Name() == "src"
	}
	return hasSrc
}

func emptyDir(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	names, err := f.Readdirnames(1)
	return len(names) == 0 && err != nil
}

// hasACL reports whether dir carries a POSIX access control list or a user
// extended attribute (or the answer cannot be had): a default ACL left by
// one job would give the next job's files permissions it did not ask for,
// and a user.* attribute would carry what one job wrote to the next.
// (security.* and trusted.* need privileges a job does not have.)
func hasACL(dir string) bool {
	size, err := unix.Listxattr(dir, nil)
	if errors.Is(err, unix.EOPNOTSUPP) || err == nil && size == 0 {
		return false
	}
	if err != nil {
		return true
	}
	buf := make([]byte, size)
	if size, err = unix.Listxattr(dir, buf); err != nil {
		return true
	}
	for _, name := range strings.Split(strings.TrimRight(string(buf[:size]), "\x00"), "\x00") {
		if strings.HasPrefix(name, "user.") || strings.HasPrefix(name, "system.posix_acl") {
			return true
		}
	}
	return false
}
