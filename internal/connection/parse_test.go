package connection

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	yes := true
	src := "name: prod\nkind: aws\nregion: eu-west-1\nendpoint: http://127.0.0.1:5000\n" +
		"endpoints:\n  s3: http://127.0.0.1:9000\ns3PathStyle: true\nbucket: sluice-artifacts\n" +
		"credentials:\n  secret: aws-prod\n" +
		"role:\n  arn: arn:aws:iam::123456789012:role/deployer\n  externalId: ext-42\n  sessionName: sluice\n  durationSeconds: 900\n"
	c, err := Parse("c.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := &Connection{
		Name: "prod", Kind: "aws", Region: "eu-west-1", Endpoint: "http://127.0.0.1:5000",
		Endpoints: map[string]string{"s3": "http://127.0.0.1:9000"}, S3PathStyle: &yes, Bucket: "sluice-artifacts",
		Credentials: Credentials{Secret: "aws-prod"},
		Role:        &Role{ARN: "arn:aws:iam::123456789012:role/deployer", ExternalID: "ext-42", SessionName: "sluice", DurationSeconds: 900},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got  %+v\nwant %+v", c, want)
	}
	j, err := Parse("c.json", []byte(`{"name":"w","kind":"aws","region":"us-east-1","credentials":{"fromWorker":true}}`))
	if err != nil {
		t.Fatal(err)
	}
	if !j.Credentials.FromWorker || j.PathStyle() {
		t.Fatalf("got %+v", j)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown field", "name: a\nkind: aws\nregion: us-east-1\nregoin: x\ncredentials: {fromWorker: true}\n",
			`c.yml:4: regoin: unknown field (did you mean "region"?)`},
		{"unknown credentials field", "name: a\nkind: aws\nregion: us-east-1\ncredentials:\n  secrte: s\n",
			`c.yml:5: credentials.secrte: unknown field (did you mean "secret"?)`},
		{"missing region", "name: a\nkind: aws\ncredentials: {fromWorker: true}\n",
			`c.yml:1: region: required (as in us-east-1)`},
		{"missing kind", "name: a\n", `c.yml:1: kind: required (aws, github, github-enterprise, gitlab, gitlab-self-managed, bitbucket, gitea)`},
		{"unknown kind", "name: a\nkind: azure\n", `c.yml:2: kind: "azure" is not a kind of connection (aws, github,`},
		{"git host without token", "name: a\nkind: github\n", `c.yml:1: token: required`},
		{"gitea without url", "name: a\nkind: gitea\ntoken: t\n", `c.yml:1: url: required for kind gitea`},
		{"git host with region", "name: a\nkind: gitlab\ntoken: t\nregion: us-east-1\n", `c.yml:4: region: is for aws connections, not kind gitlab`},
		{"aws with token", "name: a\nkind: aws\nregion: us-east-1\ncredentials: {fromWorker: true}\ntoken: t\n", `c.yml:5: token: is for git host connections`},
		{"url with password", "name: a\nkind: gitea\ntoken: t\nurl: https://u:p@git.example.com\n", `c.yml:4: url: must not hold credentials`},
		{"token and app", "name: a\nkind: github\ntoken: t\napp: {id: 1, installationId: 2, privateKeySecret: k}\n", `c.yml:3: token: give token or app, not both`},
		{"app on gitlab", "name: a\nkind: gitlab\napp: {id: 1, installationId: 2, privateKeySecret: k}\n", `c.yml:3: app: GitHub Apps are for kinds github and github-enterprise`},
		{"bad arn", "name: a\nkind: github\ntoken: t\narns:\n  - arn:aws:s3:::bucket\n", `c.yml:5: arns[0]: "arn:aws:s3:::bucket" is not a connection ARN`},
		{"no credentials", "name: a\nkind: aws\nregion: us-east-1\n",
			`c.yml:1: credentials: required: secret`},
		{"both credentials", "name: a\nkind: aws\nregion: us-east-1\ncredentials:\n  secret: s\n  fromWorker: true\n",
			`c.yml:4: credentials: give secret or fromWorker, not both`},
		{"bad endpoint", "name: a\nkind: aws\nregion: us-east-1\nendpoint: ftp://x\ncredentials: {fromWorker: true}\n",
			`c.yml:4: endpoint: "ftp://x" is not an http or https URL`},
		{"endpoint with keys", "name: a\nkind: aws\nregion: us-east-1\nendpoint: http://AKIA:secret@x\ncredentials: {fromWorker: true}\n",
			`c.yml:4: endpoint: must not hold credentials`},
		{"unknown service", "name: a\nkind: aws\nregion: us-east-1\nendpoints:\n  s4: http://x\ncredentials: {fromWorker: true}\n",
			`c.yml:5: endpoints.s4: "s4" is not a service sluice calls`},
		{"bad role", "name: a\nkind: aws\nregion: us-east-1\ncredentials: {fromWorker: true}\nrole:\n  arn: deployer\n",
			`c.yml:6: role.arn: "deployer" is not a role ARN`},
		{"role without arn", "name: a\nkind: aws\nregion: us-east-1\ncredentials: {fromWorker: true}\nrole:\n  externalId: xy\n",
			`c.yml:5: role.arn: required`},
		{"duration", "name: a\nkind: aws\nregion: us-east-1\ncredentials: {fromWorker: true}\nrole:\n  arn: arn:aws:iam::123456789012:role/r\n  durationSeconds: 60\n",
			`c.yml:7: role.durationSeconds: 60 is out of range (900 to 43200)`},
		{"bool", "name: a\nkind: aws\nregion: us-east-1\ncredentials: {fromWorker: maybe}\n",
			`c.yml:4: credentials.fromWorker:`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yml", []byte(tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v\nwant it to hold %s", err, tt.want)
			}
		})
	}
}

func TestParseGitHost(t *testing.T) {
	src := "name: forge\nkind: gitea\nurl: https://git.example.com/\ntoken: forge-token\nwebhookSecret: forge-hook\n" +
		"arns:\n  - arn:aws:codestar-connections:us-east-1:123456789012:connection/2f7d1a3e-0c1b-4c5e-9a77-1d2f3e4a5b6c\n"
	c, err := Parse("c.yml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if !c.IsGitHost() || c.HostURL() != "https://git.example.com" || c.Token != "forge-token" || c.WebhookSecret != "forge-hook" {
		t.Fatalf("got %+v", c)
	}
	for arn, want := range map[string]bool{
		"arn:aws:codestar-connections:us-east-1:123456789012:connection/2f7d1a3e-0c1b-4c5e-9a77-1d2f3e4a5b6c": true,
		"arn:aws:codeconnections:eu-west-1:000000000000:connection/forge":                                     true,
		"arn:aws:codeconnections:eu-west-1:000000000000:connection/other":                                     false,
		"forge": false,
	} {
		if got := c.MatchesARN(arn); got != want {
			t.Errorf("MatchesARN(%s) = %v, want %v", arn, got, want)
		}
	}
	gh, err := Parse("c.yml", []byte("name: gh\nkind: github\napp:\n  id: 12\n  installationId: 34\n  privateKeySecret: gh-app-key\n"))
	if err != nil {
		t.Fatal(err)
	}
	if gh.HostURL() != "https://github.com" || gh.App == nil || gh.App.InstallationID != 34 {
		t.Fatalf("got %+v", gh)
	}
}
