// Package build is the Build action (CodePipeline's CodeBuild action): it runs a
// build project's buildspec on the action's input artifacts with CodeBuild's
// semantics, and turns the buildspec's artifacts and exported variables into
// the action's output artifacts and output variables.
package build

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/buildspec"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/sandbox"
)

// Provider runs Build actions.
type Provider struct {
	// Isolation is the worker's sandbox, which every build runs in whatever
	// its project says; nil runs builds directly (tests).
	Isolation *sandbox.Isolation
	// BatchConcurrency bounds how many builds of a batch run at once; zero
	// means min(4, GOMAXPROCS*2).
	BatchConcurrency int
}

// Project is the part of a build project the provider uses, as the server sends it.
type Project struct {
	Name                 string     `json:"name"`
	Buildspec            string     `json:"buildspec"`
	EnvironmentVariables []Variable `json:"environmentVariables"`
	TimeoutInMinutes     int        `json:"timeoutInMinutes"`
	// Isolation is auto, bubblewrap or none. Only the worker's operator
	// decides whether builds are isolated (--isolation): a project asking for
	// none is told so in the log and isolated anyway.
	Isolation string `json:"isolation"`
	// Network lets an isolated build reach the network.
	Network bool `json:"network"`
	// Connection, when set, is the aws connection PARAMETER_STORE and
	// SECRETS_MANAGER values are read through, from AWS.
	Connection string `json:"connection,omitempty"`
}

// Variable is an environment variable of a project or of the action's
// EnvironmentVariables configuration (CodePipeline's JSON list).
type Variable struct {
	Name  string `json:"name"`
	Value string `json:"value"`
	Type  string `json:"type"`
}

// Types of variables.
const (
	Plaintext      = "PLAINTEXT"
	ParameterStore = "PARAMETER_STORE"
	SecretsManager = "SECRETS_MANAGER"
)

// Run implements provider.Provider.
func (pr Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	if job.Project == nil {
		return provider.Result{}, fmt.Errorf("configuration ProjectName: build project %q not found (create it with sluice project apply)", job.Configuration["ProjectName"])
	}
	var p Project
	if err := json.Unmarshal(job.Project, &p); err != nil {
		return provider.Result{}, fmt.Errorf("build project %s: %w", job.Configuration["ProjectName"], err)
	}
	dir, secondary, err := sources(job)
	if err != nil {
		return provider.Result{}, err
	}
	spec, err := loadBuildspec(p, dir, job)
	if err != nil {
		return provider.Result{}, err
	}

	// The project's variables, then the action's, which override them, as in
	// CodePipeline; secret ones are read through the worker, which masks them.
	vars := append([]Variable{}, p.EnvironmentVariables...)
	if raw := job.Configuration["EnvironmentVariables"]; raw != "" {
		var more []Variable
		if err := json.Unmarshal([]byte(raw), &more); err != nil {
			return provider.Result{}, fmt.Errorf("configuration EnvironmentVariables: not CodePipeline's JSON list of {name, value, type}: %v", err)
		}
		vars = append(vars, more...)
	}
	plain, secrets := map[string]string{}, map[string]string{}
	var fromAWS *awsSecrets
	if p.Connection != "" {
		fromAWS = &awsSecrets{job: job, connection: p.Connection}
	}
	for _, v := range vars {
		switch typ := strings.ToUpper(v.Type); typ {
		case "", Plaintext:
			plain[v.Name] = v.Value
			delete(secrets, v.Name)
		case ParameterStore, SecretsManager:
			if fromAWS != nil {
				value, err := fromAWS.read(ctx, typ, v.Value)
				if err != nil {
					return provider.Result{}, fmt.Errorf("environment variable %s: %w", v.Name, err)
				}
				if value == "" {
					return provider.Result{}, fmt.Errorf("environment variable %s: %s resolved to nothing; the build does not run on an empty value", v.Name, v.Value)
				}
				secrets[v.Name] = value
				delete(plain, v.Name)
				continue
			}
			if job.Secret == nil {
				return provider.Result{}, fmt.Errorf("environment variable %s: this worker cannot read secrets", v.Name)
			}
			value, err := job.Secret(ctx, v.Value)
			if err != nil {
				return provider.Result{}, fmt.Errorf("environment variable %s: secret %s: %w", v.Name, v.Value, err)
			}
			if len(value) == 0 {
				return provider.Result{}, fmt.Errorf("environment variable %s: secret %s resolved to nothing; the build does not run on an empty value", v.Name, v.Value)
			}
			secrets[v.Name] = string(value)
			delete(plain, v.Name)
		default:
			return provider.Result{}, fmt.Errorf("environment variable %s: unknown type %q", v.Name, v.Type)
		}
	}

	if err := buildspecSecrets(ctx, spec, job, secrets, fromAWS, vars); err != nil {
		return provider.Result{}, err
	}
	if err := pr.Isolation.Check(); err != nil {
		return provider.Result{}, err
	}
	env, sb, err := isolate(pr.Isolation, p, job)
	if err != nil {
		return provider.Result{}, err
	}
	defer sb.Close()
	timeout := time.Duration(p.TimeoutInMinutes) * time.Minute
	if timeout <= 0 {
		timeout = 60 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	b := builder{p: p, job: job, env: env, sandbox: sb, plain: plain, secrets: secrets, secondary: secondary,
		limit: pr.batchLimit(), git: &gitCredentials{}}
	if strings.EqualFold(job.Configuration["BatchEnabled"], "true") {
		return b.batch(ctx, spec, dir)
	}
	cachePaths := cachedPaths(spec, job)
	restoreCache(ctx, cachePaths, dir, job)
	res, err := b.run(ctx, spec, dir, b.job.ScratchDir, buildHome(job), nil)
	if err != nil {
		return provider.Result{}, err
	}
	if !res.Succeeded {
		// CodeBuild always attempts UPLOAD_ARTIFACTS, even after BUILD
		// failed: what the artifacts section matches is kept for debugging.
		var kept []string
		if reached(res, buildspec.StepUploadArtifacts) && len(job.Outputs) > 0 && spec.Artifacts != nil {
			kept, err = writeOutputs(spec, dir, job.Outputs)
			if err != nil {
				fmt.Fprintf(job.Log, "[Container] artifacts of the failed build not kept: %v\n", err)
			}
		}
		return provider.Result{KeptOutputs: kept}, errors.New(res.Message)
	}
	if _, err := writeOutputs(spec, dir, job.Outputs); err != nil {
		return provider.Result{}, err
	}
	saveCache(ctx, cachePaths, dir, job)
	return provider.Result{Summary: "build " + p.Name + " succeeded", OutputVariables: res.ExportedVariables}, nil
}

// identify sets the variables CodeBuild gives a build to say which it is, in
// CodeBuild's formats (its "Environment variables in build environments"):
// CODEBUILD_BUILD_ID is PROJECT:UUID (the job's id), CODEBUILD_BUILD_ARN
// that id's ARN, with sluice's partition and account in the places of AWS's
// as in every ARN sluice makes; CODEBUILD_BUILD_NUMBER counts the project's
// builds (the server allocates it when the job is claimed); a pipeline's
// build is initiated by codepipeline/PIPELINE; the resolved source version
// is the commit of the source action that produced the primary input
// (CodePipeline's source revision); AWS_REGION and AWS_DEFAULT_REGION name
// the server's region.
func (b builder) identify(cfg *buildspec.RunConfig) {
	region := b.job.Region
	if region == "" {
		region = "local" // a server that does not say
	}
	cfg.Region = region
	cfg.BuildID = b.p.Name + ":" + b.job.ID
	cfg.BuildARN = "arn:sluice:codebuild:" + region + ":local:build/" + cfg.BuildID
	number := b.job.BuildNumber
	if number <= 0 {
		number = int64(b.job.Attempt) // a server that allocates none
	}
	cfg.BuildNumber = strconv.FormatInt(number, 10)
	cfg.Initiator = "codepipeline/" + b.job.Pipeline
	cfg.SourceVersion = b.job.Revision
	cfg.ResolvedSourceVersion = b.job.Revision
}

// builder runs one build, or each build of a batch, with the action's
// settings.
type builder struct {
	p         Project
	job       *provider.Job
	env       []string // without HOME, which is each build's own
	sandbox   *box     // nil: builds run directly
	plain     map[string]string
	secrets   map[string]string
	secondary map[string]string
	limit     int // builds of a batch at once
	git       *gitCredentials
}

// run runs spec in dir with HOME home and extra variables over the action's,
// and keeps its test reports.
func (b builder) run(ctx context.Context, spec *buildspec.Spec, dir, scratch, home string, extra map[string]string) (buildspec.Result, error) {
	if spec.UsesRunAs() || b.sandbox.switches() {
		// Only the job's own directories are opened; the sandbox covers the
		// worker's above them (see sandbox.argsAs), and a build run
		// directly says which stops the user.
		paths := []string{dir, scratch, home}
		for _, d := range b.secondary {
			paths = append(paths, d)
		}
		if err := letThrough([]string{filepath.Dir(b.job.WorkDir), b.job.ScratchDir}, paths...); err != nil {
			return buildspec.Result{}, err
		}
	}
	if spec.Env.GitCredentialHelper {
		user, password, err := b.git.get(ctx, b.job)
		if err != nil {
			return buildspec.Result{}, err
		}
		helperDir := scratch
		if helperDir == "" {
			helperDir = home
		}
		if err := installGitHelper(home, helperDir, user, password); err != nil {
			return buildspec.Result{}, err
		}
	}
	vars := b.plain
	if len(extra) > 0 {
		vars = map[string]string{}
		for k, v := range b.plain {
			vars[k] = v
		}
		for k, v := range extra {
			vars[k] = v
		}
	}
	cfg := buildspec.RunConfig{
		Dir:           dir,
		SecondaryDirs: b.secondary,
		Env:           append(append([]string{}, b.env...), "HOME="+home),
		Owned:         []string{home},
		Sandbox:       b.sandbox.args(),
		Variables:     vars,
		Secrets:       b.secrets,
		ScratchDir:    scratch,
		Log:           b.job.Log,
	}
	b.identify(&cfg)
	if b.sandbox != nil {
		cfg.SandboxAs = b.sandbox.argsAs
		if b.sandbox.switches() {
			cfg.DefaultAccount = &buildspec.Account{Name: sandbox.BuildName, UID: sandbox.BuildUID, GID: sandbox.BuildGID}
		}
	}
	res, err := buildspec.Run(ctx, spec, cfg)
	if err != nil {
		return res, err
	}
	// Test reports are kept whether the build passed or not (a failing test
	// run is when they matter most), and after a timeout too.
	if reached(res, buildspec.StepUploadArtifacts) {
		sendReports(context.WithoutCancel(ctx), spec, dir, b.job)
	}
	return res, nil
}

// writeZipFile writes files as the zip of out; on error it leaves no file, so
// nothing partial is taken for an artifact.
func writeZipFile(out provider.Output, files []buildspec.ArtifactFile) error {
	f, err := os.Create(out.Path)
	if err != nil {
		return err
	}
	err = buildspec.WriteZip(f, files)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(out.Path)
		return fmt.Errorf("output artifact %s: %w", out.Name, err)
	}
	return nil
}

// sources picks the primary source (PrimarySource, or the first input) and
// names the others by artifact, as CODEBUILD_SRC_DIR_<name>.
func sources(job *provider.Job) (string, map[string]string, error) {
	if len(job.Inputs) == 0 {
		// A build with no input artifact runs in an empty directory.
		return job.WorkDir, nil, nil
	}
	primary := job.Configuration["PrimarySource"]
	if primary == "" {
		primary = job.Inputs[0]
	}
	dir, ok := job.InputDirs[primary]
	if !ok {
		return "", nil, fmt.Errorf("configuration PrimarySource: %s is not an input artifact of this action (it has %s)", primary, strings.Join(job.Inputs, ", "))
	}
	secondary := map[string]string{}
	for _, name := range job.Inputs {
		if name != primary {
			secondary[name] = job.InputDirs[name]
		}
	}
	return dir, secondary, nil
}

// loadBuildspec reads the project's buildspec: inline YAML, or a path inside
// the primary source (buildspec.yml by default).
func loadBuildspec(p Project, dir string, job *provider.Job) (*buildspec.Spec, error) {
	name, data := "inline buildspec of project "+p.Name, []byte(p.Buildspec)
	if !strings.Contains(p.Buildspec, "\n") {
		rel := p.Buildspec
		if rel == "" {
			rel = "buildspec.yml"
		}
		if filepath.IsAbs(rel) || strings.HasPrefix(filepath.Clean(rel), "..") {
			return nil, fmt.Errorf("buildspec %s: must be a path inside the source", rel)
		}
		var err error
		if data, err = os.ReadFile(filepath.Join(dir, rel)); err != nil {
			return nil, fmt.Errorf("buildspec %s: not found in the primary source: %w", rel, err)
		}
		name = rel
	}
	spec, warnings, err := buildspec.Parse(name, data)
	for _, w := range warnings {
		fmt.Fprintf(job.Log, "[Container] warning: %s\n", w)
	}
	return spec, err
}

// writeOutputs zips the primary artifact into the first output and each
// secondary artifact into the output of the same name, and returns the names
// of the outputs written, which are all of them unless it fails.
func writeOutputs(spec *buildspec.Spec, dir string, outputs []provider.Output) ([]string, error) {
	if len(outputs) == 0 {
		return nil, nil
	}
	if spec.Artifacts == nil {
		return nil, fmt.Errorf("the action declares output artifact %s, but the buildspec has no artifacts section", outputs[0].Name)
	}
	var written []string
	write := func(a buildspec.Artifact, out provider.Output) error {
		files, err := a.Collect(dir)
		if err != nil {
			return fmt.Errorf("output artifact %s: %w", out.Name, err)
		}
		if err := writeZipFile(out, files); err != nil {
			return err
		}
		written = append(written, out.Name)
		return nil
	}
	if err := write(spec.Artifacts.Artifact, outputs[0]); err != nil {
		return written, err
	}
	for _, out := range outputs[1:] {
		found := false
		for _, s := range spec.Artifacts.Secondary {
			if s.Identifier == out.Name {
				if err := write(s, out); err != nil {
					return written, err
				}
				found = true
			}
		}
		if !found {
			return written, fmt.Errorf("output artifact %s: the buildspec has no secondary artifact with that identifier", out.Name)
		}
	}
	return written, nil
}

// isolate decides how the build runs: in the worker's sandbox (see package
// sandbox; the network only when the project allows it) or, when the worker
// has none, directly. It returns the environment, without HOME, and the
// sandbox, nil for none.
func isolate(iso *sandbox.Isolation, p Project, job *provider.Job) ([]string, *box, error) {
	// Every build gets a HOME of its own, as a fresh CodeBuild container has:
	// nothing of the worker's home leaks in, and tools' caches under HOME can
	// be kept with cache.paths.
	root := filepath.Dir(job.WorkDir) // the job's own directory: sources, inputs, outputs
	if err := os.MkdirAll(buildHome(job), 0o700); err != nil {
		return nil, nil, err
	}
	env := make([]string, 0, len(job.Env))
	for _, kv := range job.Env {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "TMPDIR=") {
			env = append(env, kv)
		}
	}
	if !iso.Enabled() {
		return env, nil, nil
	}
	if strings.EqualFold(p.Isolation, "none") {
		fmt.Fprintln(job.Log, "[Container] the project asks for isolation none; only the worker's operator can turn isolation off (--isolation none), so the build is isolated")
	}
	env = iso.Env(env, "")
	passwd, group, remove, err := iso.WriteAccounts(buildHome(job))
	if err != nil {
		return nil, nil, err
	}
	sb := &box{iso: iso, spec: sandbox.Spec{Binds: []string{root}, Network: p.Network, Passwd: passwd, Group: group}, close: remove}
	if job.ScratchDir != "" {
		sb.spec.Binds = append(sb.spec.Binds, job.ScratchDir)
	}
	how := "with the network"
	if !p.Network {
		how = "without the network"
	}
	who := ""
	if iso.Root() {
		who = fmt.Sprintf(", as %s (uid %d)", sandbox.BuildName, sandbox.BuildUID)
	}
	fmt.Fprintf(job.Log, "[Container] isolated with bubblewrap: system directories read-only, the job's own directories, its own PID namespace, %s%s\n", how, who)
	return env, sb, nil
}

func reached(res buildspec.Result, step buildspec.Step) bool {
	for _, p := range res.Phases {
		if p.Step == step {
			return true
		}
	}
	return false
}

// sendReports parses each report group's files and keeps the group's report
// with the execution. Problems are logged, as CodeBuild does: a report that
// cannot be read does not fail the build.
func sendReports(ctx context.Context, spec *buildspec.Spec, dir string, job *provider.Job) {
	for _, g := range buildspec.ReadReports(spec, dir, job.Log) {
		if job.Report == nil {
			continue
		}
		if err := job.Report(ctx, g.Group, g.Report); err != nil {
			fmt.Fprintf(job.Log, "[Container] report group %s: could not be kept: %v\n", g.Group, err)
		}
	}
}

// buildHome is the private HOME of a job's builds.
func buildHome(job *provider.Job) string { return filepath.Join(filepath.Dir(job.WorkDir), "home") }

// cachePath is a cache path resolved to the tree it lives in: the source
// directory ("src") or the build's HOME ("home"), which is where CodeBuild's
// images keep tools' caches (/root/.m2, ~/.npm).
type cachePath struct {
	base string // "src" or "home"
	glob string // relative to the base
}

// cachedPaths returns the buildspec's cache paths that sluice can keep: inside
// the source directory, or under HOME (written /root/..., ~/... or $HOME/...).
// Others are named in the log as not cached.
func cachedPaths(spec *buildspec.Spec, job *provider.Job) []cachePath {
	if spec.Cache == nil || job.LoadCache == nil {
		return nil
	}
	var keep []cachePath
	for _, p := range spec.Cache.Paths {
		rel, home := "", false
		for _, prefix := range []string{"/root/", "~/", "$HOME/", "${HOME}/"} {
			if r, ok := strings.CutPrefix(p, prefix); ok {
				rel, home = r, true
			}
		}
		switch {
		case home:
			keep = append(keep, cachePath{"home", rel})
		case filepath.IsAbs(p) || strings.HasPrefix(p, "~") || strings.HasPrefix(p, "$") || strings.HasPrefix(filepath.Clean(p), ".."):
			fmt.Fprintf(job.Log, "[Container] warning: cache path %s is outside the source directory and HOME: not cached\n", p)
		default:
			keep = append(keep, cachePath{"src", p})
		}
	}
	return keep
}

func (c cachePath) dir(src string, job *provider.Job) string {
	if c.base == "home" {
		return buildHome(job)
	}
	return src
}

// restoreCache puts the project's cache back before the install phase, as
// CodeBuild's local cache does: files under src/ into the source directory,
// files under home/ into HOME.
func restoreCache(ctx context.Context, paths []cachePath, dir string, job *provider.Job) {
	if len(paths) == 0 {
		return
	}
	rc, err := job.LoadCache(ctx)
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintln(job.Log, "[Container] no cache kept for this project yet")
		return
	}
	if err != nil {
		fmt.Fprintf(job.Log, "[Container] warning: cache not restored: %v\n", err)
		return
	}
	defer rc.Close()
	staging := filepath.Join(filepath.Dir(job.WorkDir), "cache")
	err = func() error {
		tmp, err := os.CreateTemp(filepath.Dir(job.WorkDir), "cache-*.zip")
		if err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		if _, err := io.Copy(tmp, rc); err != nil {
			return err
		}
		if err := artifact.UnzipFile(ctx, tmp.Name(), staging); err != nil {
			return err
		}
		defer os.RemoveAll(staging)
		for base, to := range map[string]string{"src": dir, "home": buildHome(job)} {
			if err := mergeInto(filepath.Join(staging, base), to); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		fmt.Fprintf(job.Log, "[Container] warning: cache not restored: %v\n", err)
		return
	}
	fmt.Fprintln(job.Log, "[Container] cache restored")
}

// mergeInto moves the tree at src into dst, replacing files of the same name.
func mergeInto(src, dst string) error {
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		os.Remove(target)
		return os.Rename(p, target)
	})
}

// saveCache keeps the cache paths' files for the project's next build.
func saveCache(ctx context.Context, paths []cachePath, dir string, job *provider.Job) {
	if len(paths) == 0 {
		return
	}
	var files []buildspec.ArtifactFile
	for _, base := range []string{"src", "home"} {
		var globs []string
		for _, c := range paths {
			if c.base == base {
				globs = append(globs, c.glob)
			}
		}
		if len(globs) == 0 {
			continue
		}
		from := cachePath{base: base}.dir(dir, job)
		found, err := buildspec.Artifact{Files: globs}.Collect(from)
		if err != nil {
			fmt.Fprintf(job.Log, "[Container] warning: cache not saved: %v\n", err)
			return
		}
		for _, f := range found {
			f.Name = base + "/" + f.Name
			files = append(files, f)
		}
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(buildspec.WriteZip(pw, files)) }()
	if err := job.SaveCache(ctx, pr); err != nil {
		pr.CloseWithError(err)
		fmt.Fprintf(job.Log, "[Container] warning: cache not saved: %v\n", err)
		return
	}
	fmt.Fprintf(job.Log, "[Container] cache saved (%d files)\n", len(files))
}

// buildspecSecrets resolves the buildspec's own env.parameter-store and
// env.secrets-manager entries from sluice's secret store. The server gives a
// build only the secrets its project names, so a buildspec in the source can
// reach no secret the project's owner did not declare. An entry that
// resolves to nothing fails the build naming it, as CodeBuild fails a build
// whose parameter or secret cannot be read, rather than exporting an empty
// value the build would run on unawares.
//
// With an aws connection (fromAWS), entries are read from AWS instead, and
// the same rule holds on this side: an entry must name a parameter or a
// secret id the project (or the action) declares in its variables of that
// type, so a buildspec cannot read what the project's owner did not declare.
func buildspecSecrets(ctx context.Context, spec *buildspec.Spec, job *provider.Job, into map[string]string, fromAWS *awsSecrets, declared []Variable) error {
	for _, group := range []struct {
		field, typ string
		refs       map[string]string
	}{{"parameter-store", ParameterStore, spec.Env.ParameterStore}, {"secrets-manager", SecretsManager, spec.Env.SecretsManager}} {
		names := make([]string, 0, len(group.refs))
		for name := range group.refs {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			ref := group.refs[name]
			if fromAWS != nil {
				where := fmt.Sprintf("%s: env.%s.%s", spec.File, group.field, name)
				if !declaresAWS(declared, group.typ, ref) {
					return fmt.Errorf("%s: %q is not declared by the project: a buildspec may read only what the project's environmentVariables of type %s name", where, ref, group.typ)
				}
				value, err := fromAWS.read(ctx, group.typ, ref)
				if err != nil {
					return fmt.Errorf("%s: %w", where, err)
				}
				if value == "" {
					return fmt.Errorf("%s: %s resolved to nothing; the build does not run on an empty value", where, ref)
				}
				into[name] = value
				continue
			}
			// A secrets-manager reference is secret-id:json-key:version-stage:version-id;
			// sluice's secrets have no versions or JSON keys, so the id is the name.
			secret, _, _ := strings.Cut(ref, ":")
			where := fmt.Sprintf("%s: env.%s.%s", spec.File, group.field, name)
			if secret == "" {
				return fmt.Errorf("%s: %q names no secret", where, ref)
			}
			if job.Secret == nil {
				return fmt.Errorf("%s: this worker cannot read secrets", where)
			}
			value, err := job.Secret(ctx, secret)
			if err != nil {
				return fmt.Errorf("%s: secret %s (a buildspec may use only secrets its project names in environmentVariables): %w", where, secret, err)
			}
			if len(value) == 0 {
				return fmt.Errorf("%s: secret %s resolved to nothing; the build does not run on an empty value", where, secret)
			}
			into[name] = string(value)
		}
	}
	return nil
}

// declaresAWS reports whether the project's variables of type typ name what
// ref reads: the same parameter, or the same Secrets Manager secret id
// (whatever key or version the reference picks).
func declaresAWS(vars []Variable, typ, ref string) bool {
	id := ref
	if typ == SecretsManager {
		r, err := ParseSecretRef(ref)
		if err != nil {
			return false
		}
		id = r.ID
	}
	for _, v := range vars {
		if strings.ToUpper(v.Type) != typ {
			continue
		}
		vid := v.Value
		if typ == SecretsManager {
			r, err := ParseSecretRef(v.Value)
			if err != nil {
				continue
			}
			vid = r.ID
		}
		if vid == id {
			return true
		}
	}
	return false
}
