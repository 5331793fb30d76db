// Package arch holds no code: its test checks that sluice's packages import
// each other only downwards, in the layers docs/ARCHITECTURE.md draws.
package arch
