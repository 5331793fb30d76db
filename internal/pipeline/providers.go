package pipeline

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Owners of action types, as CodePipeline names them. Custom action types are
// defined by their users, so sluice cannot know their providers in advance.
const (
	OwnerAWS        = "AWS"
	OwnerThirdParty = "ThirdParty"
	OwnerCustom     = "Custom"
)

// Names of the providers sluice runs. The other names in the table are
// CodePipeline's, accepted for import only.
const (
	ProviderCommands   = "Commands"
	ProviderNoop       = "Noop"
	ProviderGit        = "Git"
	ProviderCodeCommit = "CodeCommit" // Git under CodePipeline's name
	ProviderGitRemote  = "GitRemote"
	ProviderBuild      = "Build"
	ProviderCodeBuild  = "CodeBuild" // Build under CodePipeline's name
	ProviderManual     = "Manual"
	// ProviderPipelineGate waits on another pipeline's state.
	ProviderPipelineGate = "PipelineGate"
	// ProviderPipeline invokes another pipeline (category Invoke).
	ProviderPipeline = "Pipeline"
	ProviderFunction = "Function"
	ProviderLambda   = "Lambda" // Function under CodePipeline's name
	// ProviderPipelineUpdate applies the pipeline's own definition.
	ProviderPipelineUpdate = "PipelineUpdate"
)

// NoLimit in a ProviderInfo count or timeout bound means the bound is not checked.
const NoLimit = -1

// ProviderInfo is what validation knows about one action provider.
type ProviderInfo struct {
	Name string
	// Category is inferred when an action names only the provider.
	Category string
	// Categories lists every category the provider may be declared with,
	// Category first (CodeBuild, for one, serves both Build and Test).
	Categories []string
	Owner      string
	// Runnable reports whether sluice ships an implementation. Providers that
	// are not runnable are reserved: pipelines using them validate and can be
	// stored, so CodePipeline declarations import whole, but an execution
	// reaching one fails.
	Runnable bool
	// Held means the server runs the provider's actions itself: they wait
	// for something outside their pipeline (a person, another pipeline) or
	// change the pipeline, so no worker may claim their jobs, and they write
	// no log. Every other runnable provider is run by workers.
	Held bool

	MinInputs, MaxInputs   int
	MinOutputs, MaxOutputs int
	// Commands means the action takes `commands` (at least one) and
	// `outputVariables`; no other provider accepts them.
	Commands bool
	// OutputFiles means output artifacts may list `files` globs.
	OutputFiles bool
	// NoConfiguration means `configuration` must be empty.
	NoConfiguration bool
	// RequiredConfiguration lists configuration keys that must be present.
	RequiredConfiguration []string
	// MinTimeout and MaxTimeout bound timeoutInMinutes when it is given.
	MinTimeout, MaxTimeout int
	// Check finds what is wrong with a configuration beyond missing keys:
	// values out of their set, keys the provider does not read. It returns
	// problems keyed by configuration key.
	Check func(cfg map[string]string) []ConfigProblem
	// CheckArtifacts finds configuration that names artifacts the action
	// does not have: inputs are its input artifacts' names, outputs how
	// many output artifacts it declares.
	CheckArtifacts func(cfg map[string]string, inputs []string, outputs int) []ConfigProblem
}

// ConfigProblem is one thing wrong with one configuration key.
type ConfigProblem struct {
	Key string
	Msg string
}

// CodePipeline's bounds on ActionDeclaration.timeoutInMinutes.
const (
	minTimeoutMinutes = 5
	maxTimeoutMinutes = 86400
)

func knownProvider(name, owner string, categories []string, in, out [2]int) ProviderInfo {
	return ProviderInfo{
		Name:       name,
		Category:   categories[0],
		Categories: categories,
		Owner:      owner,
		MinInputs:  in[0], MaxInputs: in[1],
		MinOutputs: out[0], MaxOutputs: out[1],
		MinTimeout: minTimeoutMinutes, MaxTimeout: maxTimeoutMinutes,
	}
}

func (p ProviderInfo) runnable() ProviderInfo               { p.Runnable = true; return p }
func (p ProviderInfo) held() ProviderInfo                   { p.Held = true; return p }
func (p ProviderInfo) noConfiguration() ProviderInfo        { p.NoConfiguration = true; return p }
func (p ProviderInfo) requires(keys ...string) ProviderInfo { p.RequiredConfiguration = keys; return p }
func (p ProviderInfo) timeout(lo, hi int) ProviderInfo      { p.MinTimeout, p.MaxTimeout = lo, hi; return p }
func (p ProviderInfo) check(f func(map[string]string) []ConfigProblem) ProviderInfo {
	p.Check = f
	return p
}
func (p ProviderInfo) checkArtifacts(f func(map[string]string, []string, int) []ConfigProblem) ProviderInfo {
	p.CheckArtifacts = f
	return p
}
func (p ProviderInfo) commands() ProviderInfo { p.Commands, p.OutputFiles = true, true; return p }
func categoriesOf(c ...string) []string       { return c }
func artifacts(lo, hi int) [2]int             { return [2]int{lo, hi} }

var (
	noArtifacts  = artifacts(0, 0)
	oneArtifact  = artifacts(1, 1)
	anyArtifacts = artifacts(0, NoLimit)
)

// providers is the table of known action types. The sluice-native names come
// first; CodePipeline's AWS and partner providers follow so that get-pipeline
// documents import without losing actions. Artifact counts and required
// configuration keys mirror CodePipeline's action reference where it gives them.
var providers = func() map[string]ProviderInfo {
	list := []ProviderInfo{
		// Commands runs shell commands. CodePipeline caps it at 1..10 inputs and
		// one output; sluice runs it locally and has no reason to.
		knownProvider(ProviderCommands, OwnerAWS, categoriesOf(CategoryCompute), anyArtifacts, anyArtifacts).
			commands().timeout(1, 480).check(commandsConfig).runnable(),
		// Noop succeeds at once; it lets engine tests and benchmarks build
		// pipelines of any shape without running anything.
		knownProvider(ProviderNoop, OwnerAWS, categoriesOf(CategoryBuild), anyArtifacts, anyArtifacts).noConfiguration().runnable(),

		// Git is sluice's hosted repository source; CodeCommit is the same action
		// under CodePipeline's name.
		knownProvider(ProviderGit, OwnerAWS, categoriesOf(CategorySource), noArtifacts, oneArtifact).runnable(),
		knownProvider(ProviderCodeCommit, OwnerAWS, categoriesOf(CategorySource), noArtifacts, oneArtifact).
			requires("RepositoryName", "BranchName").runnable(),
		knownProvider(ProviderGitRemote, OwnerAWS, categoriesOf(CategorySource), noArtifacts, oneArtifact).runnable(),
		// Build runs a buildspec; CodeBuild is the same under CodePipeline's name.
		knownProvider(ProviderBuild, OwnerAWS, categoriesOf(CategoryBuild, CategoryTest), artifacts(1, 5), artifacts(0, 5)).runnable(),
		knownProvider(ProviderCodeBuild, OwnerAWS, categoriesOf(CategoryBuild, CategoryTest), artifacts(1, 5), artifacts(0, 5)).
			requires("ProjectName").runnable(),
		// Manual waits for a person's answer; CodePipeline allows up to 7 days,
		// sluice up to 60.
		knownProvider(ProviderManual, OwnerAWS, categoriesOf(CategoryApproval), noArtifacts, noArtifacts).
			timeout(5, 60*24*60).check(manualConfig).runnable().held(),
		// PipelineGate waits on another pipeline's state, released by its events.
		knownProvider(ProviderPipelineGate, OwnerAWS, categoriesOf(CategoryApproval), noArtifacts, noArtifacts).
			requires(ConfigPipelineName).timeout(1, 60*24*60).check(gateConfig).runnable().held(),
		// Pipeline starts another pipeline and follows it to its end.
		knownProvider(ProviderPipeline, OwnerAWS, categoriesOf(CategoryInvoke), noArtifacts, noArtifacts).
			requires(ConfigPipelineName).timeout(1, 60*24*60).check(invokeConfig).runnable().held(),
		// Function is CodePipeline's Lambda invoke action over sluice's functions.
		knownProvider(ProviderFunction, OwnerAWS, categoriesOf(CategoryInvoke), artifacts(0, 5), artifacts(0, 5)).
			requires("FunctionName").check(functionConfig).runnable(),
		knownProvider(ProviderLambda, OwnerAWS, categoriesOf(CategoryInvoke), artifacts(0, 5), artifacts(0, 5)).
			requires("FunctionName").check(functionConfig).runnable(),
		// PipelineUpdate applies the pipeline's own definition from its input
		// artifact, as CodePipeline's self-mutating pipelines do.
		knownProvider(ProviderPipelineUpdate, OwnerAWS, categoriesOf(CategoryDeploy), oneArtifact, noArtifacts).
			requires("DefinitionPath").check(updateConfig).runnable().held(),

		// S3 deploys an artifact to a bucket of an aws connection, or, as a
		// source, passes on a zip object of one.
		knownProvider("S3", OwnerAWS, categoriesOf(CategorySource, CategoryDeploy), artifacts(0, 1), artifacts(0, 1)).
			check(s3Config).runnable(),

		// CloudFormation deploys stacks, and stack sets across accounts and
		// regions, through an aws connection.
		knownProvider("CloudFormation", OwnerAWS, categoriesOf(CategoryDeploy), artifacts(0, 10), artifacts(0, 1)).
			requires("ActionMode").check(cloudFormationConfig).checkArtifacts(cloudFormationArtifacts).runnable(),
		knownProvider("CloudFormationStackSet", OwnerAWS, categoriesOf(CategoryDeploy), artifacts(1, 10), noArtifacts).
			requires("StackSetName", "TemplatePath").check(stackSetConfig).checkArtifacts(cloudFormationArtifacts).runnable(),
		knownProvider("CloudFormationStackInstances", OwnerAWS, categoriesOf(CategoryDeploy), artifacts(0, 10), noArtifacts).
			requires("StackSetName", "DeploymentTargets", "Regions").check(stackInstancesConfig).checkArtifacts(cloudFormationArtifacts).runnable(),

		// ECR reads an image's digest from an OCI distribution registry
		// (RegistryUrl, needed to run).
		knownProvider("ECR", OwnerAWS, categoriesOf(CategorySource), noArtifacts, oneArtifact).requires("RepositoryName").
			check(ecrConfig).runnable(),

		// The connection source reads a repository on a git host (GitHub,
		// GitLab, Bitbucket, Gitea) through the git host connection its
		// ConnectionArn resolves to; CodeConnections is its newer name.
		knownProvider(ProviderCodeStarSourceConnection, OwnerAWS, categoriesOf(CategorySource), noArtifacts, oneArtifact).
			requires("ConnectionArn", "FullRepositoryId", "BranchName").check(connectionSourceConfig).runnable(),
		knownProvider(ProviderCodeConnections, OwnerAWS, categoriesOf(CategorySource), noArtifacts, oneArtifact).
			requires("ConnectionArn", "FullRepositoryId", "BranchName").check(connectionSourceConfig).runnable(),
		// GitHub (version 1) reads a GitHub repository with an OAuth token
		// (a sluice secret's name) or through a git host connection.
		knownProvider(ProviderGitHub, OwnerThirdParty, categoriesOf(CategorySource), noArtifacts, oneArtifact).
			requires("Owner", "Repo", "Branch").check(gitHubSourceConfig).runnable(),

		// CodeDeploy deploys its input artifact to a deployment group's
		// agents (`sluice agent`; docs/deploys.md).
		knownProvider("CodeDeploy", OwnerAWS, categoriesOf(CategoryDeploy), oneArtifact, noArtifacts).
			requires("ApplicationName", "DeploymentGroupName").runnable(),

		// CodePipeline's other action types, accepted for import only.
		knownProvider("CodeDeployToECS", OwnerAWS, categoriesOf(CategoryDeploy), artifacts(1, 5), noArtifacts),
		knownProvider("ECS", OwnerAWS, categoriesOf(CategoryDeploy), oneArtifact, noArtifacts).requires("ClusterName", "ServiceName").
			check(ecsConfig).runnable(),
		knownProvider("EC2", OwnerAWS, categoriesOf(CategoryDeploy), anyArtifacts, anyArtifacts),
		knownProvider("EKS", OwnerAWS, categoriesOf(CategoryDeploy), anyArtifacts, anyArtifacts),
		knownProvider("ElasticBeanstalk", OwnerAWS, categoriesOf(CategoryDeploy), oneArtifact, noArtifacts).
			requires("ApplicationName", "EnvironmentName").check(beanstalkConfig).runnable(),
		knownProvider("OpsWorks", OwnerAWS, categoriesOf(CategoryDeploy), oneArtifact, noArtifacts),
		knownProvider("ServiceCatalog", OwnerAWS, categoriesOf(CategoryDeploy), oneArtifact, noArtifacts),
		knownProvider("AppConfig", OwnerAWS, categoriesOf(CategoryDeploy), oneArtifact, noArtifacts),
		knownProvider("AlexaSkillsKit", OwnerThirdParty, categoriesOf(CategoryDeploy), anyArtifacts, anyArtifacts),
		knownProvider("StepFunctions", OwnerAWS, categoriesOf(CategoryInvoke), artifacts(0, 1), artifacts(0, 1)).
			requires("StateMachineArn").check(stepFunctionsConfig).runnable(),
		knownProvider("InspectorScan", OwnerAWS, categoriesOf(CategoryInvoke), anyArtifacts, anyArtifacts),
		knownProvider("ECRBuildAndPublish", OwnerAWS, categoriesOf(CategoryBuild), anyArtifacts, anyArtifacts),
		knownProvider("DeviceFarm", OwnerAWS, categoriesOf(CategoryTest), anyArtifacts, anyArtifacts),
	}
	m := make(map[string]ProviderInfo, len(list))
	for _, p := range list {
		m[p.Name] = p
	}
	return m
}()

// LookupProvider returns what is known about the named provider. Names are
// case-sensitive, as in CodePipeline.
func LookupProvider(name string) (ProviderInfo, bool) {
	p, ok := providers[name]
	if !ok {
		return ProviderInfo{}, false
	}
	// Copies, so a caller cannot edit the table through the slices.
	p.Categories = slices.Clone(p.Categories)
	p.RequiredConfiguration = slices.Clone(p.RequiredConfiguration)
	return p, true
}

// Providers returns the names of all known providers, sorted.
func Providers() []string {
	names := make([]string, 0, len(providers))
	for n := range providers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// IsHeld reports whether the server runs actions of the named provider itself
// (Manual, PipelineGate, Pipeline, PipelineUpdate), so that no worker may
// claim them.
func IsHeld(name string) bool { return providers[name].Held }

// HeldProviders returns the names of the providers the server holds, sorted.
func HeldProviders() []string {
	var names []string
	for _, n := range Providers() {
		if providers[n].Held {
			names = append(names, n)
		}
	}
	return names
}

// IsBuild reports whether provider runs a build project's buildspec (Build,
// or CodeBuild, its name in CodePipeline).
func IsBuild(provider string) bool { return provider == ProviderBuild || provider == ProviderCodeBuild }

// IsFunction reports whether provider invokes a function (Function, or
// Lambda, its name in CodePipeline).
func IsFunction(provider string) bool {
	return provider == ProviderFunction || provider == ProviderLambda
}

// providerNames is Providers(), computed once for suggestions.
var providerNames = Providers()

var categories = []string{
	CategorySource, CategoryBuild, CategoryTest, CategoryDeploy,
	CategoryApproval, CategoryInvoke, CategoryCompute,
}

var owners = []string{OwnerAWS, OwnerThirdParty, OwnerCustom}

// RequireRunnable is a Check that refuses actions whose provider this sluice
// knows but cannot run yet: applied, such a pipeline would wait for a worker that
// never comes.
func RequireRunnable(p *Pipeline) yamlnode.ErrorList {
	var errs yamlnode.ErrorList
	var runnable []string
	for _, name := range Providers() {
		if info, _ := LookupProvider(name); info.Runnable {
			runnable = append(runnable, name)
		}
	}
	for i, st := range p.Stages {
		for j, a := range st.Actions {
			info, ok := LookupProvider(a.ActionTypeID.Provider)
			if msg := hostSourceRunnable(a); msg != "" {
				errs.Add(fmt.Sprintf("stages[%d].actions[%d].configuration", i, j), msg)
			}
			if ok && !info.Runnable {
				errs.Add(fmt.Sprintf("stages[%d].actions[%d].actionTypeId.provider", i, j),
					fmt.Sprintf("provider %q cannot run in this version of sluice yet (it runs %s)", a.ActionTypeID.Provider, strings.Join(runnable, ", ")))
			}
		}
	}
	return errs
}
