// Package shellword writes strings as POSIX shell words.
package shellword

import "strings"

// Quote makes s one single-quoted shell word, taken literally by sh, bash
// and dash alike (also as a case pattern): nothing inside single quotes is
// special except the quote itself, which is closed, escaped and reopened.
func Quote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
