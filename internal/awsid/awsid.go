// Package awsid holds the AWS identity sluice presents to AWS-shaped
// clients: the region and account its AWS-compatible endpoint, its ARNs and
// its CodePipeline-shaped events name. A server has one, set by
// --aws-region and --aws-account-id; the defaults are those of a local
// stand-in for AWS (us-east-1, 000000000000), which SDKs accept.
package awsid

import (
	"fmt"
	"regexp"
)

// The defaults of --aws-region and --aws-account-id.
const (
	DefaultRegion  = "us-east-1"
	DefaultAccount = "000000000000"
)

var (
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
)

// ID is a region and an account.
type ID struct {
	Region  string
	Account string
}

// Default is the identity of a server not told otherwise.
func Default() ID { return ID{Region: DefaultRegion, Account: DefaultAccount} }

// New returns the identity of region and account, each defaulted when
// empty, or an error naming the flag at fault.
func New(region, account string) (ID, error) {
	id := Default()
	if region != "" {
		if !regionRE.MatchString(region) {
			return ID{}, fmt.Errorf("--aws-region %q: an AWS region name such as us-east-1 or eu-west-2", region)
		}
		id.Region = region
	}
	if account != "" {
		if !accountRE.MatchString(account) {
			return ID{}, fmt.Errorf("--aws-account-id %q: an AWS account id is 12 digits, such as 000000000000", account)
		}
		id.Account = account
	}
	return id, nil
}

// ARN is arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE.
func (id ID) ARN(service, resource string) string {
	return "arn:aws:" + service + ":" + id.Region + ":" + id.Account + ":" + resource
}

// PipelineARN is a pipeline's ARN, as CodePipeline writes it:
// arn:aws:codepipeline:REGION:ACCOUNT:NAME.
func (id ID) PipelineARN(name string) string { return id.ARN("codepipeline", name) }

// ActionTypeARN is a custom action type's ARN:
// arn:aws:codepipeline:REGION:ACCOUNT:actiontype:OWNER/CATEGORY/PROVIDER/VERSION.
func (id ID) ActionTypeARN(owner, category, provider, version string) string {
	return id.ARN("codepipeline", "actiontype:"+owner+"/"+category+"/"+provider+"/"+version)
}

// WebhookARN is a webhook's ARN: arn:aws:codepipeline:REGION:ACCOUNT:webhook:NAME.
func (id ID) WebhookARN(name string) string { return id.ARN("codepipeline", "webhook:"+name) }

// RepositoryARN is a hosted repository's ARN, as CodeCommit writes it:
// arn:aws:codecommit:REGION:ACCOUNT:NAME.
func (id ID) RepositoryARN(name string) string { return id.ARN("codecommit", name) }

// PipelineName returns the pipeline an ARN of this identity names, and
// whether it is one: another region's or account's ARN is not.
func (id ID) PipelineName(arn string) (string, bool) {
	prefix := id.ARN("codepipeline", "")
	if len(arn) <= len(prefix) || arn[:len(prefix)] != prefix {
		return "", false
	}
	name := arn[len(prefix):]
	for _, c := range name {
		if c == ':' || c == '/' {
			return "", false
		}
	}
	return name, true
}
