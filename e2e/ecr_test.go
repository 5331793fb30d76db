package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/toolcache"
)

// startRegistry runs the CNCF distribution registry on 127.0.0.1 for the
// test, installing it first when CI=true, or skips it, saying how to get it.
func startRegistry(t *testing.T) string {
	t.Helper()
	bin, skip, err := toolcache.Registry.Find()
	if err != nil {
		t.Fatal(err)
	}
	if bin == "" {
		t.Skip(skip)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	data := t.TempDir()
	cfg := filepath.Join(data, "config.yml")
	writeFile(t, cfg, fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n", filepath.Join(data, "store"), addr))
	var log bytes.Buffer
	cmd := exec.Command(bin, "serve", cfg)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "http://" + addr
	eventually(t, 15*time.Second, "the registry serves /v2/", func() bool {
		resp, err := http.Get(url + "/v2/")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return url
}

// pushImage pushes a one-layer OCI image to repo:tag over the distribution
// API and returns its manifest digest.
func pushImage(t *testing.T, registry, repo, tag, content string) string {
	t.Helper()
	digest := func(b []byte) string { s := sha256.Sum256(b); return "sha256:" + hex.EncodeToString(s[:]) }
	do := func(method, url, ctype string, body []byte, want int) *http.Response {
		req, _ := http.NewRequest(method, url, bytes.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("%s %s: %s", method, url, resp.Status)
		}
		return resp
	}
	blob := func(b []byte) string {
		resp := do(http.MethodPost, registry+"/v2/"+repo+"/blobs/uploads/", "", nil, http.StatusAccepted)
		loc, err := resp.Location()
		if err != nil {
			t.Fatal(err)
		}
		q := loc.Query()
		q.Set("digest", digest(b))
		loc.RawQuery = q.Encode()
		do(http.MethodPut, loc.String(), "application/octet-stream", b, http.StatusCreated)
		return digest(b)
	}
	config, layer := []byte(`{"architecture":"amd64","os":"linux"}`), []byte(content)
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blob(config), "size": len(config)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": blob(layer), "size": len(layer)}},
	})
	do(http.MethodPut, registry+"/v2/"+repo+"/manifests/"+tag, "application/vnd.oci.image.manifest.v1+json", manifest, http.StatusCreated)
	return digest(manifest)
}

// An ECR source action against a real registry, through the built binary: a
// new push is polled and runs the pipeline once with imageDetail.json of the
// new digest; a pinned digest runs the old one; a missing tag fails naming it.
func TestECRSource(t *testing.T) {
	t.Parallel()
	registry := startRegistry(t)
	host := strings.TrimPrefix(registry, "http://")
	s := startServer(t, "--poll-interval", pollInterval)
	d1 := pushImage(t, registry, "team/app", "prod", "one")

	s.apply("testdata/poll-canary.yml")
	s.nextTrigger("canary", nil)
	pipe := func(name, tag string) string {
		file := filepath.Join(s.scratch("pipelines"), name+".yml")
		writeFile(t, file, fmt.Sprintf(`name: %s
executionMode: PARALLEL
stages:
  - name: Source
    actions:
      - name: img
        actionTypeId: {category: Source, owner: AWS, provider: ECR, version: "1"}
        configuration: {RepositoryName: team/app, ImageTag: %s, RegistryUrl: %q}
        outputArtifacts: [{name: image}]
  - name: Use
    actions:
      - name: Show
        provider: Commands
        inputArtifacts: [image]
        commands: [cat imageDetail.json]
`, name, tag, registry))
		return file
	}
	s.apply(pipe("images", "prod"))
	s.pollRounds()
	if es := s.executions("images"); len(es) != 0 {
		t.Fatalf("executions after the first poll = %+v, want none", es)
	}

	d2 := pushImage(t, registry, "team/app", "prod", "two")
	note := s.nextTrigger("images", nil)
	e := s.wantStarted("images", note, 1, "Succeeded")
	wantEqual(t, "trigger type", e.Trigger.TriggerType, "PollForSourceChanges")
	wantEqual(t, "source revision", e.SourceRevisions[0].RevisionID, d2)
	vars := e.action(t, "img").OutputVariables
	wantEqual(t, "ImageURI", vars["ImageURI"], host+"/team/app@"+d2)
	wantEqual(t, "ImageDigest", vars["ImageDigest"], d2)
	log := s.ok("logs", "images", e.PipelineExecutionID, "Show")
	wantContains(t, "imageDetail.json", log, `"ImageDigest":"`+d2+`"`, `"ImageURI":"`+host+`/team/app@`+d2+`"`, `"ImageTags":["prod"]`)
	s.pollRounds()
	if es := s.executions("images"); len(es) != 1 {
		t.Fatalf("executions after more polls of the same digest = %d, want one", len(es))
	}

	// A pinned digest runs the first image, although the tag has moved.
	id := strings.TrimSpace(s.ok("start", "images", "--source-revision", "img="+d1))
	e = s.waitEnd("images", id, "Succeeded")
	wantEqual(t, "pinned source revision", e.SourceRevisions[0].RevisionID, d1)
	wantContains(t, "pinned imageDetail.json", s.ok("logs", "images", id, "Show"), `"ImageDigest":"`+d1+`"`)
	r := s.cli("start", "images", "--source-revision", "img="+strings.Repeat("ab", 20))
	if r.code == 0 || !strings.Contains(r.stderr, "not an image digest") {
		t.Errorf("start pinned to a commit id: %v", r)
	}

	// A missing tag fails the action, naming the image.
	s.apply(pipe("missing", "nope"))
	id = s.start("missing")
	e = s.waitEnd("missing", id, "Failed")
	wantContains(t, "missing tag summary", e.action(t, "img").Summary, "team/app:nope", "not found")

	// Apply refuses an ECR action with an unknown key, naming the field.
	bad := filepath.Join(s.scratch("pipelines"), "bad.yml")
	writeFile(t, bad, "name: bad\nstages:\n  - name: Source\n    actions:\n      - name: img\n        actionTypeId: {category: Source, owner: AWS, provider: ECR, version: \"1\"}\n        configuration: {RepositoryName: team/app, ImageTags: prod}\n        outputArtifacts: [{name: image}]\n  - name: Use\n    actions:\n      - name: u\n        provider: Noop\n        inputArtifacts: [image]\n")
	r = s.fails("pipeline", "apply", "-f", bad)
	wantContains(t, "apply error", r.String(), `ImageTags: unknown configuration key (did you mean "ImageTag"?)`)
}
