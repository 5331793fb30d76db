package pipeline

import (
	"strings"
	"testing"
)

func TestECRSourceConfig(t *testing.T) {
	head := "name: p\nstages:\n  - name: Source\n    actions:\n      - name: img\n        actionTypeId: {category: Source, owner: AWS, provider: ECR, version: \"1\"}\n        outputArtifacts: [{name: image}]\n        configuration:\n"
	tail := "  - name: Deploy\n    actions:\n      - name: d\n        provider: Noop\n        inputArtifacts: [{name: image}]\n"
	tests := []struct {
		name, cfg, want string
	}{
		{"fine", "          RepositoryName: team/app\n          ImageTag: v1\n          RegistryUrl: http://127.0.0.1:5000\n", ""},
		{"default tag", "          RepositoryName: app\n          RegistryUrl: https://registry.example\n", ""},
		{"unknown key", "          RepositoryName: app\n          ImageTags: v1\n          RegistryUrl: http://h\n",
			`p.yml:10: stages[0].actions[0].configuration.ImageTags: unknown configuration key (did you mean "ImageTag"?)`},
		{"missing repository", "          ImageTag: v1\n          RegistryUrl: http://h\n",
			`missing RepositoryName (required by provider "ECR")`},
		// CodePipeline's keys alone: the ECR of the action's aws connection.
		{"no registry", "          RepositoryName: app\n", ""},
		{"connection", "          RepositoryName: app\n          Connection: prod\n", ""},
		{"bad repository", "          RepositoryName: Team/App\n          RegistryUrl: http://h\n",
			`p.yml:9: stages[0].actions[0].configuration.RepositoryName: "Team/App" is not a repository name`},
		{"path in repository", "          RepositoryName: ../v2/_catalog\n          RegistryUrl: http://h\n",
			`configuration.RepositoryName: "../v2/_catalog" is not a repository name`},
		{"bad tag", "          RepositoryName: app\n          ImageTag: -x\n          RegistryUrl: http://h\n",
			`p.yml:10: stages[0].actions[0].configuration.ImageTag: "-x" is not an image tag`},
		{"bad registry", "          RepositoryName: app\n          RegistryUrl: ftp://h\n",
			`configuration.RegistryUrl: "ftp://h" is not an http(s)://host[:port] URL`},
		{"credentials in registry", "          RepositoryName: app\n          RegistryUrl: http://u:p@h\n",
			`configuration.RegistryUrl: "http://u:p@h" is not an http(s)://host[:port] URL`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseWith("p.yml", []byte(head+tt.cfg+tail), RequireRunnable)
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
	// CodePipeline's own definition (no RegistryUrl) still imports.
	if _, err := Parse("p.yml", []byte(head+"          RepositoryName: app\n          ImageTag: latest\n"+tail)); err != nil {
		t.Fatalf("ECR source for import: %v", err)
	}
}
