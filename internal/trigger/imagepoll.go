package trigger

import (
	"context"
	"fmt"

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

// WithImages makes the poller also follow the tags that ECR source actions
// name, reading them with d, and returns it. A new digest for the tag starts
// the pipeline once, at that digest.
func (p *Poller) WithImages(d ImageDigests) *Poller { p.images = d; return p }

func (p *Poller) pollImage(ctx context.Context, name, action string, cfg map[string]string) error {
	reg, repo, tag := cfg["RegistryUrl"], cfg["RepositoryName"], cfg["ImageTag"]
	if tag == "" {
		tag = "latest" // as the action resolves it, and CodePipeline
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
