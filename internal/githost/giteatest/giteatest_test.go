package giteatest

import (
	"context"
	"errors"
	"net/http"
	"testing"
)

func TestServer(t *testing.T) {
	s := Start(t)
	var version struct{ Version string }
	s.API(t, http.MethodGet, "/version", nil, &version)
	if version.Version != Version[1:] {
		t.Errorf("version %q, want %q", version.Version, Version[1:])
	}

	repo := s.CreateRepo(t, "app", true)
	if repo.FullName != AdminUser+"/app" || !repo.Private {
		t.Fatalf("repo %+v", repo)
	}
	first := s.Commit(t, repo, "main", "first", map[string]string{"README.md": "hello\n", "src/a.txt": "a\n"})
	second := s.Commit(t, repo, "main", "second", map[string]string{"src/a.txt": ""})
	other := s.Commit(t, repo, "feature", "on its own", map[string]string{"f.txt": "f\n"})

	var branch struct {
		Commit struct{ ID string } `json:"commit"`
	}
	s.API(t, http.MethodGet, "/repos/"+repo.FullName+"/branches/main", nil, &branch)
	if branch.Commit.ID != second || second == first {
		t.Errorf("main is at %s, want the second commit %s", branch.Commit.ID, second)
	}
	var parents []struct{ SHA string }
	var commit struct {
		Parents *[]struct{ SHA string } `json:"parents"`
	}
	commit.Parents = &parents
	s.API(t, http.MethodGet, "/repos/"+repo.FullName+"/git/commits/"+second, nil, &commit)
	if len(parents) != 1 || parents[0].SHA != first {
		t.Errorf("second's parents %v, want [%s]", parents, first)
	}
	s.API(t, http.MethodGet, "/repos/"+repo.FullName+"/branches/feature", nil, &branch)
	if branch.Commit.ID != other {
		t.Errorf("feature is at %s, want %s", branch.Commit.ID, other)
	}
	s.DeleteBranch(t, repo, "feature")
	var apiErr *APIError
	if err := s.Call(context.Background(), s.AdminToken, http.MethodGet, "/repos/"+repo.FullName+"/branches/feature", nil, nil); !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("deleted branch: %v, want a 404", err)
	}

	// Another user's token cannot see the admin's private repository.
	token := s.CreateUser(t, "outsider")
	err := s.Call(context.Background(), token, http.MethodGet, "/repos/"+repo.FullName, nil, nil)
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
		t.Errorf("outsider reading a private repository: %v, want a 404", err)
	}
	if err := s.Call(context.Background(), token, http.MethodGet, "/user", nil, nil); err != nil {
		t.Errorf("outsider's token: %v", err)
	}
}
