package eventpattern

import (
	"slices"
	"strings"
	"sync"
)

// Set matches an event against many named patterns at once. Most patterns
// require some field to hold one of a few exact strings (a detail-type, a
// source, a pipeline's name); the set indexes each pattern under the most
// selective such field, so that an event is checked only against the
// patterns whose indexed value it holds, plus the few that have none.
//
// A Set is safe for concurrent use; the index is rebuilt, on the next
// Matching, after Add or Remove.
type Set struct {
	mu       sync.RWMutex
	patterns map[string]*Pattern
	idx      *index // nil when stale
}

type index struct {
	paths    [][]string           // the indexed event paths
	buckets  []map[string][]int32 // per path: value → entries
	entries  []setEntry
	fallback []int32
}

type setEntry struct {
	name string
	p    *Pattern
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{patterns: map[string]*Pattern{}} }

// Add adds or replaces the pattern of name.
func (s *Set) Add(name string, p *Pattern) {
	s.mu.Lock()
	s.patterns[name] = p
	s.idx = nil
	s.mu.Unlock()
}

// Remove removes the pattern of name, if any.
func (s *Set) Remove(name string) {
	s.mu.Lock()
	delete(s.patterns, name)
	s.idx = nil
	s.mu.Unlock()
}

// Len is the number of patterns in the set.
func (s *Set) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.patterns)
}

// Matching returns the names of the patterns the event matches, sorted.
func (s *Set) Matching(event map[string]any) []string {
	idx := s.index()
	var cand []int32
	for i, path := range idx.paths {
		b := idx.buckets[i]
		valuesAt(event, path, func(v string) {
			cand = append(cand, b[v]...)
		})
	}
	cand = append(cand, idx.fallback...)
	if len(cand) == 0 {
		return nil
	}
	slices.Sort(cand)
	var out []string
	prev := int32(-1)
	for _, c := range cand {
		if c == prev {
			continue
		}
		prev = c
		if e := idx.entries[c]; e.p.Match(event) {
			out = append(out, e.name)
		}
	}
	return out
}

func (s *Set) index() *index {
	s.mu.RLock()
	idx := s.idx
	s.mu.RUnlock()
	if idx != nil {
		return idx
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.idx == nil {
		s.idx = buildIndex(s.patterns)
	}
	return s.idx
}

// candidate is a field a pattern requires to hold one of some exact strings.
type candidate struct {
	path   string // dotted, as a map key
	values []string
}

func buildIndex(patterns map[string]*Pattern) *index {
	names := make([]string, 0, len(patterns))
	for n := range patterns {
		names = append(names, n)
	}
	slices.Sort(names) // entries in name order: Matching's output is sorted
	idx := &index{}
	cands := make([][]candidate, len(names))
	count := map[string]int{} // path + "\x00" + value → patterns requiring it
	for i, n := range names {
		p := patterns[n]
		idx.entries = append(idx.entries, setEntry{name: n, p: p})
		cands[i] = p.root.candidates("", nil)
		for _, c := range cands[i] {
			for _, v := range c.values {
				count[c.path+"\x00"+v]++
			}
		}
	}
	pathIndex := map[string]int{}
	for i, cs := range cands {
		if len(cs) == 0 {
			idx.fallback = append(idx.fallback, int32(i))
			continue
		}
		// The candidate whose values the fewest other patterns share.
		best, bestCost := 0, -1
		for j, c := range cs {
			cost := 0
			for _, v := range c.values {
				cost += count[c.path+"\x00"+v]
			}
			if bestCost < 0 || cost < bestCost {
				best, bestCost = j, cost
			}
		}
		c := cs[best]
		pi, ok := pathIndex[c.path]
		if !ok {
			pi = len(idx.paths)
			pathIndex[c.path] = pi
			idx.paths = append(idx.paths, strings.Split(c.path, "\x00"))
			idx.buckets = append(idx.buckets, map[string][]int32{})
		}
		for _, v := range dedupe(c.values) {
			idx.buckets[pi][v] = append(idx.buckets[pi][v], int32(i))
		}
	}
	return idx
}

func dedupe(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}

// candidates lists the fields an object requires to hold exact strings:
// fields outside $or whose list of values is nothing but strings. Paths are
// keys joined by NUL (keys may hold dots).
func (o *object) candidates(prefix string, out []candidate) []candidate {
	for _, f := range o.fields {
		path := f.key
		if prefix != "" {
			path = prefix + "\x00" + f.key
		}
		if f.obj != nil {
			out = f.obj.candidates(path, out)
			continue
		}
		l := f.leaf
		if len(l.strs) > 0 && len(l.nums) == 0 && !l.hasTrue && !l.hasFalse && !l.hasNull &&
			len(l.ops) == 0 && !l.existsTrue && !l.existsFalse {
			out = append(out, candidate{path: path, values: l.strs})
		}
	}
	return out
}

// valuesAt calls fn with every string at path in the event, looking into
// lists on the way and at the end.
func valuesAt(v any, path []string, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		if len(path) == 0 {
			return
		}
		next, ok := x[path[0]]
		if !ok {
			return
		}
		valuesAt(next, path[1:], fn)
	case []any:
		for _, e := range x {
			valuesAt(e, path, fn)
		}
	case string:
		if len(path) == 0 {
			fn(x)
		}
	}
}

// Requires returns the exact strings the event's top-level field key must
// hold for the pattern to match it, and true; or false when the pattern
// lets that field hold anything else too (it names no such field, or
// matches it otherwise than by exact strings, or only within a "$or").
// The rule runner reads only the kinds of events its rules can match.
func (p *Pattern) Requires(key string) ([]string, bool) {
	for _, c := range p.root.candidates("", nil) {
		if c.path == key {
			return dedupe(c.values), true
		}
	}
	return nil, false
}
