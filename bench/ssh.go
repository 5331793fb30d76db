package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/sluice-ci/sluice/internal/server"
	"github.com/sluice-ci/sluice/internal/wire"
)

// benchSSH measures git over SSH with the OpenSSH client: push and clone of
// the 10,000-file, 200 MB repository against the file protocol, then the time
// from `git push` over SSH returning to the source job being claimed.
func benchSSH(ctx context.Context, runs int) error {
	if runs == 0 {
		runs = 5
	}
	dir, err := os.MkdirTemp("", "sluice-bench-ssh-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	env := gitEnv(dir)
	c, _, _, cleanup, err := startServerWith(ctx, server.Config{SSHAddr: "127.0.0.1:0"})
	if err != nil {
		return err
	}
	defer cleanup()
	key := filepath.Join(dir, "id_ed25519")
	if out, err := exec.CommandContext(ctx, "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		return fmt.Errorf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		return err
	}
	if _, err := c.AddSSHKey(ctx, wire.UploadSSHPublicKeyRequest{Name: "bench", Principal: "admin", PublicKey: string(pub)}); err != nil {
		return err
	}
	l, err := c.SSHKeys(ctx)
	if err != nil {
		return err
	}
	knownHosts := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(knownHosts, []byte(l.Host.KnownHostsLine()+"\n"), 0o600); err != nil {
		return err
	}
	env = append(env, "GIT_SSH_COMMAND=ssh -i "+key+" -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes"+
		" -o StrictHostKeyChecking=yes -o UserKnownHostsFile="+knownHosts+" -o GlobalKnownHostsFile=/dev/null")
	sshURL := func(repo string) string { return "ssh://git@" + l.Host.Addr + "/" + repo + ".git" }

	src := filepath.Join(dir, "src")
	if err := makeLargeRepo(ctx, env, dir, src); err != nil {
		return err
	}
	cloneRoot := dir
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if cloneRoot, err = os.MkdirTemp("/dev/shm", "sluice-bench-clones-"); err != nil {
			return err
		}
		defer os.RemoveAll(cloneRoot)
	}
	var sshPush, filePush, sshClone, fileClone []time.Duration
	for i := range runs {
		name := fmt.Sprintf("large%d", i)
		if _, err := c.CreateRepo(ctx, name, ""); err != nil {
			return err
		}
		bare := filepath.Join(dir, name+".git")
		if err := git(ctx, env, dir, "init", "-q", "--bare", bare); err != nil {
			return err
		}
		type target struct {
			url string
			out *[]time.Duration
		}
		// The virtual disk slows down after a few hundred megabytes: the
		// order alternates from run to run.
		for _, t := range rotate(i, []target{{"file://" + bare, &filePush}, {sshURL(name), &sshPush}}) {
			t0 := time.Now()
			if err := git(ctx, env, src, "push", "-q", t.url, "main"); err != nil {
				return err
			}
			*t.out = append(*t.out, time.Since(t0))
		}
		for _, t := range rotate(i, []target{{"file://" + bare, &fileClone}, {sshURL(name), &sshClone}}) {
			dst := filepath.Join(cloneRoot, fmt.Sprintf("clone-%d-%d", i, len(*t.out)))
			t0 := time.Now()
			if err := git(ctx, env, dir, "clone", "-q", t.url, dst); err != nil {
				return err
			}
			*t.out = append(*t.out, time.Since(t0))
			os.RemoveAll(dst)
		}
	}
	ratio := func(a, b []time.Duration) float64 {
		return float64(percentile(a, 0.5)) / float64(percentile(b, 0.5))
	}
	fmt.Printf("over ssh, 10,000 files, ~200 MB history, median of %d: push %s, file:// %s (%.2fx); clone %s, file:// %s (%.2fx)\n",
		runs, ms(percentile(sshPush, 0.5)), ms(percentile(filePush, 0.5)), ratio(sshPush, filePush),
		ms(percentile(sshClone, 0.5)), ms(percentile(fileClone, 0.5)), ratio(sshClone, fileClone))

	// Push -> pipeline start over SSH.
	if _, err := c.CreateRepo(ctx, "app", ""); err != nil {
		return err
	}
	pl := "name: app\nexecutionMode: PARALLEL\nstages:\n  - name: Source\n    actions:\n      - name: src\n        provider: Git\n" +
		"        configuration: {RepositoryName: app, BranchName: main}\n        outputArtifacts: [code]\n" +
		"  - name: Build\n    actions:\n      - name: b\n        provider: Noop\n        inputArtifacts: [code]\n"
	if err := apply(ctx, c, pl); err != nil {
		return err
	}
	work := filepath.Join(dir, "w")
	if err := git(ctx, env, dir, "init", "-q", "-b", "main", work); err != nil {
		return err
	}
	gaps, pushes, before, err := pushToClaim(ctx, c, env, work, sshURL("app"), 30)
	if err != nil {
		return err
	}
	fmt.Printf("git push over ssh returned -> source job claimed (%d pushes): median %s, p90 %s (claimed before the push returned: %d of %d; git push over ssh itself: median %s, p90 %s)\n",
		len(gaps), ms(percentile(gaps, 0.5)), ms(percentile(gaps, 0.9)), before, len(gaps), ms(percentile(pushes, 0.5)), ms(percentile(pushes, 0.9)))
	return nil
}
