package cli

import (
	"testing"
	"time"
)

func TestParseLifetime(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"720h", 720 * time.Hour, true},
		{"30d", 30 * 24 * time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"1d", 24 * time.Hour, true},
		{"0d", 0, false},
		{"-1h", 0, false},
		{"d", 0, false},
		{"1.5d", 0, false},
		{"soon", 0, false},
		{"99999999d", 0, false},
	} {
		got, err := parseLifetime(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseLifetime(%q) = %v, %v; want %v ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
