package iam

import "sync"

// Policies turns a token's policy into a Policy: its stored document, or the
// ready-made policy it names. Parsed documents are kept, so that a token is
// not parsed again on every request. The zero value is ready to use; it is
// safe for concurrent use.
type Policies struct {
	mu     sync.Mutex
	parsed map[string]*Policy // by the document's text
}

// maxCachedPolicies bounds the parsed documents kept; there are as many as
// tokens with a document of their own, so the bound is rarely reached.
const maxCachedPolicies = 1024

// Of returns the policy of a token whose policy is name and, for a custom
// one, document (JSON). A ready-made name sluice does not know gives nil:
// nothing allowed. A document that no longer parses is an error.
func (c *Policies) Of(name, document string) (*Policy, error) {
	if document == "" {
		p, _ := ReadyMade(name)
		return p, nil
	}
	c.mu.Lock()
	p, ok := c.parsed[document]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	p, err := Parse(name+".json", []byte(document))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.parsed == nil || len(c.parsed) >= maxCachedPolicies {
		c.parsed = map[string]*Policy{}
	}
	c.parsed[document] = p
	c.mu.Unlock()
	return p, nil
}
