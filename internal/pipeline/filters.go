package pipeline

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Trigger filters use the glob syntax CodePipeline documents for them, which
// is Java's (java.nio.file.FileSystem.getPathMatcher):
//
//	*        any run of characters within one path segment (not "/")
//	**       any run of characters, "/" included
//	?        one character other than "/"
//	[abc]    one character of a set; [a-z] a range; [!a-z] (or [^a-z]) any
//	         other character; "/" never matches. Inside brackets *, ? and \
//	         stand for themselves, and "-" does when it comes first or last.
//	{a,b*}   any of the comma-separated sub-patterns; groups do not nest
//	\x       the character x itself
//
// One extension, which is how people read such patterns and how gitignore and
// GitHub Actions behave: a "**/" that begins the pattern or follows a "/" also
// matches no directory at all, so "**/README.md" matches "README.md" as well
// as "docs/README.md", and "src/**/*.go" matches "src/main.go".
//
// Patterns are translated to regular expressions, whose matching takes time
// linear in the input whatever the pattern, so a hostile pattern cannot make
// a push expensive to filter.

// Match reports whether value passes the filter: it matches no exclude, and
// it matches an include or there are no includes. A nil filter passes
// everything. A pattern that is not a valid glob matches nothing (Validate
// refuses such patterns).
func (f *GitFilter) Match(value string) bool {
	if f == nil {
		return true
	}
	return compileFilter(f).match(value)
}

// Match reports whether a push passes this filter: every part it gives must
// match. Branches match the pushed branch, so a tag push never passes a
// filter with branches; tags match the pushed tag, so a branch push never
// passes a filter with tags; filePaths pass when any changed file passes. A
// filter that gives nothing passes every push. branch and tag are short
// names ("main", "v1.2"), not refs/heads/main.
func (p GitPushFilter) Match(branch, tag string, files []string) bool {
	if p.Tags != nil && (tag == "" || !p.Tags.Match(tag)) {
		return false
	}
	if p.Branches != nil && (branch == "" || !p.Branches.Match(branch)) {
		return false
	}
	if p.FilePaths != nil {
		// Compiled once: a push can change thousands of files.
		c := compileFilter(p.FilePaths)
		for _, f := range files {
			if c.match(f) {
				return true
			}
		}
		return false
	}
	return true
}

// Match reports whether a pull request's change passes this filter: its
// event is among Events (any, when there are none), its destination branch
// passes Branches, and any of its changed files passes FilePaths. files nil
// means they are not known, which passes no FilePaths filter. branch is a
// short name ("main").
func (p GitPullRequestFilter) Match(event, branch string, files []string) bool {
	if len(p.Events) > 0 && !slices.Contains(p.Events, event) {
		return false
	}
	if p.Branches != nil && !p.Branches.Match(branch) {
		return false
	}
	if p.FilePaths != nil {
		c := compileFilter(p.FilePaths)
		for _, f := range files {
			if c.match(f) {
				return true
			}
		}
		return false
	}
	return true
}

type compiledFilter struct {
	includes, excludes []*regexp.Regexp
	// anyInclude is true when the filter has no includes, and so
	// includes everything.
	anyInclude bool
}

func compileFilter(f *GitFilter) compiledFilter {
	c := compiledFilter{anyInclude: len(f.Includes) == 0}
	for _, p := range f.Includes {
		if re, err := compileGlob(p); err == nil {
			c.includes = append(c.includes, re)
		}
	}
	for _, p := range f.Excludes {
		if re, err := compileGlob(p); err == nil {
			c.excludes = append(c.excludes, re)
		}
	}
	return c
}

func (c compiledFilter) match(value string) bool {
	for _, re := range c.excludes {
		if re.MatchString(value) {
			return false
		}
	}
	if c.anyInclude {
		return true
	}
	for _, re := range c.includes {
		if re.MatchString(value) {
			return true
		}
	}
	return false
}

// compileGlob translates a glob into an anchored regular expression.
func compileGlob(pattern string) (*regexp.Regexp, error) {
	if pattern == "" {
		return nil, errors.New("empty pattern")
	}
	if !utf8.ValidString(pattern) {
		return nil, errors.New("not valid UTF-8")
	}
	var b strings.Builder
	b.WriteString(`^`)
	inGroup := false
	for i := 0; i < len(pattern); {
		r, size := utf8.DecodeRuneInString(pattern[i:])
		switch r {
		case '\\':
			if i+size >= len(pattern) {
				return nil, errors.New(`ends with a lone \ (escape it as \\)`)
			}
			next, nsize := utf8.DecodeRuneInString(pattern[i+size:])
			b.WriteString(regexp.QuoteMeta(string(next)))
			i += size + nsize
			continue
		case '*':
			j := i
			for j < len(pattern) && pattern[j] == '*' {
				j++
			}
			switch {
			case j-i == 1:
				b.WriteString(`[^/]*`)
			case (i == 0 || pattern[i-1] == '/') && j < len(pattern) && pattern[j] == '/':
				// "**/" at the start of a segment: any number of
				// directories, none included.
				b.WriteString(`(?:.*/)?`)
				j++
			default:
				b.WriteString(`.*`)
			}
			i = j
			continue
		case '?':
			b.WriteString(`[^/]`)
		case '[':
			class, n, err := globClass(pattern[i:])
			if err != nil {
				return nil, err
			}
			b.WriteString(class)
			i += n
			continue
		case '{':
			if inGroup {
				return nil, errors.New("groups { } cannot be nested")
			}
			inGroup = true
			b.WriteString(`(?:`)
		case '}':
			if !inGroup {
				return nil, errors.New(`} without a { before it (escape it as \})`)
			}
			inGroup = false
			b.WriteString(`)`)
		case ',':
			if inGroup {
				b.WriteString(`|`)
			} else {
				b.WriteString(`,`)
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
		i += size
	}
	if inGroup {
		return nil, errors.New("unclosed { (a group ends with })")
	}
	b.WriteString(`$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		// The translation only writes what regexp accepts; this is a
		// guard, not an expected path.
		return nil, fmt.Errorf("cannot compile: %v", err)
	}
	return re, nil
}

// globClass translates the bracket expression at the start of s and returns
// it with the number of bytes it took.
func globClass(s string) (string, int, error) {
	i := 1
	negate := false
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		negate = true
		i++
	}
	var members []rune
	start := i
	closed := false
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == ']' && i > start {
			closed = true
			i += size
			break
		}
		if r == ']' {
			// "[]" or "[!]": CodePipeline's Java glob has no way to
			// put ] first, so it is an empty set, which is an error.
			return "", 0, errors.New("empty character class []")
		}
		members = append(members, r)
		i += size
	}
	if !closed {
		return "", 0, errors.New("unclosed [ (a character class ends with ])")
	}
	var b strings.Builder
	b.WriteString("[")
	if negate {
		b.WriteString("^/")
	}
	for k := 0; k < len(members); k++ {
		lo := members[k]
		if lo == '/' {
			return "", 0, errors.New("a character class cannot match /")
		}
		// "-" between two members makes a range; first or last it is
		// itself.
		if k+2 < len(members) && members[k+1] == '-' {
			hi := members[k+2]
			if hi == '/' || (lo < '/' && hi > '/') {
				return "", 0, errors.New("a character class cannot match /")
			}
			if lo > hi {
				return "", 0, fmt.Errorf("range %c-%c runs backwards", lo, hi)
			}
			fmt.Fprintf(&b, `\x{%x}-\x{%x}`, lo, hi)
			k += 2
			continue
		}
		fmt.Fprintf(&b, `\x{%x}`, lo)
	}
	b.WriteString("]")
	return b.String(), i, nil
}
