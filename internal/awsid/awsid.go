// Package awsid holds the AWS identity sluice presents to what speaks AWS:
// the region and account its AWS-compatible endpoint signs for, its ARNs
// (arn:aws:codepipeline:REGION:ACCOUNT:NAME) and its CodePipeline-shaped
// events name, so that a rule pattern, a handler or an SDK call written for
// CodePipeline reads sluice's the same way. A server has one, set by
// --aws-region and --aws-account-id.
package awsid

import (
	"fmt"

	"github.com/sluice-ci/sluice/internal/lazyregexp"
)

// The defaults when the server is given neither --aws-region nor a --region
// that looks like an AWS region: the aws CLI's and the SDKs' usual region, and
// the all-zero account that local emulators (LocalStack, moto) also use, so
// that nothing sluice writes can be mistaken for a real account.
const (
	DefaultRegion  = "us-east-1"
	DefaultAccount = "000000000000"
	Partition      = "aws"
)

var (
	accountRE = lazyregexp.New(`^[0-9]{12}$`)
	regionRE  = lazyregexp.New(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// ID is the account and region sluice speaks for.
type ID struct {
	Region  string
	Account string
}

// New returns an ID for region and account; an empty one takes its default,
// and a malformed one is an error naming the flag.
func New(region, account string) (ID, error) {
	if region == "" {
		region = DefaultRegion
	}
	if account == "" {
		account = DefaultAccount
	}
	if !accountRE.MatchString(account) {
		return ID{}, fmt.Errorf("--aws-account-id %q: an AWS account id is 12 digits, such as %s", account, DefaultAccount)
	}
	if !IsRegion(region) {
		return ID{}, fmt.Errorf("--aws-region %q: an AWS region is written like us-east-1 or eu-west-3", region)
	}
	return ID{Region: region, Account: account}, nil
}

// IsRegion reports whether name is written like an AWS region (us-east-1,
// ap-southeast-2, us-gov-west-1); sluice's own "local" is not.
func IsRegion(name string) bool { return regionRE.MatchString(name) }

// Default is the ID of a server configured with nothing.
func Default() ID { return ID{Region: DefaultRegion, Account: DefaultAccount} }

// orDefault fills what a zero ID lacks, so that a Service built in a test
// without configuration still writes well-formed ARNs.
func (id ID) orDefault() ID {
	if id.Region == "" {
		id.Region = DefaultRegion
	}
	if id.Account == "" {
		id.Account = DefaultAccount
	}
	return id
}

// ARN is arn:aws:SERVICE:REGION:ACCOUNT:RESOURCE.
func (id ID) ARN(service, resource string) string {
	id = id.orDefault()
	return "arn:" + Partition + ":" + service + ":" + id.Region + ":" + id.Account + ":" + resource
}

// PipelineARN is a pipeline's ARN as CodePipeline writes it in events and
// GetPipeline's metadata: arn:aws:codepipeline:REGION:ACCOUNT:NAME.
func (id ID) PipelineARN(name string) string { return id.ARN("codepipeline", name) }

// ActionTypeARN is a custom action type's ARN:
// arn:aws:codepipeline:REGION:ACCOUNT:actiontype:OWNER/CATEGORY/PROVIDER/VERSION.
func (id ID) ActionTypeARN(owner, category, provider, version string) string {
	return id.ARN("codepipeline", "actiontype:"+owner+"/"+category+"/"+provider+"/"+version)
}

// WebhookARN is a webhook's ARN: arn:aws:codepipeline:REGION:ACCOUNT:webhook:NAME.
func (id ID) WebhookARN(name string) string { return id.ARN("codepipeline", "webhook:"+name) }

// RepositoryARN is a hosted repository's ARN as CodeCommit writes it:
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
