// Package buildspec reads CodeBuild buildspec files (versions 0.1 and 0.2)
// into a Spec, without running anything.
//
// Parse reports every problem in one pass: errors (malformed YAML, values of
// the wrong type, an unknown version) as a yamlnode.ErrorList whose entries
// name file, line and field; and warnings (unknown keys, settings that cannot
// apply outside AWS) that never stop a build. The format follows CodeBuild's
// buildspec reference and batch build buildspec reference:
// https://docs.aws.amazon.com/codebuild/latest/userguide/build-spec-ref.html
// https://docs.aws.amazon.com/codebuild/latest/userguide/batch-build-buildspec.html
package buildspec

import (
	"strconv"
	"strings"
)

// Spec is one buildspec file.
type Spec struct {
	// Version is "0.1" or "0.2" as written (or "0.0", CodeBuild's preview
	// format, read like 0.1). In 0.1 every command runs in a shell of its
	// own; in 0.2 the commands of a build share one shell. See SeparateShells.
	Version string
	// File is the name Parse was given, for messages.
	File string
	// RunAs is the user that runs every command, unless a phase names its
	// own: a user name or a numeric uid of the machine the build runs on.
	RunAs     string
	RunAsLine int
	Env       Env
	Proxy     *Proxy
	Phases    Phases
	Reports   []Report // in file order
	Artifacts *Artifacts
	Cache     *Cache
	Batch     *Batch
}

// SeparateShells reports whether each command runs in a shell of its own, as
// in version 0.1, rather than all of a build's commands sharing one.
func (s *Spec) SeparateShells() bool { return s.Version != "0.2" }

// UsesRunAs reports whether any command of the buildspec runs as a user
// named by run-as.
func (s *Spec) UsesRunAs() bool {
	if s.RunAs != "" {
		return true
	}
	for _, p := range s.Phases.List() {
		if p.RunAs != "" {
			return true
		}
	}
	return false
}

// Env is the env section (environment_variables in version 0.1).
type Env struct {
	// Shell is bash, /bin/sh, powershell.exe or cmd.exe; empty means the
	// image's default shell.
	Shell string
	// Variables are plain-text variables. Values are kept as written, so
	// `PORT: 8080` gives "8080" and `DEBUG: yes` gives "yes".
	Variables map[string]string
	// ParameterStore maps a variable to the name of a parameter.
	ParameterStore map[string]string
	// SecretsManager maps a variable to a reference of the form
	// secret-id:json-key:version-stage:version-id, kept as written.
	SecretsManager      map[string]string
	ExportedVariables   []string
	GitCredentialHelper bool
}

// Proxy holds CodeBuild's explicit-proxy settings, which sluice accepts and ignores.
type Proxy struct {
	UploadArtifacts bool
	Logs            bool
}

// PhaseName names one of the four phases a buildspec may declare.
type PhaseName string

// The phases, in the order they run.
const (
	Install   PhaseName = "install"
	PreBuild  PhaseName = "pre_build"
	Build     PhaseName = "build"
	PostBuild PhaseName = "post_build"
)

// PhaseNames lists the phases in the order they run.
var PhaseNames = []PhaseName{Install, PreBuild, Build, PostBuild}

// Phases holds the declared phases; a nil field was not declared.
type Phases struct {
	Install, PreBuild, Build, PostBuild *Phase
}

// List returns the declared phases in the order they run.
func (p Phases) List() []*Phase {
	var out []*Phase
	for _, ph := range []*Phase{p.Install, p.PreBuild, p.Build, p.PostBuild} {
		if ph != nil {
			out = append(out, ph)
		}
	}
	return out
}

// Get returns the phase called name, or nil.
func (p Phases) Get(name PhaseName) *Phase {
	switch name {
	case Install:
		return p.Install
	case PreBuild:
		return p.PreBuild
	case Build:
		return p.Build
	case PostBuild:
		return p.PostBuild
	}
	return nil
}

func (p *Phases) set(name PhaseName, ph *Phase) {
	switch name {
	case Install:
		p.Install = ph
	case PreBuild:
		p.PreBuild = ph
	case Build:
		p.Build = ph
	case PostBuild:
		p.PostBuild = ph
	}
}

// Phase is one phase of a build.
type Phase struct {
	Name PhaseName
	Line int // where the phase is declared
	// RunAs overrides Spec.RunAs for this phase.
	RunAs     string
	RunAsLine int
	OnFailure OnFailure
	// RuntimeVersions (install only) is kept but has no effect: sluice has
	// no managed runtimes to select.
	RuntimeVersions map[string]string
	// Commands run in order until one fails. A multi-line block scalar is
	// one command.
	Commands []string
	// Finally runs after Commands, even when one of them failed.
	Finally []string
}

// FailureAction is what a phase's on-failure asks for.
type FailureAction string

// The on-failure actions. The zero value means on-failure was not given:
// CodeBuild's default phase transitions apply.
const (
	DefaultTransition FailureAction = ""
	Abort             FailureAction = "ABORT"
	Continue          FailureAction = "CONTINUE"
	Retry             FailureAction = "RETRY"
)

// OnFailure is a phase's on-failure setting: ABORT, CONTINUE, or one of the
// forms RETRY, RETRY-count, RETRY-regex and RETRY-count-regex.
type OnFailure struct {
	Action FailureAction
	// Retries is how many times a failed phase is retried (RETRY only):
	// 3 unless a count is given, at most 100.
	Retries int
	// Pattern (RETRY only) is the regular expression the failure's error
	// message must match for a retry; ".*" unless one is given.
	Pattern string
}

// String returns the setting as it would be written in a buildspec.
func (o OnFailure) String() string {
	if o.Action != Retry {
		return string(o.Action)
	}
	s := "RETRY"
	if o.Retries != 3 {
		s += "-" + strconv.Itoa(o.Retries)
	}
	if o.Pattern != ".*" {
		s += "-" + o.Pattern
	}
	return s
}

// ReportFormat is the file format of a report group's files.
type ReportFormat string

// The report formats CodeBuild reads: test reports, then code coverage.
const (
	JUnitXML        ReportFormat = "JUNITXML"
	CucumberJSON    ReportFormat = "CUCUMBERJSON"
	TestNGXML       ReportFormat = "TESTNGXML"
	NUnitXML        ReportFormat = "NUNITXML"
	NUnit3XML       ReportFormat = "NUNIT3XML"
	VisualStudioTRX ReportFormat = "VISUALSTUDIOTRX"
	CloverXML       ReportFormat = "CLOVERXML"
	CoberturaXML    ReportFormat = "COBERTURAXML"
	JaCoCoXML       ReportFormat = "JACOCOXML"
	SimpleCov       ReportFormat = "SIMPLECOV"
)

// ReportFormats lists every format CodeBuild accepts.
var ReportFormats = []ReportFormat{
	JUnitXML, CucumberJSON, TestNGXML, NUnitXML, NUnit3XML, VisualStudioTRX,
	CloverXML, CoberturaXML, JaCoCoXML, SimpleCov,
}

// Coverage reports whether f is a code coverage format rather than a test report.
func (f ReportFormat) Coverage() bool {
	switch f {
	case CloverXML, CoberturaXML, JaCoCoXML, SimpleCov:
		return true
	}
	return false
}

// Report is one report group of the reports section.
type Report struct {
	// Name is the report group's name or ARN, as written.
	Name          string
	Line          int
	Files         []string
	BaseDirectory string
	DiscardPaths  bool
	// FileFormat is JUNITXML unless given; always in upper case.
	FileFormat ReportFormat
}

// Artifact is one set of output files: the primary artifact, or a secondary
// one (which has an Identifier).
type Artifact struct {
	Identifier     string // secondary artifacts only
	Line           int
	Files          []string
	Name           string
	DiscardPaths   bool
	BaseDirectory  string
	ExcludePaths   []string
	EnableSymlinks bool
	// S3Prefix is kept but has no effect: sluice does not write to S3.
	S3Prefix string
}

// Artifacts is the artifacts section: the primary artifact and the
// secondary ones, in file order.
type Artifacts struct {
	Artifact
	Secondary []Artifact
}

// Cache is the cache section.
type Cache struct {
	Key          string
	FallbackKeys []string
	// Action is "restore", "save", or empty for both.
	Action string
	Paths  []string
}

// Batch is the batch section. At most one of BuildGraph, BuildList,
// BuildMatrix and BuildFanout is set.
type Batch struct {
	FastFail    bool
	BuildGraph  []BatchBuild
	BuildList   []BatchBuild
	BuildMatrix *BuildMatrix
	BuildFanout *BuildFanout
}

// BatchBuild is one task of a build graph or build list.
type BatchBuild struct {
	Identifier string
	Line       int
	// Buildspec is another buildspec file to run; empty means this one.
	Buildspec     string
	Env           BatchEnv
	DependOn      []string // build graph only
	IgnoreFailure bool
	DebugSession  bool
}

// BatchEnv overrides the build environment for a batch task. Empty fields
// override nothing.
type BatchEnv struct {
	ComputeType    string
	Fleet          string
	Image          string
	Type           string
	PrivilegedMode *bool
	Variables      map[string]string
}

// BuildMatrix is a build matrix: one build per combination of Dynamic's values.
type BuildMatrix struct {
	Static  MatrixStatic
	Dynamic MatrixDynamic
}

// MatrixStatic holds the settings every build of a matrix shares.
type MatrixStatic struct {
	IgnoreFailure bool
	Env           BatchEnv
}

// MatrixDynamic holds the values a matrix ranges over.
type MatrixDynamic struct {
	Buildspec []string
	Env       MatrixEnv
}

// MatrixEnv holds the environment values a matrix ranges over.
type MatrixEnv struct {
	ComputeType []string
	Fleet       []string
	Image       []string
	Variables   map[string][]string
}

// BuildFanout runs Parallelism copies of the build, for test splitting.
type BuildFanout struct {
	Parallelism   int
	IgnoreFailure bool
}

// Warning is something in a buildspec that does not stop it from running:
// an unknown key, or a setting that cannot apply here.
type Warning struct {
	File string
	Line int
	Path string
	Msg  string
}

// String formats w as file:line: path: msg, leaving out the parts that are empty.
func (w Warning) String() string {
	var b strings.Builder
	if w.File != "" {
		b.WriteString(w.File)
		b.WriteString(":")
	}
	if w.Line > 0 {
		b.WriteString(strconv.Itoa(w.Line))
		b.WriteString(":")
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if w.Path != "" {
		b.WriteString(w.Path)
		b.WriteString(": ")
	}
	b.WriteString(w.Msg)
	return b.String()
}
