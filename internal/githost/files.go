package githost

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxFilePages bounds how many pages of a pull request's files are read:
// at 100 a page, 3000 files, which is also where GitHub stops listing them.
const maxFilePages = 30

// PullRequestFiles lists the paths a pull request changes (both sides of a
// rename), through the host's API:
//
//   - GitHub, Gitea: GET /repos/{owner}/{repo}/pulls/{n}/files (filename,
//     previous_filename)
//   - GitLab: GET /projects/{path}/merge_requests/{iid}/diffs (new_path,
//     old_path)
//   - Bitbucket: GET /repositories/{workspace}/{slug}/pullrequests/{id}/diffstat
//     (new.path, old.path; pages linked by next)
func (c *Client) PullRequestFiles(ctx context.Context, repo string, number int) ([]string, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" {
		return nil, fmt.Errorf("repository %q is not OWNER/NAME", repo)
	}
	n := strconv.Itoa(number)
	var out []string
	seen := map[string]bool{}
	add := func(paths ...string) {
		for _, p := range paths {
			if p != "" && !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	next := ""
	for page := 1; page <= maxFilePages; page++ {
		var u string
		switch c.Host {
		case GitHub, Gitea:
			u = fmt.Sprintf("%s/repos/%s/%s/pulls/%s/files?per_page=100&limit=100&page=%d", c.apiBase(), url.PathEscape(owner), url.PathEscape(name), n, page)
		case GitLab:
			u = fmt.Sprintf("%s/projects/%s/merge_requests/%s/diffs?per_page=100&page=%d", c.apiBase(), url.PathEscape(repo), n, page)
		case Bitbucket:
			u = next
			if u == "" {
				u = fmt.Sprintf("%s/repositories/%s/%s/pullrequests/%s/diffstat?pagelen=100", c.apiBase(), url.PathEscape(owner), url.PathEscape(name), n)
			}
		default:
			return nil, fmt.Errorf("unknown git host %q", c.Host)
		}
		body, err := c.get(ctx, u)
		if err != nil {
			return nil, err
		}
		count := 0
		switch c.Host {
		case GitHub, Gitea:
			var files []struct {
				Filename string `json:"filename"`
				Previous string `json:"previous_filename"`
			}
			if err := json.Unmarshal(body, &files); err != nil {
				return nil, fmt.Errorf("read the files of pull request %d: %v", number, err)
			}
			for _, f := range files {
				add(f.Filename, f.Previous)
			}
			count = len(files)
		case GitLab:
			var diffs []struct {
				New string `json:"new_path"`
				Old string `json:"old_path"`
			}
			if err := json.Unmarshal(body, &diffs); err != nil {
				return nil, fmt.Errorf("read the diffs of merge request %d: %v", number, err)
			}
			for _, d := range diffs {
				add(d.New, d.Old)
			}
			count = len(diffs)
		case Bitbucket:
			var ds struct {
				Values []struct {
					New *struct{ Path string } `json:"new"`
					Old *struct{ Path string } `json:"old"`
				} `json:"values"`
				Next string `json:"next"`
			}
			if err := json.Unmarshal(body, &ds); err != nil {
				return nil, fmt.Errorf("read the diffstat of pull request %d: %v", number, err)
			}
			for _, v := range ds.Values {
				if v.New != nil {
					add(v.New.Path)
				}
				if v.Old != nil {
					add(v.Old.Path)
				}
			}
			if ds.Next == "" || !strings.HasPrefix(ds.Next, c.apiBase()+"/") {
				return out, nil // the last page, or a next link elsewhere, which is not followed with the token
			}
			next = ds.Next
			continue
		}
		if count < 100 {
			return out, nil
		}
	}
	return out, nil
}

func (c *Client) get(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	c.authorize(req)
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", req.URL.Redacted(), unwrapURL(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		return nil, &APIError{StatusCode: resp.StatusCode, Message: apiMessage(body)}
	}
	return body, nil
}

// ResolveCommit returns the full id of commit rev (an abbreviated id, as
// Bitbucket's pull-request deliveries give) of repo:
//
//   - GitHub: GET /repos/{owner}/{repo}/commits/{rev} (sha)
//   - Gitea: GET /repos/{owner}/{repo}/git/commits/{rev} (sha)
//   - GitLab: GET /projects/{path}/repository/commits/{rev} (id)
//   - Bitbucket: GET /repositories/{workspace}/{slug}/commit/{rev} (hash)
func (c *Client) ResolveCommit(ctx context.Context, repo, rev string) (string, error) {
	owner, name, ok := strings.Cut(repo, "/")
	if !ok || owner == "" || name == "" {
		return "", fmt.Errorf("repository %q is not OWNER/NAME", repo)
	}
	if !isHex(rev) {
		return "", fmt.Errorf("%q is not a commit id", rev)
	}
	var u string
	switch c.Host {
	case GitHub:
		u = fmt.Sprintf("%s/repos/%s/%s/commits/%s", c.apiBase(), url.PathEscape(owner), url.PathEscape(name), rev)
	case Gitea:
		u = fmt.Sprintf("%s/repos/%s/%s/git/commits/%s", c.apiBase(), url.PathEscape(owner), url.PathEscape(name), rev)
	case GitLab:
		u = fmt.Sprintf("%s/projects/%s/repository/commits/%s", c.apiBase(), url.PathEscape(repo), rev)
	case Bitbucket:
		u = fmt.Sprintf("%s/repositories/%s/%s/commit/%s", c.apiBase(), url.PathEscape(owner), url.PathEscape(name), rev)
	default:
		return "", fmt.Errorf("unknown git host %q", c.Host)
	}
	body, err := c.get(ctx, u)
	if err != nil {
		return "", err
	}
	var v struct {
		SHA  string `json:"sha"`
		ID   string `json:"id"`
		Hash string `json:"hash"`
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return "", fmt.Errorf("read commit %s: %v", rev, err)
	}
	full := first(v.SHA, v.Hash, v.ID)
	if (len(full) != 40 && len(full) != 64) || !isHex(full) || !strings.HasPrefix(full, rev) {
		return "", fmt.Errorf("the host answered %q for commit %s", full, rev)
	}
	return full, nil
}
