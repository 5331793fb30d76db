package pipeline

import (
	"fmt"
	"net/url"

	"github.com/sluice-ci/sluice/internal/lazyregexp"
)

// ConfigRegistryURL is the sluice key naming the OCI distribution registry
// an ECR source action reads. Without it, as in CodePipeline, the action
// reads the ECR of its aws connection's account and region (Connection, or
// the connection its region picks).
const ConfigRegistryURL = "RegistryUrl"

// ecrKeys are CodePipeline's ECR source keys and sluice's registry keys.
var ecrKeys = []string{"RepositoryName", "ImageTag", ConfigRegistryURL, "CredentialsSecret", "Connection"}

// The distribution spec's grammar for repository names and tags (the
// provider, internal/provider/ecrsource, checks them again at run time).
var (
	ecrNameRE = lazyregexp.New(`^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$`)
	ecrTagRE  = lazyregexp.New(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// ecrConfig checks an ECR source action's configuration.
func ecrConfig(cfg map[string]string) []ConfigProblem {
	out := unknownKeysSuggest(cfg, ecrKeys)
	if n := cfg["RepositoryName"]; n != "" && !hasVariables(n) && (len(n) > 255 || !ecrNameRE.MatchString(n)) {
		out = append(out, ConfigProblem{Key: "RepositoryName", Msg: fmt.Sprintf("%q is not a repository name (lower-case path components of letters, digits and . _ -)", n)})
	}
	if t, ok := cfg["ImageTag"]; ok && !hasVariables(t) && !ecrTagRE.MatchString(t) {
		out = append(out, ConfigProblem{Key: "ImageTag", Msg: fmt.Sprintf("%q is not an image tag (up to 128 letters, digits and . _ -, not starting with . or -)", t)})
	}
	if r, ok := cfg[ConfigRegistryURL]; ok && !hasVariables(r) {
		u, err := url.Parse(r)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			out = append(out, ConfigProblem{Key: ConfigRegistryURL, Msg: fmt.Sprintf("%q is not an http(s)://host[:port] URL of a registry", r)})
		}
	}
	return out
}
