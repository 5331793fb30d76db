// Package ecrsource is CodePipeline's ECR source action over any OCI
// distribution registry: it resolves RepositoryName:ImageTag to the digest
// of its manifest and writes imageDetail.json, as CodePipeline does, into
// the action's output artifact.
//
// The registry is named by the sluice-specific RegistryUrl configuration key
// (http:// or https://); without it, as in CodePipeline, it is the ECR of
// the account and region of the action's aws connection (ecrapi.go).
package ecrsource

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/sluice-ci/sluice/internal/provider"
)

// Configuration keys.
const (
	ConfigRepositoryName = "RepositoryName"
	ConfigImageTag       = "ImageTag"
	ConfigRegistryURL    = "RegistryUrl"
	// ConfigCredentialsSecret names a sluice secret holding USER:PASSWORD
	// (basic auth) or a bearer token for the registry.
	ConfigCredentialsSecret = "CredentialsSecret"
)

// DefaultTag is the tag resolved when ImageTag is not given, as in CodePipeline.
const DefaultTag = "latest"

// manifestTypes are the manifest media types asked for: single-platform and
// multi-platform, OCI and Docker. The digest is the manifest's as stored,
// whichever it is, as ECR's imageDigest is.
var manifestTypes = []string{
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}

// The distribution spec's grammar for repository names and tags, and the
// form of a digest.
var (
	nameRE   = lazyregexp.New(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRE    = lazyregexp.New(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
	digestRE = lazyregexp.New(`^sha256:[a-f0-9]{64}$|^sha512:[a-f0-9]{128}$`)
)

// ValidName, ValidTag and ValidDigest say whether s is a repository name, a
// tag or a digest as the distribution spec allows them.
func ValidName(s string) bool   { return len(s) <= 255 && nameRE.MatchString(s) }
func ValidTag(s string) bool    { return tagRE.MatchString(s) }
func ValidDigest(s string) bool { return digestRE.MatchString(s) }

// ErrNotFound is returned (wrapped) when the repository or tag is not in the
// registry.
var ErrNotFound = errors.New("not found")

// Image is a resolved image.
type Image struct {
	Registry   string // host[:port]
	RegistryID string // ECR's registry id (the account), "" for a registry by URL
	Repository string
	Tag        string
	Digest     string
	Size       int64 // config and layers as stored (compressed), 0 for an index
}

// URI is the image's reference by digest, as ImageURI gives it.
func (i Image) URI() string { return i.Registry + "/" + i.Repository + "@" + i.Digest }

// Client reads manifests from one registry.
type Client struct {
	// BaseURL is the registry's URL, http(s)://host[:port].
	BaseURL string
	// HTTP is the client used; nil means http.DefaultClient.
	HTTP *http.Client
	// secret is USER:PASSWORD (basic auth) or a bearer token, or nil.
	secret []byte
}

// WithCredentials makes the client authenticate with a secret's value:
// USER:PASSWORD for basic auth, anything else as a bearer token. It refuses
// to send credentials in the clear to a host other than the loopback.
func (c *Client) WithCredentials(secret []byte) (*Client, error) {
	if len(secret) == 0 {
		return c, nil
	}
	u, _ := url.Parse(c.BaseURL)
	if u.Scheme != "https" {
		ip := net.ParseIP(u.Hostname())
		if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("%s: credentials are sent only over https (or to the loopback), not to %s", ConfigRegistryURL, c.BaseURL)
		}
	}
	c.secret = bytes.TrimSpace(secret)
	return c, nil
}

// NewClient checks a registry URL and returns a client of it.
func NewClient(raw string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return nil, fmt.Errorf("%s %q is not an http(s)://host[:port] URL", ConfigRegistryURL, raw)
	}
	return &Client{BaseURL: u.Scheme + "://" + u.Host, HTTP: hc}, nil
}

// Resolve finds the manifest a reference (a tag or a digest) names in a
// repository and returns the image, with its digest.
func (c *Client) Resolve(ctx context.Context, repo, ref string) (Image, error) {
	if !ValidName(repo) {
		return Image{}, fmt.Errorf("%s %q is not a repository name", ConfigRepositoryName, repo)
	}
	if !ValidTag(ref) && !ValidDigest(ref) {
		return Image{}, fmt.Errorf("%q is neither a tag nor a sha256 digest", ref)
	}
	u, _ := url.Parse(c.BaseURL)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.BaseURL+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		return Image{}, err
	}
	req.Header.Set("Accept", strings.Join(manifestTypes, ", "))
	if len(c.secret) > 0 {
		if user, pass, ok := strings.Cut(string(c.secret), ":"); ok {
			req.SetBasicAuth(user, pass)
		} else {
			req.Header.Set("Authorization", "Bearer "+string(c.secret))
		}
	}
	hc := http.Client{}
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	// Credentials are for the registry alone: Go's client would pass them
	// on to another port of the same host, or from https to http.
	hc.CheckRedirect = func(r *http.Request, via []*http.Request) error {
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		if r.URL.Host != u.Host || r.URL.Scheme != u.Scheme {
			r.Header.Del("Authorization")
		}
		return nil
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Image{}, fmt.Errorf("registry %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	// A manifest is small; 4 MiB is the limit registries themselves use.
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20+1))
	if err != nil {
		return Image{}, fmt.Errorf("registry %s: read manifest %s:%s: %w", u.Host, repo, ref, err)
	}
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		how := "no credentials were given (" + ConfigCredentialsSecret + ")"
		if len(c.secret) > 0 {
			how = "the credentials of " + ConfigCredentialsSecret + " were refused"
		}
		return Image{}, fmt.Errorf("registry %s: %s for %s:%s: %s (%s)", u.Host, resp.Status, repo, ref, how, registryError(body))
	}
	if resp.StatusCode == http.StatusNotFound {
		return Image{}, fmt.Errorf("image %s:%s %w in registry %s (%s)", repo, ref, ErrNotFound, u.Host, registryError(body))
	}
	if resp.StatusCode != http.StatusOK {
		return Image{}, fmt.Errorf("registry %s: manifest %s:%s: %s (%s)", u.Host, repo, ref, resp.Status, registryError(body))
	}
	if len(body) > 4<<20 {
		return Image{}, fmt.Errorf("registry %s: manifest %s:%s is larger than 4 MiB", u.Host, repo, ref)
	}
	digest := resp.Header.Get("Docker-Content-Digest")
	if !ValidDigest(digest) {
		return Image{}, fmt.Errorf("registry %s: manifest %s:%s came without a Docker-Content-Digest", u.Host, repo, ref)
	}
	if ValidDigest(ref) && digest != ref {
		return Image{}, fmt.Errorf("registry %s: asked for %s, got a manifest of digest %s", u.Host, ref, digest)
	}
	img := Image{Registry: u.Host, Repository: repo, Digest: digest}
	if ValidTag(ref) {
		img.Tag = ref
	}
	var m struct {
		Config struct {
			Size int64 `json:"size"`
		} `json:"config"`
		Layers []struct {
			Size int64 `json:"size"`
		} `json:"layers"`
	}
	if json.Unmarshal(body, &m) == nil {
		img.Size = m.Config.Size
		for _, l := range m.Layers {
			img.Size += l.Size
		}
	}
	return img, nil
}

// registryError is the first error message of a registry's error body, or
// "no details".
func registryError(body []byte) string {
	var e struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) == nil && len(e.Errors) > 0 {
		return e.Errors[0].Code + ": " + e.Errors[0].Message
	}
	return "no details"
}

// ImageDetail is imageDetail.json as CodePipeline's ECR source action writes
// it (sizes as strings, as there). ImagePushedAt is left out: the
// distribution API does not tell when a manifest was pushed.
type ImageDetail struct {
	ImageSizeInBytes string   `json:"ImageSizeInBytes"`
	ImageDigest      string   `json:"ImageDigest"`
	Version          string   `json:"Version"`
	ImagePushedAt    string   `json:"ImagePushedAt,omitempty"`
	RegistryID       string   `json:"RegistryId"`
	RepositoryName   string   `json:"RepositoryName"`
	ImageURI         string   `json:"ImageURI"`
	ImageTags        []string `json:"ImageTags"`
}

// Provider is the ECR source provider.
type Provider struct {
	// HTTP is the client registries are reached with; nil means
	// http.DefaultClient.
	HTTP *http.Client
}

// Run implements provider.Provider: it resolves the tag (or the pinned
// digest of job.Revision) and writes imageDetail.json to every output.
func (p Provider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	cfg := job.Configuration
	repo := cfg[ConfigRepositoryName]
	tag := cfg[ConfigImageTag]
	if tag == "" {
		tag = DefaultTag
	}
	ref := tag
	if job.Revision != "" {
		if !ValidDigest(job.Revision) {
			return provider.Result{}, fmt.Errorf("source revision %q is not an image digest (sha256:…)", job.Revision)
		}
		ref = job.Revision
	}
	var resolve func(ref string) (Image, error)
	var lastPushed time.Time // ECR's imagePushedAt of what resolve last found
	if cfg[ConfigRegistryURL] == "" {
		if job.AWS == nil {
			return provider.Result{}, errors.New("no RegistryUrl, and this worker cannot get aws connections to read ECR through")
		}
		conn, err := job.AWS(ctx, cfg["Connection"])
		if err != nil {
			return provider.Result{}, fmt.Errorf("no RegistryUrl, so ECR through the action's aws connection: %w", err)
		}
		resolve = func(ref string) (Image, error) {
			img, at, _, err := describeECR(ctx, conn, repo, ref)
			lastPushed = at
			return img, err
		}
	} else {
		c, err := p.registryClient(ctx, job)
		if err != nil {
			return provider.Result{}, err
		}
		resolve = func(ref string) (Image, error) { return c.Resolve(ctx, repo, ref) }
	}
	img, err := resolve(ref)
	if err != nil {
		return provider.Result{}, err
	}
	pushedAt := lastPushed
	tags := []string{tag}
	if job.Revision == "" {
		fmt.Fprintf(job.Log, "%s:%s is %s\n", repo, tag, img.Digest)
	} else {
		// Pinned: the image keeps the tag only if the tag still names it.
		fmt.Fprintf(job.Log, "%s pinned to %s by the execution's source revision\n", repo, img.Digest)
		if now, err := resolve(tag); err != nil || now.Digest != img.Digest {
			tags = []string{}
		}
	}
	registryID := img.RegistryID
	if registryID == "" {
		registryID = img.Registry
	}
	detail := ImageDetail{
		ImageSizeInBytes: strconv.FormatInt(img.Size, 10),
		ImageDigest:      img.Digest,
		Version:          "1.0",
		RegistryID:       registryID,
		RepositoryName:   repo,
		ImageURI:         img.URI(),
		ImageTags:        tags,
	}
	if !pushedAt.IsZero() {
		detail.ImagePushedAt = pushedAt.UTC().Format(time.UnixDate)
	}
	data, err := json.Marshal(detail)
	if err != nil {
		return provider.Result{}, err
	}
	for _, o := range job.Outputs {
		if err := writeZip(o.Path, "imageDetail.json", data); err != nil {
			return provider.Result{}, fmt.Errorf("write artifact %s: %w", o.Name, err)
		}
	}
	vars := map[string]string{
		"RegistryId":     registryID,
		"RepositoryName": repo,
		"ImageTag":       tag,
		"ImageDigest":    img.Digest,
		"ImageURI":       img.URI(),
	}
	if job.Revision != "" {
		// As CodePipeline: no ImageTag when the source revision is overridden.
		delete(vars, "ImageTag")
	}
	return provider.Result{Summary: img.Digest, OutputVariables: vars}, nil
}

// registryClient is a client of the registry RegistryUrl names, with the
// credentials of CredentialsSecret when it names one.
func (p Provider) registryClient(ctx context.Context, job *provider.Job) (*Client, error) {
	cfg := job.Configuration
	c, err := NewClient(cfg[ConfigRegistryURL], p.HTTP)
	if err != nil {
		return nil, err
	}
	if name := cfg[ConfigCredentialsSecret]; name != "" {
		if job.Secret == nil {
			return nil, fmt.Errorf("%s %s: this worker has no access to secrets", ConfigCredentialsSecret, name)
		}
		secret, err := job.Secret(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", ConfigCredentialsSecret, name, err)
		}
		if c, err = c.WithCredentials(secret); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func writeZip(path, name string, data []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	w, err := zw.Create(name)
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = zw.Close()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Digests reads tags' digests for the trigger poller.
type Digests struct {
	// HTTP is the client registries are reached with; nil means
	// http.DefaultClient.
	HTTP *http.Client
}

// Digest returns the digest of the manifest tag names in repository;
// secret is the action's CredentialsSecret value, or nil.
func (d Digests) Digest(ctx context.Context, registryURL, repository, tag string, secret []byte) (string, error) {
	c, err := NewClient(registryURL, d.HTTP)
	if err == nil {
		c, err = c.WithCredentials(secret)
	}
	if err != nil {
		return "", err
	}
	img, err := c.Resolve(ctx, repository, tag)
	if err != nil {
		return "", err
	}
	return img.Digest, nil
}
