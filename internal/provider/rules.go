package provider

import (
	"fmt"
	"strconv"
	"time"
)

// RuleFailedError marks a rule's error as its verdict (the alarm is in a
// watched state, the metric is past its threshold) rather than a failure
// to evaluate it: a deployment group's alarm watch tells the two apart.
type RuleFailedError struct{ Err error }

func (e *RuleFailedError) Error() string { return e.Err.Error() }
func (e *RuleFailedError) Unwrap() error { return e.Err }

// RuleFailed marks err as a rule's verdict.
func RuleFailed(err error) error { return &RuleFailedError{Err: err} }

// WaitTime is a condition rule's WaitTime: how long, in whole minutes, its
// verdict must hold (0 when the key is absent).
func WaitTime(cfg map[string]string) (time.Duration, error) {
	w := cfg["WaitTime"]
	if w == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(w)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("WaitTime %q is not a number of minutes", w)
	}
	return time.Duration(n) * time.Minute, nil
}
