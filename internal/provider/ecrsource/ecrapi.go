package ecrsource

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecr"
	"github.com/aws/aws-sdk-go-v2/service/ecr/types"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/pipeline"
)

// Without RegistryUrl, an ECR source reads its repository as CodePipeline
// does: from the ECR of the action's aws connection (its Connection, or the
// one its region picks), with ECR's DescribeImages. The registry is the
// connection's account's: REGISTRY_ID.dkr.ecr.REGION.amazonaws.com, as in
// ECR's repository URIs.

// ecrClient is an ECR client of the connection, at its ecr endpoint.
func ecrClient(conn *awsconn.Conn) *ecr.Client {
	return ecr.NewFromConfig(conn.Config, func(o *ecr.Options) {
		if ep := conn.EndpointFor("ecr"); ep != "" {
			o.BaseEndpoint = aws.String(ep)
		}
	})
}

// describeECR resolves ref (a tag or a digest) in repository repo of the
// connection's ECR. ImagePushedAt is ECR's; Tags are the image's tags.
func describeECR(ctx context.Context, conn *awsconn.Conn, repo, ref string) (Image, time.Time, []string, error) {
	if !ValidName(repo) {
		return Image{}, time.Time{}, nil, fmt.Errorf("%s %q is not a repository name", ConfigRepositoryName, repo)
	}
	id := types.ImageIdentifier{}
	switch {
	case ValidDigest(ref):
		id.ImageDigest = aws.String(ref)
	case ValidTag(ref):
		id.ImageTag = aws.String(ref)
	default:
		return Image{}, time.Time{}, nil, fmt.Errorf("%q is neither a tag nor a sha256 digest", ref)
	}
	out, err := ecrClient(conn).DescribeImages(ctx, &ecr.DescribeImagesInput{RepositoryName: aws.String(repo), ImageIds: []types.ImageIdentifier{id}})
	var notImage *types.ImageNotFoundException
	var notRepo *types.RepositoryNotFoundException
	switch {
	case errors.As(err, &notImage) || (err == nil && len(out.ImageDetails) == 0):
		return Image{}, time.Time{}, nil, fmt.Errorf("image %s:%s %w in the ECR of connection %s", repo, ref, ErrNotFound, conn.Name)
	case errors.As(err, &notRepo):
		return Image{}, time.Time{}, nil, fmt.Errorf("repository %s %w in the ECR of connection %s (region %s)", repo, ErrNotFound, conn.Name, conn.Config.Region)
	case err != nil:
		return Image{}, time.Time{}, nil, fmt.Errorf("ECR of connection %s: describe image %s:%s: %w", conn.Name, repo, ref, err)
	}
	d := out.ImageDetails[0]
	digest := aws.ToString(d.ImageDigest)
	if !ValidDigest(digest) {
		return Image{}, time.Time{}, nil, fmt.Errorf("ECR of connection %s: image %s:%s has no sha256 digest (%q)", conn.Name, repo, ref, digest)
	}
	registryID := aws.ToString(d.RegistryId)
	img := Image{
		Registry:   registryID + ".dkr.ecr." + conn.Config.Region + ".amazonaws.com",
		RegistryID: registryID,
		Repository: repo,
		Digest:     digest,
		Size:       aws.ToInt64(d.ImageSizeInBytes),
	}
	if ValidTag(ref) {
		img.Tag = ref
	}
	return img, aws.ToTime(d.ImagePushedAt), d.ImageTags, nil
}

// ECRDigests reads, for the trigger poller, the digest of the image an ECR
// source without RegistryUrl follows, through the action's connection as
// its jobs would get it.
type ECRDigests struct {
	Conn func(ctx context.Context, pipeline, stage, action string) (*awsconn.Conn, error)
}

// ImageDigest returns the digest the action's ImageTag (latest when unset)
// names in its repository.
func (e ECRDigests) ImageDigest(ctx context.Context, pipelineName, stage string, a pipeline.Action) (string, error) {
	conn, err := e.Conn(ctx, pipelineName, stage, a.Name)
	if err != nil {
		return "", err
	}
	tag := a.Configuration[ConfigImageTag]
	if tag == "" {
		tag = DefaultTag
	}
	img, _, _, err := describeECR(ctx, conn, a.Configuration[ConfigRepositoryName], tag)
	if err != nil {
		return "", err
	}
	return img.Digest, nil
}
