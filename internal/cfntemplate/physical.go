package cfntemplate

import (
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/sluice-ci/sluice/internal/awsid"
)

// A resource whose physical name its template gives has a Ref and ARN
// anyone can work out: a bucket named in BucketName is that bucket. These
// are the types a pipeline's properties name most (roles, buckets, build
// projects, functions, topics, repositories), with what Ref returns and the
// attributes CloudFormation documents for them.
type physicalName struct {
	prop string // the property holding the name
	// ref is what Ref returns, from the name ("" when it is not the name and
	// cannot be worked out, as a CodeCommit repository's id).
	ref   func(id awsid.ID, name string) string
	attrs map[string]func(id awsid.ID, name string, res *yaml.Node) string
}

func same(_ awsid.ID, name string) string { return name }

var physicalNames = map[string]physicalName{
	"AWS::S3::Bucket": {"BucketName", same, map[string]func(awsid.ID, string, *yaml.Node) string{
		"Arn":        func(_ awsid.ID, n string, _ *yaml.Node) string { return "arn:aws:s3:::" + n },
		"DomainName": func(_ awsid.ID, n string, _ *yaml.Node) string { return n + ".s3.amazonaws.com" },
		"RegionalDomainName": func(id awsid.ID, n string, _ *yaml.Node) string {
			return n + ".s3." + id.Region + ".amazonaws.com"
		},
	}},
	"AWS::IAM::Role": {"RoleName", same, map[string]func(awsid.ID, string, *yaml.Node) string{
		"Arn": func(id awsid.ID, n string, res *yaml.Node) string {
			path := "/"
			if p := field(field(res, "Properties"), "Path"); p != nil && p.Kind == yaml.ScalarNode {
				path = p.Value
			}
			return "arn:aws:iam::" + id.Account + ":role" + path + n
		},
	}},
	"AWS::CodeBuild::Project": {"Name", same, map[string]func(awsid.ID, string, *yaml.Node) string{
		"Arn": func(id awsid.ID, n string, _ *yaml.Node) string { return id.ARN("codebuild", "project/"+n) },
	}},
	"AWS::CodeCommit::Repository": {"RepositoryName", nil, map[string]func(awsid.ID, string, *yaml.Node) string{
		"Name": func(_ awsid.ID, n string, _ *yaml.Node) string { return n },
		"Arn":  func(id awsid.ID, n string, _ *yaml.Node) string { return id.ARN("codecommit", n) },
		"CloneUrlHttp": func(id awsid.ID, n string, _ *yaml.Node) string {
			return "https://git-codecommit." + id.Region + ".amazonaws.com/v1/repos/" + n
		},
	}},
	"AWS::CodePipeline::Pipeline": {"Name", same, nil},
	"AWS::Lambda::Function": {"FunctionName", same, map[string]func(awsid.ID, string, *yaml.Node) string{
		"Arn": func(id awsid.ID, n string, _ *yaml.Node) string { return id.ARN("lambda", "function:"+n) },
	}},
	"AWS::SNS::Topic": {"TopicName", func(id awsid.ID, n string) string { return id.ARN("sns", n) }, map[string]func(awsid.ID, string, *yaml.Node) string{
		"TopicName": func(_ awsid.ID, n string, _ *yaml.Node) string { return n },
		"TopicArn":  func(id awsid.ID, n string, _ *yaml.Node) string { return id.ARN("sns", n) },
	}},
	"AWS::ECR::Repository": {"RepositoryName", same, map[string]func(awsid.ID, string, *yaml.Node) string{
		"Arn": func(id awsid.ID, n string, _ *yaml.Node) string { return id.ARN("ecr", "repository/"+n) },
		"RepositoryUri": func(id awsid.ID, n string, _ *yaml.Node) string {
			return id.Account + ".dkr.ecr." + id.Region + ".amazonaws.com/" + n
		},
	}},
	"AWS::ECS::Cluster": {"ClusterName", same, map[string]func(awsid.ID, string, *yaml.Node) string{
		"Arn": func(id awsid.ID, n string, _ *yaml.Node) string { return id.ARN("ecs", "cluster/"+n) },
	}},
	"AWS::CodeDeploy::Application":     {"ApplicationName", same, nil},
	"AWS::CodeDeploy::DeploymentGroup": {"DeploymentGroupName", same, nil},
	"AWS::Events::Rule": {"Name", same, map[string]func(awsid.ID, string, *yaml.Node) string{
		"Arn": func(id awsid.ID, n string, _ *yaml.Node) string { return id.ARN("events", "rule/"+n) },
	}},
	"AWS::StepFunctions::StateMachine": {"StateMachineName", func(id awsid.ID, n string) string { return id.ARN("states", "stateMachine:"+n) }, map[string]func(awsid.ID, string, *yaml.Node) string{
		"Name": func(_ awsid.ID, n string, _ *yaml.Node) string { return n },
		"Arn":  func(id awsid.ID, n string, _ *yaml.Node) string { return id.ARN("states", "stateMachine:"+n) },
	}},
	"AWS::SSM::Parameter":         {"Name", same, nil},
	"AWS::Logs::LogGroup":         {"LogGroupName", same, nil},
	"AWS::SecretsManager::Secret": {"Name", nil, nil},
}

// physical works out Ref (attr "") or an attribute of resource logical from
// the physical name its template gives. It returns nil and why not when
// it cannot, nil and "" after recording an error of its own.
func (e *evaluator) physical(logical, attr string, line int, path string) (*yaml.Node, string) {
	typ := e.resourceType(logical)
	if typ == PipelineType && attr == "" {
		// A pipeline this template declares is applied under its Name, or
		// its logical id when it gives none (see Read).
		if n := field(field(e.resources[logical], "Properties"), "Name"); n == nil {
			return scalar(logical, line), ""
		}
	}
	pn, known := physicalNames[typ]
	if !known {
		return nil, "whose value only CloudFormation knows"
	}
	var attrFn func(awsid.ID, string, *yaml.Node) string
	if attr != "" {
		if attrFn = pn.attrs[attr]; attrFn == nil {
			return nil, "an attribute only CloudFormation knows"
		}
	} else if pn.ref == nil {
		return nil, "whose Ref (" + strings.ToLower(typ[strings.LastIndex(typ, ":")+1:]) + " id) only CloudFormation knows"
	}
	nameNode := field(field(e.resources[logical], "Properties"), pn.prop)
	if nameNode == nil {
		return nil, "which gives no " + pn.prop + " (CloudFormation makes one up)"
	}
	if e.busy[logical] {
		e.errorf(line, path, "resource %s's %s refers to itself", logical, pn.prop)
		return nil, ""
	}
	e.busy[logical] = true
	defer delete(e.busy, logical)
	name, ok := e.str(nameNode, "Resources."+logical+".Properties."+pn.prop, pn.prop)
	if !ok {
		return nil, ""
	}
	if attr != "" {
		return scalar(attrFn(e.opts.AWS, name, e.resources[logical]), line), ""
	}
	return scalar(pn.ref(e.opts.AWS, name), line), ""
}
