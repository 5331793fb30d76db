package ecrsource_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sluice-ci/sluice/internal/provider/ecrsource"
)

// A pipeline author may point RegistryUrl at any service the worker reaches.
// What comes back to the author is a digest the service gave as a registry
// would, or an error; never the body of a page that is not a registry's.
func TestNonRegistryBodyNotShown(t *testing.T) {
	const private = "internal-admin-page-contents"
	for _, status := range []int{http.StatusOK, http.StatusNotFound, http.StatusInternalServerError} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			w.Write([]byte(private))
		}))
		res, _, err := run(t, map[string]string{"RepositoryName": "app", "RegistryUrl": srv.URL}, "")
		srv.Close()
		if err == nil {
			t.Errorf("status %d: a non-registry answered as an image: %v", status, res.OutputVariables)
			continue
		}
		if strings.Contains(err.Error(), private) {
			t.Errorf("status %d: the error shows the page: %v", status, err)
		}
	}
}

// Credentials go to the registry named, not to a host it redirects to.
func TestCredentialsNotForwardedOnRedirect(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			leaked.Store(true)
		}
		w.WriteHeader(http.StatusNotFound)
	}))
	defer other.Close()
	reg := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer reg.Close()
	c, err := ecrsource.NewClient(reg.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err = c.WithCredentials([]byte("ci:pw")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resolve(t.Context(), "app", "v1"); err == nil {
		t.Fatal("resolved through a redirect to a 404")
	}
	if leaked.Load() {
		t.Error("the credentials were sent to the host the registry redirected to")
	}
}
