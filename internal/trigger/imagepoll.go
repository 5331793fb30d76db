package trigger

import (
	"context"
	"fmt"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/service"
)

// providerECR is the ECR source action's provider name.
const providerECR = "ECR"

// ImageDigests reads the digest of the manifest a tag names in a repository
// of an OCI distribution registry.
type ImageDigests interface {
	// secret is the action's CredentialsSecret value, or nil.
	Digest(ctx context.Context, registryURL, repository, tag string, secret []byte) (string, error)
}

// ECRImages reads the digest of the image an ECR source action without
// RegistryUrl follows, in the ECR of its aws connection.
type ECRImages interface {
	ImageDigest(ctx context.Context, pipeline, stage string, a pipeline.Action) (string, error)
}

// WithECR makes the poller follow ECR source actions without RegistryUrl
// through their aws connections' ECR, reading them with e, and returns it.
func (p *Poller) WithECR(e ECRImages) *Poller { p.ecr = e; return p }

// WithImages makes the poller also follow the tags that ECR source actions
// name, reading them with d, and returns it. A new digest for the tag starts
// the pipeline once, at that digest.
func (p *Poller) WithImages(d ImageDigests) *Poller { p.images = d; return p }

func (p *Poller) pollImage(ctx context.Context, name, stage string, a pipeline.Action) error {
	action, cfg := a.Name, a.Configuration
	reg, repo, tag := cfg["RegistryUrl"], cfg["RepositoryName"], cfg["ImageTag"]
	if tag == "" {
		tag = "latest" // as the action resolves it, and CodePipeline
	}
	if reg == "" {
		if p.ecr == nil {
			return nil
		}
		dctx, cancel := context.WithTimeout(ctx, pollTimeout)
		digest, err := p.ecr.ImageDigest(dctx, name, stage, a)
		cancel()
		where := fmt.Sprintf("%s:%s in the ECR of the action's connection", repo, tag)
		if err != nil {
			return p.svc.NoteIgnored(ctx, name, service.TriggerNote{
				Type: service.TriggerPoll, Detail: "poll of image " + where, Reason: err.Error(),
			})
		}
		return p.follow(ctx, name, action, digest, fmt.Sprintf("new image %s for %s", digest, where))
	}
	if p.images == nil {
		return nil
	}
	var secret []byte
	if cs := cfg["CredentialsSecret"]; cs != "" {
		var err error
		if secret, err = p.svc.SecretValue(ctx, cs); err != nil {
			return err
		}
	}
	dctx, cancel := context.WithTimeout(ctx, pollTimeout)
	digest, err := p.images.Digest(dctx, reg, repo, tag, secret)
	cancel()
	if err != nil {
		return p.svc.NoteIgnored(ctx, name, service.TriggerNote{
			Type: service.TriggerPoll, Detail: fmt.Sprintf("poll of image %s:%s in %s", repo, tag, reg),
			Reason: err.Error(),
		})
	}
	return p.follow(ctx, name, action, digest, fmt.Sprintf("new image %s for %s:%s in %s", digest, repo, tag, reg))
}
