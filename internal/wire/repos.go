package wire

import (
	"time"
)

// Repo is a hosted git repository (CodeCommit's repository).
type Repo struct {
	Name        string             `json:"name"`
	Description string             `json:"description,omitempty"`
	Created     time.Time          `json:"created"`
	Protections []BranchProtection `json:"protections"`
	// CloneURLPath is the clone URL's path on the server, e.g. /git/NAME.git.
	CloneURLPath string `json:"cloneUrlPath"`
	// CloneURL is the URL git clones and pushes: the server fills it in from the
	// request it answers, the Go client from its own base URL.
	CloneURL string `json:"cloneUrl"`
}

// BranchProtection is the rule for one branch of a repository.
type BranchProtection struct {
	Branch      string `json:"branch"`
	NoForcePush bool   `json:"noForcePush"`
	NoDelete    bool   `json:"noDelete"`
}

// CreateRepoRequest creates a repository.
type CreateRepoRequest struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
}
