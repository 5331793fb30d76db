package pipeline

import (
	"strings"
	"testing"
)

func TestHostSourceConfig(t *testing.T) {
	head := func(provider string) string {
		return "name: p\nstages:\n  - name: Source\n    actions:\n      - name: src\n        provider: " + provider + "\n        outputArtifacts: [{name: code}]\n        configuration:\n"
	}
	tail := "  - name: Deploy\n    actions:\n      - name: d\n        provider: Noop\n        inputArtifacts: [{name: code}]\n"
	const arn = "          ConnectionArn: arn:aws:codestar-connections:us-east-1:123456789012:connection/abc-123\n"
	tests := []struct {
		name, provider, cfg, want string
	}{
		{"fine", "CodeStarSourceConnection", arn + "          FullRepositoryId: my-org/my.repo\n          BranchName: main\n          OutputArtifactFormat: CODEBUILD_CLONE_REF\n          DetectChanges: \"false\"\n", ""},
		{"new name", "CodeConnections", "          ConnectionArn: arn:aws:codeconnections:eu-west-1:123456789012:connection/gitea\n          FullRepositoryId: group/sub/repo\n          BranchName: release/1.x\n", ""},
		{"missing branch", "CodeStarSourceConnection", arn + "          FullRepositoryId: o/r\n", `missing BranchName (required by provider "CodeStarSourceConnection")`},
		{"bad ARN", "CodeStarSourceConnection", "          ConnectionArn: arn:aws:iam::123456789012:role/x\n          FullRepositoryId: o/r\n          BranchName: main\n",
			`p.yml:9: stages[0].actions[0].configuration.ConnectionArn: "arn:aws:iam::123456789012:role/x" is not a connection ARN`},
		{"repository without owner", "CodeStarSourceConnection", arn + "          FullRepositoryId: repo\n          BranchName: main\n",
			`configuration.FullRepositoryId: "repo" is not a repository's full name (OWNER/NAME`},
		{"repository escaping", "CodeStarSourceConnection", arn + "          FullRepositoryId: o/../../admin\n          BranchName: main\n",
			`configuration.FullRepositoryId: "o/../../admin" is not a repository's full name`},
		{"bad branch", "CodeStarSourceConnection", arn + "          FullRepositoryId: o/r\n          BranchName: a..b\n",
			`configuration.BranchName: "a..b" is not a valid branch name`},
		{"bad format", "CodeStarSourceConnection", arn + "          FullRepositoryId: o/r\n          BranchName: main\n          OutputArtifactFormat: ZIP\n",
			`configuration.OutputArtifactFormat: "ZIP" is not CODE_ZIP or CODEBUILD_CLONE_REF`},
		{"unknown key", "CodeStarSourceConnection", arn + "          FullRepositoryId: o/r\n          BranchName: main\n          DetectChange: \"true\"\n",
			`unknown configuration key (did you mean "DetectChanges"?)`},
		{"GitHub with a secret", "GitHub", "          Owner: o\n          Repo: r\n          Branch: main\n          OAuthToken: github-token\n", ""},
		{"GitHub with a dynamic reference", "GitHub", "          Owner: o\n          Repo: r\n          Branch: main\n          OAuthToken: '{{resolve:secretsmanager:ci/github:SecretString:token}}'\n", ""},
		{"GitHub with a connection", "GitHub", "          Owner: o\n          Repo: r\n          Branch: main\n          Connection: gh\n          PollForSourceChanges: \"false\"\n", ""},
		{"GitHub masked token", "GitHub", "          Owner: o\n          Repo: r\n          Branch: main\n          OAuthToken: '****'\n",
			`configuration: OAuthToken "****" is the mask CodePipeline shows in place of the token`},
		{"GitHub literal token", "GitHub", "          Owner: o\n          Repo: r\n          Branch: main\n          OAuthToken: ghp_abcdefghijklmnopqrstuvwxyz0123456789\n",
			`OAuthToken looks like a token itself: store it in a sluice secret`},
		{"GitHub no token", "GitHub", "          Owner: o\n          Repo: r\n          Branch: main\n", `missing OAuthToken or Connection`},
		{"GitHub both", "GitHub", "          Owner: o\n          Repo: r\n          Branch: main\n          Connection: gh\n          OAuthToken: t\n", `give Connection (a git host connection) or OAuthToken`},
		{"GitHub bad owner", "GitHub", "          Owner: o/x\n          Repo: r\n          Branch: main\n          OAuthToken: t\n", `configuration.Owner: "o/x" is not a GitHub owner name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWith("p.yml", []byte(head(tt.provider)+tt.cfg+tail), RequireRunnable)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
	// CodePipeline's own GitHub definition, token masked, still imports.
	if _, err := Parse("p.yml", []byte(head("GitHub")+"          Owner: o\n          Repo: r\n          Branch: main\n          OAuthToken: '****'\n          PollForSourceChanges: \"false\"\n"+tail)); err != nil {
		t.Fatalf("GitHub source for import: %v", err)
	}
}
