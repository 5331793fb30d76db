// Package registry builds the table of provider implementations a worker runs
// actions with, keyed by the provider names pipelines declare. The server's
// in-process workers and `sluice worker` both take their table from here, so
// that a remote worker runs exactly what an in-process one does and neither
// needs the other's package. (Which names a pipeline may declare, and what
// they mean, is the pipeline package's; this is what runs them.)
package registry

import (
	"strings"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/provider/alarm"
	"github.com/sluice-ci/sluice/internal/provider/beanstalk"
	"github.com/sluice-ci/sluice/internal/provider/build"
	"github.com/sluice-ci/sluice/internal/provider/cloudformation"
	"github.com/sluice-ci/sluice/internal/provider/codedeploy"
	"github.com/sluice-ci/sluice/internal/provider/commands"
	"github.com/sluice-ci/sluice/internal/provider/ecrsource"
	"github.com/sluice-ci/sluice/internal/provider/ecsdeploy"
	"github.com/sluice-ci/sluice/internal/provider/gitsource"
	"github.com/sluice-ci/sluice/internal/provider/hostsource"
	"github.com/sluice-ci/sluice/internal/provider/lambda"
	"github.com/sluice-ci/sluice/internal/provider/metric"
	"github.com/sluice-ci/sluice/internal/provider/noop"
	"github.com/sluice-ci/sluice/internal/provider/s3deploy"
	"github.com/sluice-ci/sluice/internal/provider/s3source"
	"github.com/sluice-ci/sluice/internal/provider/stepfunctions"
	"github.com/sluice-ci/sluice/internal/sandbox"
)

// Options is what the providers need to know about where they run.
type Options struct {
	// ServerURL and Token give source actions access to the server's hosted
	// repositories.
	ServerURL, Token string
	// CAFile, when not "", is a PEM file of certificates to trust for the
	// server (--ca-cert), passed on to git and to command functions.
	CAFile string
	// Isolation is the sandbox every action that runs user code runs in
	// (Commands, builds, command functions).
	Isolation *sandbox.Isolation
}

// Implementations is the table of provider implementations by provider name:
// every runnable provider of pipeline's table that the server does not hold.
// Each call makes a table of its own: a worker may keep state in its
// providers.
func Implementations(o Options) map[string]provider.Provider {
	git := &gitsource.Provider{
		HostedURL:    func(name string) string { return strings.TrimRight(o.ServerURL, "/") + "/git/" + name + ".git" },
		HostedToken:  o.Token,
		HostedCAFile: o.CAFile,
	}
	fn := lambda.Provider{CACertFile: o.CAFile, Isolation: o.Isolation}
	return map[string]provider.Provider{
		pipeline.ProviderCommands:   commands.Provider{Isolation: o.Isolation},
		pipeline.ProviderNoop:       noop.Provider{},
		pipeline.ProviderGit:        git,
		pipeline.ProviderCodeCommit: git,
		pipeline.ProviderGitRemote:  git,
		pipeline.ProviderBuild:      build.Provider{Isolation: o.Isolation},
		pipeline.ProviderCodeBuild:  build.Provider{Isolation: o.Isolation},
		pipeline.ProviderFunction:   fn,
		pipeline.ProviderLambda:     fn,

		// AWS's deploy and invoke actions, through the job's aws connection.
		"S3":                           s3source.Or(s3deploy.Provider{}),
		"CloudFormation":               cloudformation.Provider{},
		"CloudFormationStackSet":       cloudformation.StackSetProvider{},
		"CloudFormationStackInstances": cloudformation.StackInstancesProvider{},
		"ECS":                          ecsdeploy.Provider{},
		"CodeDeploy":                   codedeploy.Provider{},
		"ElasticBeanstalk":             beanstalk.Provider{},
		"StepFunctions":                stepfunctions.Provider{},

		// ECR source over an OCI distribution registry (RegistryUrl).
		"ECR": ecrsource.Provider{},

		// Stage conditions' rules that need a worker (pipeline.WorkerRules).
		pipeline.RuleCloudWatchAlarm: alarm.Provider{},
		pipeline.RuleMetric:          metric.Provider{},

		// Repositories on git hosts, through git host connections.
		pipeline.ProviderCodeStarSourceConnection: hostsource.Provider{},
		pipeline.ProviderCodeConnections:          hostsource.Provider{},
		pipeline.ProviderGitHub:                   hostsource.Provider{},
	}
}
