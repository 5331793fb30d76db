// Package appspec reads CodeDeploy's application specification files
// (appspec.yml): the files to copy, the permissions to set and the hooks to
// run at each lifecycle event of a deployment to servers (EC2/on-premises),
// and the resources and validation hooks of ECS and Lambda deployments, which
// sluice reads but does not deploy to. It imports only yamlnode.
package appspec

// Platform is what an appspec deploys to, told by its shape: an `os` field
// means servers; `Resources` an ECS service or a Lambda function.
type Platform string

const (
	Server Platform = "Server"
	ECS    Platform = "ECS"
	Lambda Platform = "Lambda"
)

// File exists behaviours: what the install does when a destination file
// exists that the previous successful deployment did not put there.
const (
	Disallow  = "DISALLOW"
	Overwrite = "OVERWRITE"
	Retain    = "RETAIN"
)

// Spec is one appspec file.
type Spec struct {
	Version  string
	Platform Platform
	// OS is linux or windows, for servers.
	OS                 string
	Files              []File
	FileExistsBehavior string // DISALLOW (the default), OVERWRITE or RETAIN
	Permissions        []Permission
	// Hooks maps a lifecycle event to its scripts, run in the order written.
	Hooks map[string][]Script
	// Custom lists events that are not CodeDeploy's own (the agent's custom
	// lifecycle events), in file order; a deployment does not run them.
	Custom []string

	// Resources and FunctionHooks are an ECS or Lambda appspec's.
	Resources     []Resource
	FunctionHooks []FunctionHook
}

// File copies Source (a file or a directory of the revision; "/" is all of
// it) to the directory Destination.
type File struct {
	Source      string
	Destination string
}

// Permission sets owner, group and mode on Object, or on what under it
// matches Pattern and no member of Except.
type Permission struct {
	Object  string
	Pattern string // "**" when not given
	Except  []string
	Owner   string
	Group   string
	Mode    string // octal digits as written ("755", "0644"); "" leaves the mode
	Types   []string
	ACLs    []string
	Context *Context
}

// Context is an SELinux context, read and kept; sluice's agent does not set it.
type Context struct {
	User, Role, Type string
	RangeLow         string
	RangeHigh        string
}

// Script is one script of a hook.
type Script struct {
	Location string
	Timeout  int // seconds; 0 means CodeDeploy's default of 3600
	RunAs    string
}

// Resource is one entry of an ECS or Lambda appspec's Resources.
type Resource struct {
	Name       string
	Type       string
	Properties map[string]any
}

// FunctionHook is one entry of an ECS or Lambda appspec's Hooks: the Lambda
// function to call at an event.
type FunctionHook struct {
	Event    string
	Function string
}

// MaxTimeout is the longest a hook's scripts may take, in seconds, and the
// timeout of a script that gives none.
const MaxTimeout = 3600

// ServerEvents are the lifecycle events of an in-place deployment to
// servers, in the order CodeDeploy runs them. DownloadBundle, Install,
// BlockTraffic and AllowTraffic are the agent's own work: an appspec cannot
// hook them. The traffic events run only where there is traffic to shift
// (a deployment group with a load balancer); with none, they are skipped.
var ServerEvents = []string{
	"BeforeBlockTraffic", "BlockTraffic", "AfterBlockTraffic",
	"ApplicationStop", "DownloadBundle", "BeforeInstall", "Install",
	"AfterInstall", "ApplicationStart", "ValidateService",
	"BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic",
}

// Reserved events are run by the agent itself; hooks may not name them.
var Reserved = map[string]bool{"DownloadBundle": true, "Install": true, "BlockTraffic": true, "AllowTraffic": true}

// TrafficEvents run only when the deployment group shifts traffic.
var TrafficEvents = map[string]bool{
	"BeforeBlockTraffic": true, "BlockTraffic": true, "AfterBlockTraffic": true,
	"BeforeAllowTraffic": true, "AllowTraffic": true, "AfterAllowTraffic": true,
}

// ECSEvents and LambdaEvents are the events an ECS or Lambda appspec's
// Hooks may name.
var (
	ECSEvents    = []string{"BeforeInstall", "AfterInstall", "AfterAllowTestTraffic", "BeforeAllowTraffic", "AfterAllowTraffic"}
	LambdaEvents = []string{"BeforeAllowTraffic", "AfterAllowTraffic"}
)

// EventsToRun returns the events a deployment to servers goes through, in
// order, with the traffic events when traffic shifts.
func EventsToRun(traffic bool) []string {
	var out []string
	for _, e := range ServerEvents {
		if TrafficEvents[e] && !traffic {
			continue
		}
		out = append(out, e)
	}
	return out
}

// Hookable reports whether an appspec for servers may hook event.
func Hookable(event string) bool {
	if Reserved[event] {
		return false
	}
	for _, e := range ServerEvents {
		if e == event {
			return true
		}
	}
	return false
}
