package yamlnode

import (
	"sort"
	"strconv"
	"strings"
)

// Error is one problem in a declaration. Path names the field the way a user
// would find it in their file (stages[1].actions[0].provider), so that File,
// Line and Path together point at what to fix.
type Error struct {
	File string
	Line int
	Path string
	Msg  string
}

// Error formats e as file:line: path: msg, leaving out the parts that are empty.
func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		b.WriteString(e.File)
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	case e.File != "":
		b.WriteString(e.File)
		b.WriteString(": ")
	case e.Line > 0:
		b.WriteString("line ")
		b.WriteString(strconv.Itoa(e.Line))
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList holds every problem found in a declaration, so a user can fix them
// all in one round instead of one per attempt.
type ErrorList []*Error

// Error returns one message per line.
func (l ErrorList) Error() string {
	if len(l) == 0 {
		return "no errors"
	}
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Unwrap lets errors.As find the individual *Error values.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// Err returns l as an error, or nil when l is empty. It exists because a nil
// ErrorList stored in an error interface is not a nil error.
func (l ErrorList) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Add adds a problem at path, with no file or line yet (FileDecoder.Place
// gives them).
func (l *ErrorList) Add(path, msg string) {
	*l = append(*l, &Error{Path: path, Msg: msg})
}

// SortByLine orders errors as they appear in the file. Errors without a line
// (which only happens when nothing in the file could be located) go last.
func (l ErrorList) SortByLine() {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Line, l[j].Line
		if a == 0 || b == 0 {
			return a != 0 && b == 0
		}
		return a < b
	})
}
