package artifact

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Disk is a Store on the local file system. Each key is a file under the root
// directory, its slashes becoming directories.
//
// Every access goes through an os.Root, so even a symlink planted in the root
// by someone else cannot make a key resolve outside it. Two keys where one is a
// prefix directory of the other ("a" and "a/b") cannot both exist on disk;
// callers use keys of one shape, so this is not worth working around.
type Disk struct {
	root *os.Root
	dir  string
}

var _ Store = (*Disk)(nil)

// tmpPrefix marks files being written by Put. ValidKey refuses segments
// starting with a dot, so no key can name one.
const tmpPrefix = ".tmp-"

// NewDisk opens (creating if needed) a disk store rooted at root. Close releases it.
func NewDisk(root string) (*Disk, error) {
	if root == "" {
		return nil, errors.New("open disk store: empty root")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("open disk store: %w", err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("open disk store: %w", err)
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("open disk store: %w", err)
	}
	return &Disk{root: r, dir: abs}, nil
}

// Dir returns the absolute directory the store keeps its files in.
func (d *Disk) Dir() string { return d.dir }

// Close releases the root directory. Readers returned by Get stay usable.
func (d *Disk) Close() error { return d.root.Close() }

// Put writes r to a temporary file beside the final one, fsyncs it, renames it
// over the key and fsyncs the directory, so that after a crash the key holds
// either the old object or the whole new one, and after Put returns the new one
// survives a crash. A crash mid-Put may leave a temporary file behind.
func (d *Disk) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if err := ValidKey(key); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	name := filepath.FromSlash(key)
	dir := filepath.Dir(name)

	f, tmp, created, err := d.createTemp(dir, filepath.Base(name))
	if err != nil {
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	n, err := io.Copy(f, ctxReader{ctx: ctx, r: r})
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = d.root.Rename(tmp, name)
	}
	if err != nil {
		_ = d.root.Remove(tmp)
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	// The rename is only durable once the directory holding it is synced, and a
	// directory we just created is only durable once its parent is.
	if err := d.syncDir(dir); err != nil {
		return 0, fmt.Errorf("put %q: %w", key, err)
	}
	for _, c := range created {
		if err := d.syncDir(filepath.Dir(c)); err != nil {
			return 0, fmt.Errorf("put %q: %w", key, err)
		}
	}
	return n, nil
}

// createTemp creates the key's directories and an exclusive temporary file in
// the last one. It returns the directories it created, so Put can make them
// durable.
func (d *Disk) createTemp(dir, base string) (*os.File, string, []string, error) {
	var created []string
	// A concurrent Delete may prune a directory we just made or found, before
	// our file is in it; trying again is enough because Delete only removes
	// empty directories. ErrExist is a temporary name already taken.
	for attempt := 0; ; attempt++ {
		c, err := d.mkdirs(dir)
		created = append(created, c...)
		var f *os.File
		tmp := filepath.Join(dir, tmpPrefix+base+"-"+rand.Text())
		if err == nil {
			f, err = d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		}
		if err == nil {
			return f, tmp, created, nil
		}
		if attempt >= 10 || !(errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrExist)) {
			return nil, "", nil, err
		}
	}
}

// mkdirs is MkdirAll that reports which directories it made, even on error.
func (d *Disk) mkdirs(dir string) ([]string, error) {
	if dir == "." {
		return nil, nil
	}
	var created []string
	parts := strings.Split(dir, string(filepath.Separator))
	for i := range parts {
		p := filepath.Join(parts[:i+1]...)
		err := d.root.Mkdir(p, 0o700)
		switch {
		case err == nil:
			created = append(created, p)
		case errors.Is(err, fs.ErrExist):
			// Mkdir says "exists" for a file too; the create that follows
			// reports that case with a clearer error.
		default:
			return created, err
		}
	}
	return created, nil
}

func (d *Disk) syncDir(dir string) error {
	f, err := d.root.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	return nil
}

// Get opens the object stored under key.
func (d *Disk) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := ValidKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	f, err := d.root.Open(filepath.FromSlash(key))
	if err != nil {
		return nil, fmt.Errorf("get %q: %w", key, notFound(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("get %q: %w", key, err)
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("get %q: %w", key, ErrNotFound)
	}
	return f, nil
}

// Stat returns the size of the object stored under key.
func (d *Disk) Stat(ctx context.Context, key string) (int64, error) {
	if err := ValidKey(key); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("stat %q: %w", key, err)
	}
	fi, err := d.root.Stat(filepath.FromSlash(key))
	if err != nil {
		return 0, fmt.Errorf("stat %q: %w", key, notFound(err))
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("stat %q: %w", key, ErrNotFound)
	}
	return fi.Size(), nil
}

// Delete removes the object under key, then the directories the removal left
// empty, so that expiring executions does not leave a tree of empty ones. It
// does not fsync: a delete lost in a crash leaves an object that the next
// cleanup removes again.
func (d *Disk) Delete(ctx context.Context, key string) error {
	if err := ValidKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	name := filepath.FromSlash(key)
	fi, err := d.root.Lstat(name)
	if err != nil {
		if errors.Is(notFound(err), ErrNotFound) {
			return nil
		}
		return fmt.Errorf("delete %q: %w", key, err)
	}
	if fi.IsDir() {
		// A directory is where other keys live, not an object.
		return nil
	}
	if err := d.root.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete %q: %w", key, err)
	}
	for dir := filepath.Dir(name); dir != "."; dir = filepath.Dir(dir) {
		// Remove refuses non-empty directories, which is exactly where to stop.
		if d.root.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// notFound maps "no such file" and "a path segment is a file" to ErrNotFound:
// for a key both mean there is no object.
func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return ErrNotFound
	}
	return err
}

// ctxReader stops a long copy once the context is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
