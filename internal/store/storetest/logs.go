package storetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/sluice-ci/sluice/internal/store"
)

// exerciseLogs runs the contract of job logs.
func exerciseLogs(t *testing.T, open Open) {
	parallel(t, open, []test{
		{"Logs", testLogs},
	})
}

func testLogs(t *testing.T, s store.Store) {
	ctx := context.Background()
	// A long log is read in pieces of about MaxLogRead.
	big := bytes.Repeat([]byte("x"), 1<<20)
	for range 10 {
		must(t, s.AppendLog(ctx, "big", big))
	}
	var total int64
	for {
		got, err := s.Log(ctx, "big", total)
		must(t, err)
		if len(got) == 0 {
			break
		}
		if len(got) > store.MaxLogRead+len(big) {
			t.Fatalf("one read returned %d bytes", len(got))
		}
		total += int64(len(got))
	}
	if total != 10<<20 {
		t.Fatalf("read %d bytes of a 10 MiB log", total)
	}
	for _, chunk := range []string{"hello ", "", "world\n", "bye\n"} {
		must(t, s.AppendLog(ctx, "j", []byte(chunk)))
	}
	for off, want := range map[int64]string{0: "hello world\nbye\n", 3: "lo world\nbye\n", 6: "world\nbye\n", 16: "", 99: ""} {
		got, err := s.Log(ctx, "j", off)
		must(t, err)
		if string(got) != want {
			t.Errorf("Log from %d = %q, want %q", off, got, want)
		}
	}
}
