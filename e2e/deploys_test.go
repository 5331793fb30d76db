package e2e

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider/s3deploy"
)

// TestS3DeployThroughConnection: a connection applied with the CLI, keys in
// a sluice secret; a pipeline's S3 deploy action puts its artifact into
// moto's bucket through it. The keys never show in API output or the log,
// and a pipeline whose role may not read the connection's secret deploys
// nothing.
func TestS3DeployThroughConnection(t *testing.T) {
	t.Parallel()
	moto := mototest.Start(t)
	ctx := context.Background()
	bucket := s3deploy.Client(moto.Conn("moto"))
	if _, err := bucket.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("site")}); err != nil {
		t.Fatal(err)
	}
	s := startServer(t)
	const secretKey = "e2e-secret-access-key-0123456789"
	keys := `{"accessKeyId":"AKIAE2ETESTKEY000001","secretAccessKey":"` + secretKey + `"}`
	if r := runCLIStdin(t, cliEnv(s.url, s.token), keys, "secret", "put", "aws-moto"); r.code != 0 {
		t.Fatalf("secret put: %s", r)
	}
	dir := s.scratch("deploys")

	// A bad connection file is refused with file, line and field.
	bad := filepath.Join(dir, "bad.yml")
	writeFile(t, bad, "name: moto\nkind: aws\nregion: us-east-1\nendpoint: "+moto.URL+"\ncredentials:\n  secrte: aws-moto\n")
	if r := s.fails("connection", "apply", "-f", bad); !strings.Contains(r.stderr, `bad.yml:6: credentials.secrte: unknown field (did you mean "secret"?)`) {
		t.Fatalf("bad connection: %s", r)
	}
	conn := filepath.Join(dir, "moto.yml")
	writeFile(t, conn, "name: moto\nkind: aws\nregion: us-east-1\nendpoint: "+moto.URL+"\ncredentials:\n  secret: aws-moto\n")
	if out := s.ok("connection", "apply", "-f", conn); !strings.Contains(out, "connection moto created") {
		t.Fatalf("apply: %s", out)
	}
	for _, args := range [][]string{{"connection", "get", "moto", "-o", "json"}, {"connection", "list", "-o", "json"}, {"connection", "get", "moto"}} {
		out := s.ok(args...)
		if strings.Contains(out, secretKey) || strings.Contains(out, "AKIAE2E") || !strings.Contains(out, "aws-moto") {
			t.Fatalf("%v shows the keys or not the secret's name:\n%s", args, out)
		}
	}

	pipe := func(name, role string) string {
		src := "name: " + name + "\n" + role + "stages:\n" +
			"  - name: Make\n    actions:\n      - name: make\n        provider: Commands\n" +
			"        commands: ['mkdir -p css', 'echo \"<h1>" + name + "</h1>\" > index.html', 'echo body{} > css/app.css']\n" +
			"        outputArtifacts: [{name: web, files: ['**/*']}]\n" +
			"  - name: Deploy\n    actions:\n      - name: s3\n" +
			"        actionTypeId: {category: Deploy, owner: AWS, provider: S3, version: '1'}\n" +
			"        inputArtifacts: [web]\n" +
			"        configuration: {BucketName: site, Extract: 'true', ObjectKey: " + name + ", CacheControl: 'max-age=30', Connection: moto}\n"
		return s.applyYAML(name, src)
	}
	// A bad S3 action is refused at apply, naming the line and the key.
	badPipe := filepath.Join(dir, "badpipe.yml")
	writeFile(t, badPipe, "name: badpipe\nstages:\n  - name: Make\n    actions:\n      - name: make\n        provider: Commands\n        commands: ['true']\n        outputArtifacts: [{name: web, files: ['**/*']}]\n"+
		"  - name: Deploy\n    actions:\n      - name: s3\n        actionTypeId: {category: Deploy, owner: AWS, provider: S3, version: '1'}\n        inputArtifacts: [web]\n        configuration:\n          BucketNmae: site\n          Extract: 'false'\n")
	r := s.fails("pipeline", "apply", "-f", badPipe)
	for _, want := range []string{`badpipe.yml:15: stages[1].actions[0].configuration.BucketNmae: unknown configuration key (did you mean "BucketName"?)`, "configuration.ObjectKey: required when Extract is false"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("bad pipeline: want %q in\n%s", want, r.stderr)
		}
	}

	pipe("web", "")
	id := s.start("web")
	e := s.waitEnd("web", id, "Succeeded")
	if a := e.action(t, "s3"); !strings.Contains(a.Summary, "uploaded 2 object(s)") {
		t.Errorf("summary %q", a.Summary)
	}
	list, err := bucket.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("site")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range list.Contents {
		got = append(got, aws.ToString(o.Key))
	}
	if want := []string{"web/css/app.css", "web/index.html"}; !slices.Equal(got, want) {
		t.Fatalf("objects %v, want %v", got, want)
	}
	obj, err := bucket.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("site"), Key: aws.String("web/index.html")})
	if err != nil {
		t.Fatal(err)
	}
	obj.Body.Close()
	if !strings.HasPrefix(aws.ToString(obj.ContentType), "text/html") || aws.ToString(obj.CacheControl) != "max-age=30" {
		t.Errorf("index.html: type %q cache %q", aws.ToString(obj.ContentType), aws.ToString(obj.CacheControl))
	}
	if log := s.ok("logs", "web", id, "s3"); strings.Contains(log, secretKey) || !strings.Contains(log, "uploaded s3://site/web/index.html") {
		t.Errorf("deploy log:\n%s", log)
	}

	// CodePipeline's mapping: an action naming no connection takes the one
	// aws connection of its region, and its roleArn is the role assumed.
	roleConn := filepath.Join(dir, "eu.yml")
	writeFile(t, roleConn, "name: moto-eu\nkind: aws\nregion: eu-west-1\nendpoint: "+moto.URL+"\ncredentials: {secret: aws-moto}\nrole: {arn: 'arn:aws:iam::123456789012:role/base', externalId: e2e-ext}\n")
	s.ok("connection", "apply", "-f", roleConn)
	s.applyYAML("mapped", "name: mapped\nstages:\n"+
		"  - name: Make\n    actions:\n      - name: make\n        provider: Commands\n        commands: ['echo mapped > m.txt']\n        outputArtifacts: [{name: web, files: ['m.txt']}]\n"+
		"  - name: Deploy\n    actions:\n      - name: s3\n        actionTypeId: {category: Deploy, owner: AWS, provider: S3, version: '1'}\n"+
		"        region: eu-west-1\n        roleArn: arn:aws:iam::123456789012:role/deployer\n        inputArtifacts: [web]\n"+
		"        configuration: {BucketName: site, Extract: 'true', ObjectKey: mapped}\n")
	id = s.start("mapped")
	s.waitEnd("mapped", id, "Succeeded")
	if _, err := bucket.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("site"), Key: aws.String("mapped/m.txt")}); err != nil {
		t.Errorf("mapped/m.txt: %v", err)
	}
	if log := s.ok("logs", "mapped", id, "s3"); !strings.Contains(log, "through connection moto-eu (region eu-west-1)") {
		t.Errorf("mapped log:\n%s", log)
	}

	// Attack: a pipeline author whose role may not read the connection's
	// secret names the connection anyway; the worker is refused its keys.
	policy := filepath.Join(dir, "limited.json")
	writeFile(t, policy, `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sluice:GetSecretValue","Resource":"secret/other"}]}`)
	s.ok("policy", "apply", "limited", "-f", policy)
	pipe("sneaky", "role: limited\n")
	id = s.start("sneaky")
	e = s.waitEnd("sneaky", id, "Failed")
	if a := e.action(t, "s3"); !strings.Contains(a.Summary, "does not allow sluice:GetSecretValue on secret/aws-moto") {
		t.Errorf("sneaky summary %q", a.Summary)
	}
	list, err = bucket.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("site"), Prefix: aws.String("sneaky")})
	if err != nil || len(list.Contents) != 0 {
		t.Errorf("sneaky deployed %v (%v)", list.Contents, err)
	}
}
