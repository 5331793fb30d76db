package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/hostconn"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/provider/hostsource"
)

// benchCloneRef measures what a CODEBUILD_CLONE_REF connection source of
// the large repository (10,000 files, ~200 MB of history) costs against a
// plain `git clone` of it from the same server: git's own http-backend
// behind Go's CGI handler, asking for a token as a git host does. The
// source's run is the fetch, the checkout and the zip of the clone with
// .git that the build receives; unpacking that zip, as the build's worker
// does, is measured apart, and CODE_ZIP (the tree alone) for scale. Every
// copy lands in memory where the machine has it, as in gitlarge.
func benchCloneRef(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 5
	}
	dir, err := os.MkdirTemp("", "sluice-bench-cloneref-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env := gitEnv(dir)
	src := filepath.Join(dir, "src")
	if err := makeLargeRepo(ctx, env, dir, src); err != nil {
		return err
	}
	root := filepath.Join(dir, "host")
	bare := filepath.Join(root, "bench", "large.git")
	if err := git(ctx, env, dir, "clone", "-q", "--bare", "--no-local", src, bare); err != nil {
		return err
	}
	// Packed once, as a host keeps its repositories: each clone then reuses
	// the pack instead of compressing 200 MB of loose objects again.
	if err := git(ctx, env, bare, "repack", "-a", "-d", "-q"); err != nil {
		return err
	}
	const token = "bench-token-0123456789"
	backend := &cgi.Handler{Path: "/usr/lib/git-core/git-http-backend", Root: "/git",
		Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=bench"}}
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pw, ok := r.BasicAuth(); !ok || pw != token {
			w.Header().Set("WWW-Authenticate", `Basic realm="bench"`)
			http.Error(w, "token required", http.StatusUnauthorized)
			return
		}
		backend.ServeHTTP(w, r)
	}))
	defer host.Close()
	conn := hostconn.Settings{Name: "bench", Kind: hostconn.Gitea, URL: host.URL + "/git", Token: token}
	work := dir
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if work, err = os.MkdirTemp("/dev/shm", "sluice-bench-cloneref-"); err != nil {
			return err
		}
		defer os.RemoveAll(work)
	}
	plainURL := strings.Replace(host.URL, "http://", "http://bench:"+token+"@", 1) + "/git/bench/large.git"

	run := func(i int, format string) (time.Duration, int64, string, error) {
		jobDir := filepath.Join(work, fmt.Sprintf("job-%s-%d", format, i))
		job := &provider.Job{
			ID: "bench", Provider: hostsource.ProviderCodeStarSourceConnection,
			Configuration: map[string]string{"ConnectionArn": "arn:aws:codeconnections:us-east-1:000000000000:connection/bench",
				"FullRepositoryId": "bench/large", "BranchName": "main", "OutputArtifactFormat": format},
			WorkDir: filepath.Join(jobDir, "src"), ScratchDir: filepath.Join(jobDir, "scratch"),
			Outputs: []provider.Output{{Name: "code", Path: filepath.Join(jobDir, "code.zip")}},
			Env:     env, Log: io.Discard,
			GitHost: func(context.Context) (hostconn.Settings, error) { return conn, nil },
		}
		for _, d := range []string{job.WorkDir, job.ScratchDir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				return 0, 0, "", err
			}
		}
		t0 := time.Now()
		if _, err := (hostsource.Provider{}).Run(ctx, job); err != nil {
			return 0, 0, "", err
		}
		d := time.Since(t0)
		os.RemoveAll(job.WorkDir)
		fi, err := os.Stat(job.Outputs[0].Path)
		if err != nil {
			return 0, 0, "", err
		}
		return d, fi.Size(), job.Outputs[0].Path, nil
	}
	var plain, cloneRef, unzip, codeZip []time.Duration
	var refSize, zipSize int64
	for i := range runs {
		// The order rotates, as the disk and caches favour whoever goes second.
		steps := []func() error{
			func() error {
				dst := filepath.Join(work, fmt.Sprintf("plain-%d", i))
				t0 := time.Now()
				if err := git(ctx, env, work, "clone", "-q", plainURL, dst); err != nil {
					return err
				}
				plain = append(plain, time.Since(t0))
				return os.RemoveAll(dst)
			},
			func() error {
				d, size, zipPath, err := run(i, "CODEBUILD_CLONE_REF")
				if err != nil {
					return err
				}
				cloneRef, refSize = append(cloneRef, d), size
				dst := filepath.Join(work, fmt.Sprintf("unzipped-%d", i))
				t0 := time.Now()
				if err := artifact.UnzipFile(ctx, zipPath, dst); err != nil {
					return err
				}
				unzip = append(unzip, time.Since(t0))
				os.RemoveAll(dst)
				return os.RemoveAll(filepath.Dir(zipPath))
			},
			func() error {
				d, size, zipPath, err := run(i, "CODE_ZIP")
				if err != nil {
					return err
				}
				codeZip, zipSize = append(codeZip, d), size
				return os.RemoveAll(filepath.Dir(zipPath))
			},
		}
		for _, step := range rotate(i, steps) {
			if err := step(); err != nil {
				return err
			}
		}
		fmt.Fprintf(os.Stderr, "run %d: plain %s, CODEBUILD_CLONE_REF %s + unzip %s, CODE_ZIP %s\n", i+1,
			ms(plain[len(plain)-1]), ms(cloneRef[len(cloneRef)-1]), ms(unzip[len(unzip)-1]), ms(codeZip[len(codeZip)-1]))
	}
	med := func(ds []time.Duration) time.Duration { return percentile(ds, 0.5) }
	fmt.Printf("10,000 files, ~200 MB history, median of %d: plain git clone %s; CODEBUILD_CLONE_REF source %s (%.2fx; artifact %d MB), "+
		"its unzip into a build's directory %s (source + unzip %.2fx); CODE_ZIP source %s (artifact %d MB)\n",
		runs, ms(med(plain)), ms(med(cloneRef)), float64(med(cloneRef))/float64(med(plain)), refSize>>20,
		ms(med(unzip)), float64(med(cloneRef)+med(unzip))/float64(med(plain)), ms(med(codeZip)), zipSize>>20)
	return nil
}
