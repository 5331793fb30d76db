package ecrsource_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sluice-ci/sluice/internal/toolcache"

	"github.com/sluice-ci/sluice/internal/provider"
	"github.com/sluice-ci/sluice/internal/provider/ecrsource"
)

var (
	registryURL string // http://127.0.0.1:PORT of the running registry, "" if none
	skipReason  string
)

func TestMain(m *testing.M) {
	stop, err := startRegistry()
	if err != nil {
		fmt.Fprintln(os.Stderr, "ecrsource:", err)
		os.Exit(1)
	}
	code := m.Run()
	if stop != nil {
		stop()
	}
	os.Exit(code)
}

// startRegistry starts the registry, installing it first when asked to
// (CI=true or SLUICE_REGISTRY_TESTS=1). With no binary and no request to
// install, it sets skipReason and returns no error.
func startRegistry() (stop func(), err error) {
	bin, skip, err := toolcache.Registry.Find()
	if err != nil || bin == "" {
		skipReason = skip
		return nil, err
	}
	registryBin = bin
	url, stop, err := launch(bin, "")
	if err != nil {
		return nil, err
	}
	registryURL = url
	return stop, nil
}

var registryBin string

// launch runs a registry on a free port of 127.0.0.1 with extra lines of
// configuration, and returns its URL once it serves.
func launch(bin, extra string) (url string, stop func(), err error) {
	data, err := os.MkdirTemp("", "sluice-registry-test-")
	if err != nil {
		return "", nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(data)
		return "", nil, err
	}
	addr := l.Addr().String()
	l.Close()
	config := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n%s", filepath.Join(data, "store"), addr, strings.ReplaceAll(extra, "DATA", data))
	cfgFile := filepath.Join(data, "config.yml")
	if err := os.WriteFile(cfgFile, []byte(config), 0o600); err != nil {
		os.RemoveAll(data)
		return "", nil, err
	}
	logFile := filepath.Join(data, "registry.log")
	lf, err := os.Create(logFile)
	if err != nil {
		os.RemoveAll(data)
		return "", nil, err
	}
	cmd := exec.Command(bin, "serve", cfgFile)
	cmd.Stdout, cmd.Stderr = lf, lf
	if err := cmd.Start(); err != nil {
		os.RemoveAll(data)
		return "", nil, fmt.Errorf("start registry: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		cmd.Process.Kill()
		<-exited
		lf.Close()
		os.RemoveAll(data)
	}
	// The registry has no readiness signal: poll /v2/ (200, or 401 when it
	// asks for credentials) within a deadline.
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				break
			}
		}
		select {
		case err := <-exited:
			exited <- err
			log, _ := os.ReadFile(logFile)
			stop()
			return "", nil, fmt.Errorf("registry exited before serving (%v): %s", err, log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("registry did not serve on %s within 15s", addr)
		}
	}
	return "http://" + addr, stop, nil
}

func requireRegistry(t *testing.T) {
	t.Helper()
	if registryURL == "" {
		t.Skip(skipReason)
	}
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// pushBlob uploads a blob over the distribution API (a POST opening an
// upload, a PUT closing it with the content), with basic auth when auth is
// USER:PASSWORD.
func pushBlob(t *testing.T, base, auth, repo string, b []byte) string {
	t.Helper()
	d := digestOf(b)
	resp := send(t, http.MethodPost, base+"/v2/"+repo+"/blobs/uploads/", auth, "", nil, http.StatusAccepted)
	loc, err := resp.Location()
	if err != nil {
		t.Fatal(err)
	}
	q := loc.Query()
	q.Set("digest", d)
	loc.RawQuery = q.Encode()
	send(t, http.MethodPut, loc.String(), auth, "application/octet-stream", b, http.StatusCreated)
	return d
}

func send(t *testing.T, method, url, auth, ctype string, body []byte, want int) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if user, pass, ok := strings.Cut(auth, ":"); ok {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %s, want %d", method, url, resp.Status, want)
	}
	return resp
}

// pushImage pushes a tiny OCI image (a config, one layer, a manifest) under
// tag and returns the manifest's digest and the image's size.
func pushImage(t *testing.T, repo, tag, content string) (digest string, size int64) {
	t.Helper()
	return pushImageTo(t, registryURL, "", repo, tag, content)
}

func pushImageTo(t *testing.T, base, auth, repo, tag, content string) (digest string, size int64) {
	t.Helper()
	config := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}`)
	layer := []byte(content)
	manifest, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": pushBlob(t, base, auth, repo, config), "size": len(config)},
		"layers":        []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": pushBlob(t, base, auth, repo, layer), "size": len(layer)}},
	})
	send(t, http.MethodPut, base+"/v2/"+repo+"/manifests/"+tag, auth, "application/vnd.oci.image.manifest.v1+json", manifest, http.StatusCreated)
	return digestOf(manifest), int64(len(config) + len(layer))
}

func run(t *testing.T, cfg map[string]string, revision string) (provider.Result, string, error) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "out.zip")
	var log strings.Builder
	job := &provider.Job{
		Configuration: cfg,
		Revision:      revision,
		Outputs:       []provider.Output{{Name: "Image", Path: out}},
		Log:           &log,
	}
	res, err := ecrsource.Provider{}.Run(t.Context(), job)
	return res, out, err
}

func readDetail(t *testing.T, zipPath string) (ecrsource.ImageDetail, map[string]any) {
	t.Helper()
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "imageDetail.json" {
		t.Fatalf("artifact holds %d files, first %q; want imageDetail.json alone", len(zr.File), zr.File[0].Name)
	}
	f, err := zr.File[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	raw, _ := io.ReadAll(f)
	var d ecrsource.ImageDetail
	var m map[string]any
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(raw, &m)
	return d, m
}

func TestResolvesTagAndWritesImageDetail(t *testing.T) {
	requireRegistry(t)
	digest, size := pushImage(t, "team/app", "v1", "layer one")
	res, out, err := run(t, map[string]string{"RepositoryName": "team/app", "ImageTag": "v1", "RegistryUrl": registryURL}, "")
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(registryURL, "http://")
	uri := host + "/team/app@" + digest
	want := map[string]string{"RegistryId": host, "RepositoryName": "team/app", "ImageTag": "v1", "ImageDigest": digest, "ImageURI": uri}
	for k, v := range want {
		if res.OutputVariables[k] != v {
			t.Errorf("output variable %s = %q, want %q", k, res.OutputVariables[k], v)
		}
	}
	d, m := readDetail(t, out)
	if d.ImageDigest != digest || d.ImageURI != uri || d.RepositoryName != "team/app" || d.RegistryID != host ||
		d.Version != "1.0" || len(d.ImageTags) != 1 || d.ImageTags[0] != "v1" || d.ImageSizeInBytes != fmt.Sprint(size) {
		t.Errorf("imageDetail.json = %+v; want digest %s, uri %s, size %d", d, digest, uri, size)
	}
	// CodePipeline writes the size as a string.
	if _, ok := m["ImageSizeInBytes"].(string); !ok {
		t.Errorf("ImageSizeInBytes is %T, want a string", m["ImageSizeInBytes"])
	}
}

func TestDefaultTagIsLatest(t *testing.T) {
	requireRegistry(t)
	digest, _ := pushImage(t, "deftag", "latest", "latest layer")
	res, _, err := run(t, map[string]string{"RepositoryName": "deftag", "RegistryUrl": registryURL}, "")
	if err != nil {
		t.Fatal(err)
	}
	if res.OutputVariables["ImageDigest"] != digest || res.OutputVariables["ImageTag"] != "latest" {
		t.Errorf("got %v, want latest at %s", res.OutputVariables, digest)
	}
}

func TestPinnedDigestAndNewPush(t *testing.T) {
	requireRegistry(t)
	c, err := ecrsource.NewClient(registryURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, _ := pushImage(t, "moving", "stable", "first")
	img, err := c.Resolve(t.Context(), "moving", "stable")
	if err != nil || img.Digest != first {
		t.Fatalf("resolve = %v, %v; want %s", img.Digest, err, first)
	}
	second, _ := pushImage(t, "moving", "stable", "second")
	if second == first {
		t.Fatal("the second push has the first's digest")
	}
	img, err = c.Resolve(t.Context(), "moving", "stable")
	if err != nil || img.Digest != second {
		t.Fatalf("after a new push, resolve = %v, %v; want %s", img.Digest, err, second)
	}
	// A run pinned to the first digest gets it, although the tag moved.
	res, out, err := run(t, map[string]string{"RepositoryName": "moving", "ImageTag": "stable", "RegistryUrl": registryURL}, first)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := readDetail(t, out)
	if res.OutputVariables["ImageDigest"] != first || d.ImageDigest != first || !strings.HasSuffix(d.ImageURI, "@"+first) {
		t.Errorf("pinned run gave %s (file %s); want %s", res.OutputVariables["ImageDigest"], d.ImageDigest, first)
	}
	// As CodePipeline: no ImageTag variable for an overridden revision, and
	// the tag, which has moved, is no longer the image's.
	if _, ok := res.OutputVariables["ImageTag"]; ok || len(d.ImageTags) != 0 {
		t.Errorf("pinned to a digest the tag left: ImageTag variable %q, ImageTags %v; want neither", res.OutputVariables["ImageTag"], d.ImageTags)
	}
	// Pinned to the digest the tag names now, the image keeps its tag.
	_, out, err = run(t, map[string]string{"RepositoryName": "moving", "ImageTag": "stable", "RegistryUrl": registryURL}, second)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := readDetail(t, out); len(d.ImageTags) != 1 || d.ImageTags[0] != "stable" {
		t.Errorf("pinned to the tag's digest: ImageTags %v, want [stable]", d.ImageTags)
	}
	// A digest the repository does not hold fails.
	missing := digestOf([]byte("never pushed"))
	if _, _, err := run(t, map[string]string{"RepositoryName": "moving", "RegistryUrl": registryURL}, missing); !errors.Is(err, ecrsource.ErrNotFound) {
		t.Errorf("pinned to a missing digest: %v, want not found", err)
	}
	if _, _, err := run(t, map[string]string{"RepositoryName": "moving", "RegistryUrl": registryURL}, "main"); err == nil || !strings.Contains(err.Error(), "not an image digest") {
		t.Errorf("pinned to a non-digest: %v", err)
	}
}

func TestMissingTagOrRepositoryFails(t *testing.T) {
	requireRegistry(t)
	pushImage(t, "present", "v1", "x")
	for _, tc := range []struct{ repo, tag string }{{"present", "v2"}, {"absent/repo", "v1"}} {
		_, out, err := run(t, map[string]string{"RepositoryName": tc.repo, "ImageTag": tc.tag, "RegistryUrl": registryURL}, "")
		if !errors.Is(err, ecrsource.ErrNotFound) || !strings.Contains(err.Error(), tc.repo+":"+tc.tag) {
			t.Errorf("%s:%s: error %v, want not found naming it", tc.repo, tc.tag, err)
		}
		if _, serr := os.Stat(out); serr == nil {
			t.Errorf("%s:%s: an artifact was written for a failed action", tc.repo, tc.tag)
		}
	}
}

func TestBadInputRefused(t *testing.T) {
	// No registry needed: these fail before any request.
	for _, tc := range []struct {
		cfg  map[string]string
		want string
	}{
		{map[string]string{"RepositoryName": "app", "RegistryUrl": "ftp://h"}, "RegistryUrl"},
		{map[string]string{"RepositoryName": "app", "RegistryUrl": "http://user:pw@h"}, "RegistryUrl"},
		{map[string]string{"RepositoryName": "app", "RegistryUrl": "http://h/v2/other?x"}, "RegistryUrl"},
		{map[string]string{"RepositoryName": "../../v2/_catalog", "RegistryUrl": "http://127.0.0.1:1"}, "not a repository name"},
		{map[string]string{"RepositoryName": "app", "ImageTag": "../x", "RegistryUrl": "http://127.0.0.1:1"}, "neither a tag"},
	} {
		_, _, err := run(t, tc.cfg, "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one naming %q", tc.cfg, err, tc.want)
		}
	}
}
