package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func shopDefinition() *Definition {
	return &Definition{
		Name:           "shop-main",
		TargetPipeline: "shop",
		TargetAction:   "Source",
		Filters: []Filter{
			{JSONPath: "$.ref", MatchEquals: "refs/heads/{BranchName}"},
			{JSONPath: "$.repository.full_name", MatchEquals: "octo-org/shop"},
		},
		Authentication:              AuthGitHubHMAC,
		AuthenticationConfiguration: AuthConfiguration{SecretToken: "7d0c5f2e-not-a-real-secret"},
	}
}

func TestParseDefinitionFiles(t *testing.T) {
	for _, name := range []string{"webhook.yml", "put-webhook.json"} {
		got, err := ParseDefinition(name, readTestdata(t, name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, shopDefinition()) {
			t.Errorf("%s:\n%+v\nwant\n%+v", name, got, shopDefinition())
		}
	}
}

// errorLines returns err's messages and checks that it is a
// yamlnode.ErrorList whose entries all carry a file and a line.
func errorLines(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var list yamlnode.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, not yamlnode.ErrorList: %v", err, err)
	}
	out := make([]string, len(list))
	for i, e := range list {
		if e.File == "" || e.Line <= 0 {
			t.Errorf("error without file or line: %#v", e)
		}
		out[i] = e.Error()
	}
	return out
}

func TestParseDefinitionErrors(t *testing.T) {
	tests := []struct {
		name, file, src string
		want            []string
	}{
		{
			name: "nothing given",
			file: "hook.yml",
			src:  "filters: []\n",
			want: []string{
				`hook.yml:1: name: required`,
				`hook.yml:1: targetPipeline: required`,
				`hook.yml:1: targetAction: required`,
				`hook.yml:1: authentication: required: GITHUB_HMAC, IP or UNAUTHENTICATED`,
			},
		},
		{
			name: "names and filters",
			file: "hook.yml",
			src: `name: shop main
targetPipeline: shop
targetAction: "` + strings.Repeat("a", 101) + `"
filters:
  - jsonPath: ref
    matchEquals: refs/heads/main
  - jsonPath: $.commits[
  - matchEquals: x
  - jsonPath: $.ref
    matchEquals: "` + strings.Repeat("m", 151) + `"
  - jsonPath: $..
authentication: unauthenticated
`,
			want: []string{
				`hook.yml:1: name: "shop main" is not a valid webhook name: use 1 to 100 of A-Z a-z 0-9 . @ _ -`,
				`hook.yml:3: targetAction: "` + strings.Repeat("a", 101) + `" is not a valid action name: use 1 to 100 of A-Z a-z 0-9 . @ _ -`,
				`hook.yml:5: filters[0].jsonPath: invalid JSONPath "ref": it must start at the root, $, as in $.ref`,
				`hook.yml:7: filters[1].jsonPath: invalid JSONPath "$.commits[": not terminated at 11 in $.commits[`,
				`hook.yml:8: filters[2].jsonPath: required: a JSONPath such as $.ref`,
				`hook.yml:10: filters[3].matchEquals: too long: 151 characters, at most 150`,
				`hook.yml:11: filters[4].jsonPath: invalid JSONPath "$..": a final .. must be followed by a name`,
			},
		},
		{
			name: "too many filters",
			file: "hook.json",
			src: `{"name": "a", "targetPipeline": "p", "targetAction": "S", "authentication": "UNAUTHENTICATED",
 "filters": [{"jsonPath": "$.a"}, {"jsonPath": "$.b"}, {"jsonPath": "$.c"},
             {"jsonPath": "$.d"}, {"jsonPath": "$.e"}, {"jsonPath": "$.f"}]}`,
			want: []string{`hook.json:2: filters: too many filters: 6, at most 5`},
		},
		{
			name: "GITHUB_HMAC needs a secret and no range",
			file: "hook.yml",
			src: `name: a
targetPipeline: p
targetAction: S
authentication: GITHUB_HMAC
authenticationConfiguration:
  AllowedIPRange: 10.0.0.0/8
`,
			want: []string{
				`hook.yml:5: authenticationConfiguration.SecretToken: required for GITHUB_HMAC`,
				`hook.yml:6: authenticationConfiguration.AllowedIPRange: only IP authentication takes an AllowedIPRange`,
			},
		},
		{
			name: "GITHUB_HMAC without any configuration",
			file: "hook.yml",
			src: `name: a
targetPipeline: p
targetAction: S
authentication: GITHUB_HMAC
`,
			want: []string{`hook.yml:1: authenticationConfiguration.SecretToken: required for GITHUB_HMAC`},
		},
		{
			name: "IP needs a CIDR range",
			file: "hook.yml",
			src: `name: a
targetPipeline: p
targetAction: S
authentication: IP
authenticationConfiguration: {AllowedIPRange: 192.0.2.7, SecretToken: s}
`,
			want: []string{
				`hook.yml:5: authenticationConfiguration.AllowedIPRange: "192.0.2.7" is not a CIDR range such as 192.0.2.0/24; for one address, add /32, or /128 for IPv6`,
				`hook.yml:5: authenticationConfiguration.SecretToken: only GITHUB_HMAC authentication takes a SecretToken`,
			},
		},
		{
			name: "IP without a range, unauthenticated with settings, unknown type",
			file: "hook.json",
			src: `{"webhook": {"name": "a", "targetPipeline": "p", "targetAction": "S",
  "authentication": "IP"}}`,
			want: []string{`hook.json:1: authenticationConfiguration.AllowedIPRange: required for IP: a CIDR range such as 192.0.2.0/24`},
		},
		{
			name: "unauthenticated takes nothing",
			file: "hook.yml",
			src: `name: a
targetPipeline: p
targetAction: S
authentication: UNAUTHENTICATED
authenticationConfiguration:
  SecretToken: s
  AllowedIPRange: 10.0.0.0/8
`,
			want: []string{
				`hook.yml:6: authenticationConfiguration.SecretToken: UNAUTHENTICATED takes no SecretToken`,
				`hook.yml:7: authenticationConfiguration.AllowedIPRange: UNAUTHENTICATED takes no AllowedIPRange`,
			},
		},
		{
			name: "unknown authentication",
			file: "hook.yml",
			src:  "name: a\ntargetPipeline: p\ntargetAction: S\nauthentication: BASIC\n",
			want: []string{`hook.yml:4: authentication: unknown authentication "BASIC" (want GITHUB_HMAC, IP or UNAUTHENTICATED)`},
		},
		{
			name: "CloudFormation's spelling and typos",
			file: "hook.yml",
			src: `Name: a
targetPipeline: p
targetAction: S
filters:
  - JsonPath: $.ref
authentication: UNAUTHENTICATED
authenticationConfiguration:
  secretToken: s
  RegisterWithThirdParty: true
targetPipelin: p
`,
			want: []string{
				`hook.yml:1: Name: unknown field (did you mean "name"?)`,
				`hook.yml:1: name: required`,
				`hook.yml:5: filters[0].JsonPath: unknown field (did you mean "jsonPath"?)`,
				`hook.yml:5: filters[0].jsonPath: required: a JSONPath such as $.ref`,
				`hook.yml:8: authenticationConfiguration.secretToken: unknown field (did you mean "SecretToken"?)`,
				`hook.yml:9: authenticationConfiguration.RegisterWithThirdParty: unknown field`,
				`hook.yml:10: targetPipelin: unknown field (did you mean "targetPipeline"?)`,
			},
		},
		{
			name: "wrong shapes",
			file: "hook.yml",
			src: `name: [a]
targetPipeline: p
targetAction: S
filters: {jsonPath: $.ref}
authentication: UNAUTHENTICATED
name: b
`,
			want: []string{
				`hook.yml:1: name: must be a string, not a list`,
				`hook.yml:4: filters: must be a list, not a mapping`,
				`hook.yml:6: name: given twice (first on line 1)`,
			},
		},
		{
			name: "wrapper with an unknown key",
			file: "hook.json",
			src: `{
  "webhook": {"name": "a", "targetPipeline": "p", "targetAction": "S", "authentication": "UNAUTHENTICATED"},
  "webhooks": []
}`,
			want: []string{`hook.json:3: webhooks: unknown field (did you mean "webhook"?)`},
		},
		{
			name: "invalid JSON",
			file: "hook.json",
			src:  "{\n  \"name\": \"a\",\n  \"filters\": [}\n}",
			want: []string{`hook.json:3: invalid JSON: invalid character '}' looking for beginning of value`},
		},
		{
			name: "invalid YAML",
			file: "hook.yml",
			src:  "name: a\nfilters:\n  - jsonPath: [\n",
			want: []string{`hook.yml:4: invalid YAML: did not find expected node content`},
		},
		{
			name: "not a mapping",
			file: "hook.yml",
			src:  "- name: a\n",
			want: []string{`hook.yml:1: a webhook definition must be a mapping, not a list`},
		},
		{
			name: "empty",
			file: "hook.yml",
			src:  "",
			want: []string{`hook.yml:1: empty file: no webhook definition in it`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := ParseDefinition(tt.file, []byte(tt.src))
			got := errorLines(t, err)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
			if (err == nil) != (d != nil) {
				t.Errorf("ParseDefinition returned a definition %v with error %v", d != nil, err)
			}
		})
	}
}

func TestParseDefinitionJSONEscapes(t *testing.T) {
	// Valid JSON that yaml.v3 would refuse: \/ and a surrogate pair.
	src := `{"name": "a", "targetPipeline": "p", "targetAction": "S", "authentication": "GITHUB_HMAC",
	"authenticationConfiguration": {"SecretToken": "s\/\ud83d\ude00"}}`
	d, err := ParseDefinition("hook", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.AuthenticationConfiguration.SecretToken; got != "s/😀" {
		t.Errorf("SecretToken = %q", got)
	}
}

func TestRedacted(t *testing.T) {
	d := shopDefinition()
	r := d.Redacted()
	if r.AuthenticationConfiguration.SecretToken != "" {
		t.Errorf("Redacted kept the secret")
	}
	if d.AuthenticationConfiguration.SecretToken == "" {
		t.Errorf("Redacted changed its receiver")
	}
	r.Filters[0].MatchEquals = "x"
	if d.Filters[0].MatchEquals == "x" {
		t.Errorf("Redacted shares the filters")
	}
	// A shown definition applied back is refused rather than taken with an
	// empty secret.
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "SecretToken: required") {
		t.Errorf("Validate of a redacted definition = %v", err)
	}
}

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

func TestAuthenticate(t *testing.T) {
	body := readTestdata(t, "github-push.json")
	const secret = "7d0c5f2e-not-a-real-secret"
	hmacDef := shopDefinition()
	ipDef := &Definition{Name: "ip", Authentication: AuthIP, AuthenticationConfiguration: AuthConfiguration{AllowedIPRange: "192.0.2.0/24"}}
	ip6Def := &Definition{Name: "ip6", Authentication: AuthIP, AuthenticationConfiguration: AuthConfiguration{AllowedIPRange: "2001:db8::/32"}}
	open := &Definition{Name: "open", Authentication: AuthUnauthenticated}

	tests := []struct {
		name    string
		def     *Definition
		remote  string
		headers map[string]string
		body    []byte
		want    error // nil, ErrUnauthorized, or errBroken
	}{
		{"GitHub signature", hmacDef, "", map[string]string{"X-Hub-Signature-256": "sha256=" + sign(secret, body)}, body, nil},
		{"GitHub signature in capitals", hmacDef, "", map[string]string{"X-Hub-Signature-256": "sha256=" + strings.ToUpper(sign(secret, body))}, body, nil},
		{"GitHub signature with another secret", hmacDef, "", map[string]string{"X-Hub-Signature-256": "sha256=" + sign("other", body)}, body, ErrUnauthorized},
		{"GitHub signature of another body", hmacDef, "", map[string]string{"X-Hub-Signature-256": "sha256=" + sign(secret, body)}, append([]byte(" "), body...), ErrUnauthorized},
		{"GitHub SHA-1 signature", hmacDef, "", map[string]string{"X-Hub-Signature-256": "sha1=" + sign(secret, body)}, body, ErrUnauthorized},
		{"signature not hex", hmacDef, "", map[string]string{"X-Hub-Signature-256": "sha256=zz"}, body, ErrUnauthorized},
		{"truncated signature", hmacDef, "", map[string]string{"X-Hub-Signature-256": "sha256=" + sign(secret, body)[:20]}, body, ErrUnauthorized},
		{"no signature", hmacDef, "", nil, body, ErrUnauthorized},
		{"Gitea signature", hmacDef, "", map[string]string{"X-Gitea-Signature": sign(secret, body)}, body, nil},
		{"Gitea signature, wrong", hmacDef, "", map[string]string{"X-Gitea-Signature": sign("x", body)}, body, ErrUnauthorized},
		{"GitLab token", hmacDef, "", map[string]string{"X-Gitlab-Token": secret}, body, nil},
		{"GitLab token, wrong", hmacDef, "", map[string]string{"X-Gitlab-Token": secret + "x"}, body, ErrUnauthorized},
		{"GitLab token, empty", hmacDef, "", map[string]string{"X-Gitlab-Token": ""}, body, ErrUnauthorized},
		// A wrong GitHub signature is not rescued by a right GitLab token:
		// the first signature header present decides.
		{"two headers", hmacDef, "", map[string]string{"X-Hub-Signature-256": "sha256=00", "X-Gitlab-Token": secret}, body, ErrUnauthorized},

		{"IP in range", ipDef, "192.0.2.10:5555", nil, body, nil},
		{"IP out of range", ipDef, "198.51.100.1:5555", nil, body, ErrUnauthorized},
		{"X-Forwarded-For is not trusted", ipDef, "198.51.100.1:5555", map[string]string{"X-Forwarded-For": "192.0.2.10"}, body, ErrUnauthorized},
		{"IPv4 on a dual-stack listener", ipDef, "[::ffff:192.0.2.10]:80", nil, body, nil},
		{"bare address", ipDef, "192.0.2.10", nil, body, nil},
		{"unreadable address", ipDef, "somewhere", nil, body, ErrUnauthorized},
		{"IPv6 in range", ip6Def, "[2001:db8::1]:443", nil, body, nil},
		{"IPv4 against an IPv6 range", ip6Def, "192.0.2.10:443", nil, body, ErrUnauthorized},

		{"unauthenticated", open, "198.51.100.1:1", nil, nil, nil},

		{"HMAC without a secret", &Definition{Name: "x", Authentication: AuthGitHubHMAC}, "", nil, body, errBroken},
		{"IP without a range", &Definition{Name: "x", Authentication: AuthIP}, "192.0.2.10:1", nil, body, errBroken},
		{"no authentication", &Definition{Name: "x"}, "", nil, body, errBroken},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/x", nil)
		if tc.remote != "" {
			r.RemoteAddr = tc.remote
		}
		for k, v := range tc.headers {
			r.Header.Set(k, v)
		}
		err := tc.def.Authenticate(r, tc.body)
		switch {
		case tc.want == nil && err != nil:
			t.Errorf("%s: %v, want success", tc.name, err)
		case tc.want == ErrUnauthorized && !errors.Is(err, ErrUnauthorized):
			t.Errorf("%s: %v, want ErrUnauthorized", tc.name, err)
		case tc.want == errBroken && (err == nil || errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrBadRequest)):
			t.Errorf("%s: %v, want an error that is sluice's", tc.name, err)
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error shows the secret: %v", tc.name, err)
		}
	}
}

var errBroken = errors.New("broken definition")

func TestMatch(t *testing.T) {
	push := readTestdata(t, "github-push.json")
	generic := readTestdata(t, "generic.json")
	branch := func(name string) func(string) string {
		return func(key string) string {
			if key == "BranchName" {
				return name
			}
			return ""
		}
	}
	def := func(filters ...Filter) *Definition {
		return &Definition{Name: "t", Filters: filters}
	}
	tests := []struct {
		name   string
		def    *Definition
		body   []byte
		config func(string) string
		want   bool
	}{
		{"branch placeholder", shopDefinition(), push, branch("main"), true},
		{"other branch", shopDefinition(), push, branch("dev"), false},
		{"no configuration leaves the placeholder", shopDefinition(), push, nil, false},
		{"placeholder kept literally without config", def(Filter{"$.ref", "refs/heads/{BranchName}"}),
			[]byte(`{"ref": "refs/heads/{BranchName}"}`), nil, true},
		{"other repository", def(Filter{"$.ref", "refs/heads/main"}, Filter{"$.repository.full_name", "octo-org/other"}), push, nil, false},
		{"no filters", def(), push, nil, true},
		{"exists", def(Filter{JSONPath: "$.head_commit"}), push, nil, true},
		{"does not exist", def(Filter{JSONPath: "$.missing"}), push, nil, false},
		{"number", def(Filter{"$.build.priority", "2"}), generic, nil, true},
		{"boolean", def(Filter{"$.build.dry_run", "false"}), generic, nil, true},
		{"null", def(Filter{"$.base_ref", "null"}), push, nil, true},
		{"any of many", def(Filter{"$.commits[*].id", "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c"}), push, nil, true},
		{"none of many", def(Filter{"$.commits[*].id", "deadbeef"}), push, nil, false},
		{"filter expression", def(Filter{"$.commits[?(@.id == '6113728f27ae82c7b1a177c8d03f9e96e0adf246')].message", "Add the payments client"}), push, nil, true},
		{"deep scan", def(Filter{"$..username", "ada"}), push, nil, true},
		{"bracket notation", def(Filter{"$['repository']['default_branch']", "main"}), push, nil, true},
		{"GitHub form encoding", shopDefinition(), []byte("payload=" + url.QueryEscape(string(push))), branch("main"), true},
	}
	for _, tc := range tests {
		got, err := tc.def.Match(tc.body, tc.config)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s: Match = %v, want %v", tc.name, got, tc.want)
		}
	}

	for name, body := range map[string]string{
		"empty":             "",
		"spaces":            "  \n",
		"truncated":         `{"ref": "refs/heads/main"`,
		"two documents":     `{} {}`,
		"not JSON":          `ref=refs/heads/main`,
		"form without JSON": "payload=%7Bnope",
	} {
		for _, d := range []*Definition{shopDefinition(), def()} {
			if _, err := d.Match([]byte(body), nil); !errors.Is(err, ErrBadRequest) {
				t.Errorf("%s body with %d filters: %v, want ErrBadRequest", name, len(d.Filters), err)
			}
		}
	}
	if _, err := def(Filter{"ref", "x"}).Match(push, nil); err == nil || errors.Is(err, ErrBadRequest) {
		t.Errorf("a broken filter is the sender's fault: %v", err)
	}
}

func TestParsePush(t *testing.T) {
	tests := []struct {
		file    string
		headers map[string]string
		want    PushInfo
	}{
		{"github-push.json", map[string]string{"X-GitHub-Event": "push"}, PushInfo{
			Provider: ProviderGitHub, Event: "push", Ref: "refs/heads/main", Branch: "main",
			Before: "9049f1265b7d61be4a8904a9a27120d2064dab3b", After: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
			Pusher: "ada", RepositoryURL: "https://github.com/octo-org/shop.git",
			ChangedFiles: []string{"services/payments/client.go", "go.mod", "services/payments/README.md", "services/payments/legacy.go"},
		}},
		{"github-tag-push.json", map[string]string{"X-GitHub-Event": "push"}, PushInfo{
			Provider: ProviderGitHub, Event: "push", Ref: "refs/tags/v1.2.0", Tag: "v1.2.0",
			Before: "0000000000000000000000000000000000000000", After: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
			Pusher: "release-bot", RepositoryURL: "https://github.com/octo-org/shop.git",
		}},
		{"github-branch-delete.json", map[string]string{"X-GitHub-Event": "push"}, PushInfo{
			Provider: ProviderGitHub, Event: "push", Ref: "refs/heads/feature/cart", Branch: "feature/cart",
			Before: "6113728f27ae82c7b1a177c8d03f9e96e0adf246", After: "0000000000000000000000000000000000000000",
			Deleted: true, Pusher: "ada", RepositoryURL: "https://github.com/octo-org/shop.git",
		}},
		{"github-ping.json", map[string]string{"X-GitHub-Event": "ping"}, PushInfo{Provider: ProviderGitHub, Event: "ping"}},
		{"gitlab-push.json", map[string]string{"X-Gitlab-Event": "Push Hook"}, PushInfo{
			Provider: ProviderGitLab, Event: "Push Hook", Ref: "refs/heads/release/2024.05", Branch: "release/2024.05",
			Before: "95790bf891e76fee5e1747ab589903a6a1f80f22", After: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
			Pusher: "grace", RepositoryURL: "https://gitlab.example.com/warehouse/inventory.git",
			ChangedFiles: []string{"stock/aisles.py", "stock/__init__.py", "CHANGELOG.md", "stock/old_totals.py"},
		}},
		{"gitlab-tag-push.json", map[string]string{"X-Gitlab-Event": "Tag Push Hook"}, PushInfo{
			Provider: ProviderGitLab, Event: "Tag Push Hook", Ref: "refs/tags/v2.0.0", Tag: "v2.0.0",
			Before: "0000000000000000000000000000000000000000", After: "82b3d5ae55f7080f1e6022629cdb57bfae7cccc7",
			Pusher: "grace", RepositoryURL: "https://gitlab.example.com/warehouse/inventory.git",
		}},
		{"gitlab-push.json", map[string]string{"X-Gitlab-Event": "System Hook"}, PushInfo{
			Provider: ProviderGitLab, Event: "System Hook", Ref: "refs/heads/release/2024.05", Branch: "release/2024.05",
			Before: "95790bf891e76fee5e1747ab589903a6a1f80f22", After: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
			Pusher: "grace", RepositoryURL: "https://gitlab.example.com/warehouse/inventory.git",
			ChangedFiles: []string{"stock/aisles.py", "stock/__init__.py", "CHANGELOG.md", "stock/old_totals.py"},
		}},
		{"gitlab-push.json", map[string]string{"X-Gitlab-Event": "Merge Request Hook"}, PushInfo{Provider: ProviderGitLab, Event: "Merge Request Hook"}},
		// Gitea sends GitHub's header too; its own wins.
		{"gitea-push.json", map[string]string{"X-Gitea-Event": "push", "X-GitHub-Event": "push"}, PushInfo{
			Provider: ProviderGitea, Event: "push", Ref: "refs/heads/main", Branch: "main",
			Before: "28e1879d029cb852e4844d9c718537df08844e03", After: "bffeb74224043ba2feb48d137756c8a9331c449a",
			Pusher: "linus", RepositoryURL: "https://git.example.org/tools/linter.git",
			ChangedFiles: []string{"rules/yaml.go", "rules/registry.go"},
		}},
		{"generic.json", nil, PushInfo{
			Ref: "refs/heads/main", Branch: "main", After: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
			RepositoryURL: "https://git.internal.example/platform/api.git",
		}},
		{"github-push.json", nil, PushInfo{
			Ref: "refs/heads/main", Branch: "main",
			Before: "9049f1265b7d61be4a8904a9a27120d2064dab3b", After: "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
			Pusher: "ada", RepositoryURL: "https://github.com/octo-org/shop.git",
			ChangedFiles: []string{"services/payments/client.go", "go.mod", "services/payments/README.md", "services/payments/legacy.go"},
		}},
	}
	for _, tc := range tests {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/x", nil)
		for k, v := range tc.headers {
			r.Header.Set(k, v)
		}
		got, err := ParsePush(r, readTestdata(t, tc.file))
		if err != nil {
			t.Errorf("%s %v: %v", tc.file, tc.headers, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %v:\n got %+v\nwant %+v", tc.file, tc.headers, got, tc.want)
		}
		if got.IsPush() != (tc.want.Ref != "") {
			t.Errorf("%s: IsPush = %v", tc.file, got.IsPush())
		}
	}
}

func TestParsePushOddBodies(t *testing.T) {
	req := func(headers ...string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/x", nil)
		for i := 0; i+1 < len(headers); i += 2 {
			r.Header.Set(headers[i], headers[i+1])
		}
		return r
	}
	for name, tc := range map[string]struct {
		r    *http.Request
		body string
		bad  bool
		want PushInfo
	}{
		"malformed":                 {req("X-GitHub-Event", "push"), `{"ref": `, true, PushInfo{}},
		"empty":                     {req(), ``, true, PushInfo{}},
		"GitHub array":              {req("X-GitHub-Event", "push"), `[1, 2]`, true, PushInfo{}},
		"generic array":             {req(), `[{"ref": "refs/heads/main"}]`, false, PushInfo{}},
		"generic odd types":         {req(), `{"ref": 5, "commits": {"added": "x"}, "repository": "r", "pusher": ["a"]}`, false, PushInfo{}},
		"generic other ref":         {req(), `{"ref": "refs/pull/4/head"}`, false, PushInfo{Ref: "refs/pull/4/head"}},
		"files deduplicated":        {req(), `{"ref": "refs/heads/a", "commits": [{"added": ["x", 1, ""]}, {"modified": ["x", "y"]}, "junk"]}`, false, PushInfo{Ref: "refs/heads/a", Branch: "a", ChangedFiles: []string{"x", "y"}}},
		"GitHub form encoding":      {req("X-GitHub-Event", "push", "Content-Type", "application/x-www-form-urlencoded"), "payload=" + url.QueryEscape(`{"ref": "refs/heads/main"}`), false, PushInfo{Provider: ProviderGitHub, Event: "push", Ref: "refs/heads/main", Branch: "main"}},
		"SHA-256 repository delete": {req("X-Gitea-Event", "push"), `{"ref": "refs/heads/x", "after": "` + strings.Repeat("0", 64) + `"}`, false, PushInfo{Provider: ProviderGitea, Event: "push", Ref: "refs/heads/x", Branch: "x", After: strings.Repeat("0", 64), Deleted: true}},
	} {
		got, err := ParsePush(tc.r, []byte(tc.body))
		if tc.bad {
			if !errors.Is(err, ErrBadRequest) {
				t.Errorf("%s: %v, want ErrBadRequest", name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %+v\nwant %+v", name, got, tc.want)
		}
	}
}

func TestCheckTarget(t *testing.T) {
	p, err := pipeline.Parse("p.yml", []byte(`name: shop
stages:
  - name: Source
    actions:
      - name: Source
        provider: Git
        configuration: {RepositoryName: shop, BranchName: main}
        outputArtifacts: [src]
  - name: Build
    actions:
      - name: Test
        provider: Commands
        inputArtifacts: [src]
        commands: [make test]
`))
	if err != nil {
		t.Fatal(err)
	}
	d := shopDefinition()
	if err := d.CheckTarget(p); err != nil {
		t.Errorf("CheckTarget: %v", err)
	}
	if got := ActionConfiguration(p, "Source")("BranchName"); got != "main" {
		t.Errorf("ActionConfiguration = %q, want main", got)
	}
	if got := ActionConfiguration(p, "Nope")("BranchName"); got != "" {
		t.Errorf("ActionConfiguration of a missing action = %q", got)
	}
	for _, target := range []string{"Test", "Nope"} {
		d.TargetAction = target
		err := d.CheckTarget(p)
		var list yamlnode.ErrorList
		if !errors.As(err, &list) || list[0].Path != "targetAction" {
			t.Errorf("CheckTarget(%s) = %v, want an error on targetAction", target, err)
		}
	}
	// The whole round: a signed GitHub push to main of octo-org/shop.
	d.TargetAction = "Source"
	body := readTestdata(t, "github-push.json")
	r := httptest.NewRequest(http.MethodPost, "/webhooks/shop-main", nil)
	r.Header.Set("X-GitHub-Event", "push")
	r.Header.Set("X-Hub-Signature-256", "sha256="+sign(d.AuthenticationConfiguration.SecretToken, body))
	if err := d.Authenticate(r, body); err != nil {
		t.Fatal(err)
	}
	if ok, err := d.Match(body, ActionConfiguration(p, d.TargetAction)); err != nil || !ok {
		t.Fatalf("Match = %v, %v", ok, err)
	}
	info, err := ParsePush(r, body)
	if err != nil || info.Branch != "main" || info.After != "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c" {
		t.Fatalf("ParsePush = %+v, %v", info, err)
	}
	files := []string{"services/payments/client.go", "go.mod", "services/payments/README.md", "services/payments/legacy.go"}
	filter := pipeline.GitPushFilter{Branches: &pipeline.GitFilter{Includes: []string{"main"}},
		FilePaths: &pipeline.GitFilter{Includes: []string{"services/payments/**"}}}
	if !reflect.DeepEqual(info.ChangedFiles, files) || !filter.Match(info.Branch, info.Tag, info.ChangedFiles) {
		t.Errorf("the push does not pass the filter: %+v", info)
	}
}
