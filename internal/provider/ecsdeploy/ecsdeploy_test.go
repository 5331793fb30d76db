package ecsdeploy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider"
)

func conn(endpoint string) *awsconn.Conn {
	return awsconn.Static("moto", mototest.Region, endpoint, mototest.Key, mototest.Secret, "")
}

// setUp makes cluster "web", task definition "shop" (containers app and
// proxy) and service "shop" wanting desired tasks.
func setUp(t *testing.T, ep string, desired int32) *ecs.Client {
	t.Helper()
	ctx := context.Background()
	c := Client(conn(ep))
	if _, err := c.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	_, err := c.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:           aws.String("shop"),
		ExecutionRoleArn: aws.String("arn:aws:iam::123456789012:role/exec"),
		TaskRoleArn:      aws.String("arn:aws:iam::123456789012:role/task"),
		NetworkMode:      types.NetworkModeBridge,
		Cpu:              aws.String("256"),
		Memory:           aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{
			{Name: aws.String("app"), Image: aws.String("registry.local/shop:1"), Essential: aws.Bool(true), Memory: aws.Int32(256),
				Environment:  []types.KeyValuePair{{Name: aws.String("MODE"), Value: aws.String("live")}},
				PortMappings: []types.PortMapping{{ContainerPort: aws.Int32(8080)}}},
			{Name: aws.String("proxy"), Image: aws.String("registry.local/proxy:3"), Memory: aws.Int32(64)},
		},
		Volumes: []types.Volume{{Name: aws.String("cache")}},
		Tags:    []types.Tag{{Key: aws.String("team"), Value: aws.String("shop")}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("web"), ServiceName: aws.String("shop"), TaskDefinition: aws.String("shop"), DesiredCount: aws.Int32(desired),
	}); err != nil {
		t.Fatal(err)
	}
	return c
}

func newJob(t *testing.T, ep string, cfg map[string]string, images string) (*provider.Job, *bytes.Buffer) {
	var log bytes.Buffer
	dir := t.TempDir()
	if images != "" {
		if err := os.WriteFile(filepath.Join(dir, DefaultFileName), []byte(images), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &provider.Job{
		ID: "j1", Action: "Deploy", Configuration: cfg, WorkDir: dir, Inputs: []string{"Build"}, Log: &log,
		AWS: func(ctx context.Context, name string) (*awsconn.Conn, error) {
			if name != "moto" {
				return nil, errors.New("no connection " + name)
			}
			return conn(ep), nil
		},
	}, &log
}

func TestAgainstMoto(t *testing.T) {
	moto := mototest.Start(t)
	ep := moto.URL
	for _, tc := range []struct {
		name string
		test func(*testing.T, string)
	}{
		{"new revision", testNewRevision},
		{"unknown container", testUnknownContainer},
		{"not stable in time", testNotStable},
		{"no such service", testNoService},
		{"blue/green service", testCodeDeployService},
		{"members the client does not model", testUnmodeledMembersKept},
	} {
		moto.Reset(t)
		t.Run(tc.name, func(t *testing.T) { tc.test(t, ep) })
	}
}

// The service moves to a new revision that differs from the old only in the
// image named. The service wants no tasks: moto runs none, and a service
// scaled to zero is stable on AWS as soon as its deployment is alone.
func testNewRevision(t *testing.T, ep string) {
	ctx := context.Background()
	c := setUp(t, ep, 0)
	job, log := newJob(t, ep, map[string]string{"Connection": "moto", "ClusterName": "web", "ServiceName": "shop"},
		`[{"name": "app", "imageUri": "registry.local/shop:2"}]`)
	res, err := Provider{PollInterval: 10 * time.Millisecond}.Run(ctx, job)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log)
	}
	svc, err := c.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("web"), Services: []string{"shop"}})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(svc.Services[0].TaskDefinition)
	if !strings.HasSuffix(arn, "task-definition/shop:2") {
		t.Fatalf("service runs %s, want revision 2 of shop", arn)
	}
	if !strings.Contains(res.Summary, arn) || !strings.Contains(log.String(), "service shop is stable") {
		t.Errorf("summary %q / log %q do not tell the new revision and stability", res.Summary, log)
	}
	td, err := c.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(arn), Include: []types.TaskDefinitionField{types.TaskDefinitionFieldTags}})
	if err != nil {
		t.Fatal(err)
	}
	got := td.TaskDefinition
	images := map[string]string{}
	for _, cd := range got.ContainerDefinitions {
		images[aws.ToString(cd.Name)] = aws.ToString(cd.Image)
	}
	if images["app"] != "registry.local/shop:2" || images["proxy"] != "registry.local/proxy:3" {
		t.Errorf("images = %v, want app replaced and proxy kept", images)
	}
	app := got.ContainerDefinitions[0]
	if len(app.Environment) != 1 || aws.ToString(app.Environment[0].Value) != "live" || len(app.PortMappings) != 1 {
		t.Errorf("app container lost its settings: %+v", app)
	}
	if aws.ToString(got.ExecutionRoleArn) != "arn:aws:iam::123456789012:role/exec" || aws.ToString(got.TaskRoleArn) != "arn:aws:iam::123456789012:role/task" ||
		aws.ToString(got.Cpu) != "256" || aws.ToString(got.Memory) != "512" || len(got.Volumes) != 1 {
		t.Errorf("revision lost task-level fields: %+v", got)
	}
	if len(td.Tags) != 1 || aws.ToString(td.Tags[0].Key) != "team" {
		t.Errorf("tags = %+v, want the old revision's", td.Tags)
	}
}

func testUnknownContainer(t *testing.T, ep string) {
	ctx := context.Background()
	c := setUp(t, ep, 0)
	job, _ := newJob(t, ep, map[string]string{"Connection": "moto", "ClusterName": "web", "ServiceName": "shop"},
		`[{"name": "app", "imageUri": "x:2"}, {"name": "worker", "imageUri": "y:2"}]`)
	_, err := Provider{PollInterval: 10 * time.Millisecond}.Run(ctx, job)
	if err == nil || !strings.Contains(err.Error(), "no container worker (it has app, proxy)") {
		t.Fatalf("run = %v, want an error naming container worker", err)
	}
	list, err := c.ListTaskDefinitions(ctx, &ecs.ListTaskDefinitionsInput{FamilyPrefix: aws.String("shop")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.TaskDefinitionArns) != 1 {
		t.Errorf("task definitions = %v: a refused deployment registered a revision", list.TaskDefinitionArns)
	}
}

// moto runs no containers, so a service wanting two tasks never becomes
// stable: the action fails at its DeploymentTimeout saying what it waited for.
func testNotStable(t *testing.T, ep string) {
	setUp(t, ep, 2)
	job, log := newJob(t, ep, map[string]string{"Connection": "moto", "ClusterName": "web", "ServiceName": "shop", "DeploymentTimeout": "1"},
		`[{"name": "app", "imageUri": "x:2"}]`)
	_, err := Provider{PollInterval: 10 * time.Millisecond, TimeoutUnit: 200 * time.Millisecond}.Run(context.Background(), job)
	if err == nil || !strings.Contains(err.Error(), "was not stable within") || !strings.Contains(err.Error(), "0 of 2 tasks running") {
		t.Fatalf("run = %v, want a timeout saying 0 of 2 tasks run\n%s", err, log)
	}
}

func testNoService(t *testing.T, ep string) {
	setUp(t, ep, 0)
	job, _ := newJob(t, ep, map[string]string{"Connection": "moto", "ClusterName": "web", "ServiceName": "shpo"},
		`[{"name": "app", "imageUri": "x:2"}]`)
	_, err := Provider{}.Run(context.Background(), job)
	if err == nil || !strings.Contains(err.Error(), "service shpo in cluster web") {
		t.Fatalf("run = %v, want an error naming the missing service", err)
	}
}

// A service CodeDeploy deploys is not updated behind its back.
func testCodeDeployService(t *testing.T, ep string) {
	ctx := context.Background()
	c := setUp(t, ep, 0)
	if _, err := c.CreateService(ctx, &ecs.CreateServiceInput{
		Cluster: aws.String("web"), ServiceName: aws.String("bluegreen"), TaskDefinition: aws.String("shop"), DesiredCount: aws.Int32(0),
		DeploymentController: &types.DeploymentController{Type: types.DeploymentControllerTypeCodeDeploy},
	}); err != nil {
		t.Fatal(err)
	}
	job, _ := newJob(t, ep, map[string]string{"Connection": "moto", "ClusterName": "web", "ServiceName": "bluegreen"},
		`[{"name": "app", "imageUri": "x:2"}]`)
	_, err := Provider{}.Run(ctx, job)
	if err == nil || !strings.Contains(err.Error(), "deployed by the CODE_DEPLOY deployment controller") {
		t.Fatalf("run = %v, want the CodeDeploy-controlled service refused", err)
	}
}

// A member of the task definition that the SDK's client does not model
// (ECS adds them faster than the pinned client knows them) is carried into
// the new revision: the copy is made from DescribeTaskDefinition's JSON, not
// from the client's types. moto reads and answers only the members its own
// model knows, and its model knows nothing the pinned client does not; so the
// provider talks to moto through a proxy on 127.0.0.1 that adds two members to
// moto's DescribeTaskDefinition answer, as ECS answers with members newer than
// the client: trustedExecutionConfiguration on the task definition and an
// invented one on a container. The RegisterTaskDefinition request that passes
// the proxy (and that moto registers) must carry both, beside the image
// replaced and the members moto answered with.
func testUnmodeledMembersKept(t *testing.T, ep string) {
	ctx := context.Background()
	setUp(t, ep, 0)
	target, err := url.Parse(ep)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var registered []byte
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Director = func(r *http.Request) {
		r.URL.Scheme, r.URL.Host = target.Scheme, target.Host
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".RegisterTaskDefinition") {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			registered = body
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
	}
	proxy.ModifyResponse = func(resp *http.Response) error {
		if !strings.HasSuffix(resp.Request.Header.Get("X-Amz-Target"), ".DescribeTaskDefinition") || resp.StatusCode != http.StatusOK {
			return nil
		}
		var answer map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
			return err
		}
		resp.Body.Close()
		td := answer["taskDefinition"].(map[string]any)
		td["trustedExecutionConfiguration"] = map[string]any{"enabled": true}
		for _, c := range td["containerDefinitions"].([]any) {
			if c := c.(map[string]any); c["name"] == "app" {
				c["sluiceUnmodeledMember"] = map[string]any{"mode": "kept", "n": []int{1, 2}}
			}
		}
		body, err := json.Marshal(answer)
		if err != nil {
			return err
		}
		resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
		resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		resp.Header.Del("X-Amz-Crc32") // the checksum of moto's own body
		return nil
	}
	srv := httptest.NewServer(proxy)
	defer srv.Close()

	job, log := newJob(t, srv.URL, map[string]string{"Connection": "moto", "ClusterName": "web", "ServiceName": "shop"},
		`[{"name": "app", "imageUri": "registry.local/shop:2"}]`)
	if _, err := (Provider{PollInterval: 10 * time.Millisecond}).Run(ctx, job); err != nil {
		t.Fatalf("run: %v\n%s", err, log)
	}
	mu.Lock()
	sent := string(registered)
	mu.Unlock()
	for _, want := range []string{`"trustedExecutionConfiguration":{"enabled":true}`, `"sluiceUnmodeledMember":{"mode":"kept","n":[1,2]}`, `"image":"registry.local/shop:2"`, `"executionRoleArn":"arn:aws:iam::123456789012:role/exec"`} {
		if !strings.Contains(sent, want) {
			t.Errorf("RegisterTaskDefinition sent %s; want it to carry %s", sent, want)
		}
	}
}

// Revision keeps every member of the described definition but those ECS
// reports about a revision, which RegisterTaskDefinition does not take; the
// tags come from the answer's own member.
func TestRevisionBody(t *testing.T) {
	described := `{"taskDefinition": {
		"taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop:7", "revision": 7, "status": "ACTIVE",
		"family": "shop", "requiresAttributes": [{"name": "ecs.capability.execution-role-awslogs"}], "compatibilities": ["EC2", "FARGATE"],
		"registeredAt": 1.7e9, "registeredBy": "arn:aws:iam::123456789012:user/ci", "deregisteredAt": 1.8e9, "deleteRequestedAt": 1.9e9,
		"cpu": "256", "trustedExecutionConfiguration": {"enabled": true},
		"containerDefinitions": [{"name": "app", "image": "a:1", "futureContainerMember": 3}, {"name": "side", "image": "s:1"}]},
		"tags": [{"key": "team", "value": "shop"}]}`
	body, err := Revision([]byte(described), []ImageDefinition{{Name: "app", ImageURI: "a:2"}})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"containerDefinitions":[{"futureContainerMember":3,"image":"a:2","name":"app"},{"image":"s:1","name":"side"}],` +
		`"cpu":"256","family":"shop","tags":[{"key":"team","value":"shop"}],"trustedExecutionConfiguration":{"enabled":true}}`
	if string(body) != want {
		t.Errorf("Revision =\n%s\nwant\n%s", body, want)
	}
	if _, err := Revision([]byte(`{"taskDefinition": {"family": "shop", "containerDefinitions": [{"name": "app"}]}}`), []ImageDefinition{{Name: "web", ImageURI: "w:2"}}); err == nil || err.Error() != "task definition shop has no container web (it has app)" {
		t.Errorf("Revision with an unknown container: %v", err)
	}
	if _, err := Revision([]byte(`{"failures": []}`), nil); err == nil {
		t.Error("Revision of an answer with no task definition succeeded")
	}
}

func TestProgress(t *testing.T) {
	dep := func(id, status string, running, desired int32) types.Deployment {
		return types.Deployment{Id: aws.String(id), Status: aws.String(status), RunningCount: running, DesiredCount: desired}
	}
	svc := func(deps ...types.Deployment) *types.Service {
		return &types.Service{ServiceName: aws.String("shop"), Status: aws.String("ACTIVE"), Deployments: deps}
	}
	failed := dep("d2", "PRIMARY", 0, 2)
	failed.RolloutState, failed.RolloutStateReason = types.DeploymentRolloutStateFailed, aws.String("tasks failed to start")
	for _, tc := range []struct {
		name    string
		svc     *types.Service
		stable  bool
		wait    string
		errWant string
	}{
		{"stable", svc(dep("d2", "PRIMARY", 2, 2)), true, "", ""},
		{"tasks starting", svc(dep("d2", "PRIMARY", 1, 2)), false, "1 of 2 tasks running", ""},
		{"old draining", svc(dep("d2", "PRIMARY", 2, 2), dep("d1", "ACTIVE", 1, 0)), false, "2 of 2 tasks running, 1 older deployments draining", ""},
		{"circuit breaker", svc(failed), false, "", "deployment d2 failed: tasks failed to start"},
		{"deployed over", svc(dep("d3", "PRIMARY", 2, 2)), false, "", "deployed again (deployment d3)"},
		{"inactive", &types.Service{ServiceName: aws.String("shop"), Status: aws.String("DRAINING")}, false, "", "became DRAINING"},
	} {
		stable, wait, err := Progress(tc.svc, "d2")
		if stable != tc.stable || wait != tc.wait || (err == nil) != (tc.errWant == "") || (err != nil && !strings.Contains(err.Error(), tc.errWant)) {
			t.Errorf("%s: Progress = %v, %q, %v; want %v, %q, error %q", tc.name, stable, wait, err, tc.stable, tc.wait, tc.errWant)
		}
	}
}

func TestParseImageDefinitions(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"name": "app"}`, "not an image definitions file"},
		{`[]`, "no image definitions"},
		{`[{"imageUri": "x"}]`, "entry 0 has no name"},
		{`[{"name": "app"}]`, "entry 0 (app) has no imageUri"},
		{`[{"name": "app", "imageUri": "x"}, {"name": "app", "imageUri": "y"}]`, "container app is named twice"},
	} {
		if _, err := ParseImageDefinitions([]byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseImageDefinitions(%s) = %v, want %q", tc.in, err, tc.want)
		}
	}
	defs, err := ParseImageDefinitions([]byte(`[{"name": "app", "imageUri": "r/app@sha256:ab"}]`))
	if err != nil || len(defs) != 1 || defs[0].ImageURI != "r/app@sha256:ab" {
		t.Errorf("ParseImageDefinitions = %v, %v", defs, err)
	}
}

// The file comes from the input artifact only: not from outside it, by path
// or by link, and not when it is missing.
func TestImageFileConfined(t *testing.T) {
	for _, tc := range []struct{ file, link, want string }{
		{"../imagedefinitions.json", "", "leads out of the input artifact"},
		{"/etc/passwd", "", "not a relative path"},
		{"defs.json", "/etc/passwd", "defs.json"},
		{"", "", "has no file imagedefinitions.json"},
	} {
		job, _ := newJob(t, "", map[string]string{"ClusterName": "web", "ServiceName": "shop", "FileName": tc.file}, "")
		if tc.link != "" {
			os.Symlink(tc.link, filepath.Join(job.WorkDir, tc.file))
		}
		job.AWS = func(context.Context, string) (*awsconn.Conn, error) {
			t.Error("the connection was asked for")
			return nil, errors.New("no")
		}
		if _, err := (Provider{}).Run(context.Background(), job); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FileName %q: run = %v, want %q", tc.file, err, tc.want)
		}
	}
}

func TestTimeout(t *testing.T) {
	if d, err := Timeout(""); d != time.Hour || err != nil {
		t.Errorf(`Timeout("") = %v, %v; want CodePipeline's 60 minutes`, d, err)
	}
	if d, err := Timeout("15"); d != 15*time.Minute || err != nil {
		t.Errorf(`Timeout("15") = %v, %v`, d, err)
	}
	for _, bad := range []string{"0", "61", "ten", "1.5"} {
		if _, err := Timeout(bad); err == nil {
			t.Errorf("Timeout(%q) accepted", bad)
		}
	}
}
