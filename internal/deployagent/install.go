package deployagent

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/sluice-ci/sluice/internal/appspec"
)

// install is the Install event: remove what the group's last deployment
// installed, copy the files, set the permissions, and record what was
// installed for the next deployment to remove.
func (a *Agent) install(d Deployment, spec *appspec.Spec, archive string, log io.Writer) error {
	gdir := a.groupDir(d)
	cleanup := filepath.Join(gdir, "installed-files.txt")
	if err := a.removeInstalled(cleanup, log); err != nil {
		return err
	}
	var installed []string
	seen := map[string]bool{}
	record := func(p string) {
		if !seen[p] {
			seen[p] = true
			installed = append(installed, p)
		}
	}
	var err error
	for _, f := range spec.Files {
		if err = a.copyEntry(spec, f, archive, record, log); err != nil {
			break
		}
	}
	// What was copied is recorded even when the copy failed part way, so
	// the next deployment cleans it up.
	if werr := writeLines(cleanup, installed); err == nil {
		err = werr
	}
	if err != nil {
		return err
	}
	return a.setPermissions(spec, installed, log)
}

// target is where an instance path lands under the root.
func (a *Agent) target(p string) (string, error) {
	p = strings.ReplaceAll(p, `\`, "/")
	if len(p) >= 2 && p[1] == ':' { // C:\inetpub
		p = p[2:]
	}
	clean := path.Clean("/" + p)
	t := filepath.Join(a.Root, filepath.FromSlash(clean))
	if t != a.Root && !strings.HasPrefix(t, a.Root+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the install root", p)
	}
	if clean == "/"+stateDir || strings.HasPrefix(clean, "/"+stateDir+"/") {
		return "", fmt.Errorf("%s is the agent's own state", p)
	}
	return t, nil
}

func (a *Agent) copyEntry(spec *appspec.Spec, f appspec.File, archive string, record func(string), log io.Writer) error {
	src := filepath.Join(archive, filepath.FromSlash(path.Clean("/"+strings.ReplaceAll(f.Source, `\`, "/"))))
	dst, err := a.target(f.Destination)
	if err != nil {
		return err
	}
	st, err := os.Lstat(src)
	if err != nil {
		return fmt.Errorf("files: the revision has no %s", f.Source)
	}
	if err := a.mkdirs(dst, record); err != nil {
		return err
	}
	if !st.IsDir() {
		return a.copyFile(spec, src, filepath.Join(dst, filepath.Base(src)), st, record, log)
	}
	return filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return nil
		}
		to := filepath.Join(dst, rel)
		if info.IsDir() {
			return a.mkdirs(to, record)
		}
		return a.copyFile(spec, p, to, info, record, log)
	})
}

// mkdirs makes dir and its missing parents, recording those it made.
func (a *Agent) mkdirs(dir string, record func(string)) error {
	var made []string
	for p := dir; p != a.Root && len(p) > len(a.Root); p = filepath.Dir(p) {
		if _, err := os.Lstat(p); err == nil {
			break
		}
		made = append(made, p)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := len(made) - 1; i >= 0; i-- {
		record(made[i])
	}
	return nil
}

func (a *Agent) copyFile(spec *appspec.Spec, src, dst string, info os.FileInfo, record func(string), log io.Writer) error {
	if _, err := os.Lstat(dst); err == nil {
		switch spec.FileExistsBehavior {
		case appspec.Overwrite:
			fmt.Fprintf(log, "overwrite %s\n", a.rel(dst))
		case appspec.Retain:
			fmt.Fprintf(log, "retain %s\n", a.rel(dst))
			return nil
		default:
			return fmt.Errorf("%s exists and was not installed by the last deployment of the group (file_exists_behavior DISALLOW)", a.rel(dst))
		}
	}
	if info.Mode()&os.ModeSymlink != 0 {
		link, err := os.Readlink(src)
		if err != nil {
			return err
		}
		os.Remove(dst)
		if err := os.Symlink(link, dst); err != nil {
			return err
		}
		record(dst)
		return nil
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", info.Name())
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	os.Remove(dst) // never write through a link left at the destination
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, info.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	record(dst)
	return nil
}

// removeInstalled removes what the last deployment installed: files first,
// then the directories it made, deepest first, when they are empty.
func (a *Agent) removeInstalled(cleanup string, log io.Writer) error {
	paths, err := readLines(cleanup)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	sort.Sort(sort.Reverse(sort.StringSlice(paths)))
	for _, p := range paths {
		if p != a.Root && !strings.HasPrefix(p, a.Root+string(filepath.Separator)) {
			continue // a record not made by this agent's root
		}
		st, err := os.Lstat(p)
		if err != nil {
			continue
		}
		if st.IsDir() {
			os.Remove(p) // only if empty: it may hold files kept by RETAIN
			continue
		}
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("remove %s of the last deployment: %w", a.rel(p), err)
		}
	}
	fmt.Fprintf(log, "removed %d files and directories of the last deployment\n", len(paths))
	return os.Remove(cleanup)
}

func (a *Agent) rel(p string) string {
	r, err := filepath.Rel(a.Root, p)
	if err != nil {
		return p
	}
	return "/" + filepath.ToSlash(r)
}

// setPermissions applies the permissions to what this deployment installed
// (CodeDeploy applies them to the objects its files section installed).
func (a *Agent) setPermissions(spec *appspec.Spec, installed []string, log io.Writer) error {
	for i, p := range spec.Permissions {
		obj, err := a.target(p.Object)
		if err != nil {
			return fmt.Errorf("permissions[%d]: %w", i, err)
		}
		uid, gid := -1, -1
		if p.Owner != "" {
			u, err := user.Lookup(p.Owner)
			if err != nil {
				return fmt.Errorf("permissions[%d].owner: %w", i, err)
			}
			uid, _ = strconv.Atoi(u.Uid)
		}
		if p.Group != "" {
			g, err := user.LookupGroup(p.Group)
			if err != nil {
				return fmt.Errorf("permissions[%d].group: %w", i, err)
			}
			gid, _ = strconv.Atoi(g.Gid)
		}
		var mode os.FileMode
		if p.Mode != "" {
			m, _ := strconv.ParseUint(p.Mode, 8, 32)
			mode = os.FileMode(m).Perm()
		}
		n := 0
		for _, f := range installed {
			if !applies(p, obj, f) {
				continue
			}
			st, err := os.Lstat(f)
			if err != nil || st.Mode()&os.ModeSymlink != 0 {
				continue
			}
			if !typeOK(p.Types, st.IsDir()) {
				continue
			}
			if p.Mode != "" {
				if err := os.Chmod(f, mode); err != nil {
					return fmt.Errorf("permissions[%d]: %w", i, err)
				}
			}
			if uid >= 0 || gid >= 0 {
				if err := os.Lchown(f, uid, gid); err != nil {
					return fmt.Errorf("permissions[%d]: owner %s group %s of %s: %w", i, p.Owner, p.Group, a.rel(f), err)
				}
			}
			n++
		}
		fmt.Fprintf(log, "permissions %s (%s): %d objects\n", p.Object, p.Pattern, n)
	}
	return nil
}

// applies reports whether permission p, on object obj, covers installed path f:
// obj itself when it is a file; else what is under obj whose name matches
// the pattern and no exception.
func applies(p appspec.Permission, obj, f string) bool {
	if f == obj {
		st, err := os.Lstat(obj)
		return err == nil && !st.IsDir()
	}
	if !strings.HasPrefix(f, obj+string(filepath.Separator)) {
		return false
	}
	name := filepath.Base(f)
	if p.Pattern != "**" {
		if ok, _ := path.Match(p.Pattern, name); !ok {
			return false
		}
	}
	for _, e := range p.Except {
		if ok, _ := path.Match(e, name); ok {
			return false
		}
	}
	return true
}

func typeOK(types []string, dir bool) bool {
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if (t == "directory") == dir {
			return true
		}
	}
	return false
}

func readLines(p string) ([]string, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sc.Text() != "" {
			out = append(out, sc.Text())
		}
	}
	return out, sc.Err()
}

func writeLines(p string, lines []string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600)
}
