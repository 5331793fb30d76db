// Package startgc keeps Go's garbage collector from running while a sluice
// command starts. Every package linked into the one binary runs its init at
// every start (the AWS SDK's endpoint tables, the console's templates …),
// allocating a few megabytes that stay live; the first collection then
// came during init or soon after and, with a 60 MB binary's globals to
// scan, cost a command like `sluice --help` a sixth of its CPU while freeing
// almost nothing.
//
// Its init turns the collector off, with a soft memory limit as the bound,
// before the heavy packages initialise: this package imports only the
// runtime, so Go initialises it as soon as the runtime is (packages are
// initialised in import-path order among those whose imports are ready).
// A short command then ends without a collection; a command that runs long
// (the server, a worker, a build) calls Restore to collect as usual. GOGC
// or GOMEMLIMIT in the environment leaves the collector as they say.
package startgc

import (
	"math"
	"os"
	"runtime/debug"
)

// limit bounds the heap while the collector is off: a command that
// allocates more than this (following a long log, say) is collected again,
// as it would be with GOGC=off GOMEMLIMIT=64MiB.
const limit = 64 << 20

var (
	held       bool
	oldPercent int
)

func init() {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	held = true
	debug.SetMemoryLimit(limit)
	oldPercent = debug.SetGCPercent(-1)
}

// Restore gives the collector back its settings from before init: for
// commands that run long or allocate much.
func Restore() {
	if !held {
		return
	}
	held = false
	debug.SetGCPercent(oldPercent)
	debug.SetMemoryLimit(math.MaxInt64)
}
