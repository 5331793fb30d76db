package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/sluice-ci/sluice/internal/store"
)

func exerciseBuildNumbers(t *testing.T, open Open) {
	parallel(t, open, []test{
		{"CountFromOne", testBuildNumbers},
	})
}

// testBuildNumbers: each project counts its builds from 1, and concurrent
// callers get distinct numbers.
func testBuildNumbers(t *testing.T, s store.Store) {
	ctx := context.Background()
	for want := int64(1); want <= 3; want++ {
		n, err := s.NextBuildNumber(ctx, "app")
		must(t, err)
		if n != want {
			t.Fatalf("build number %d, want %d", n, want)
		}
	}
	if n, err := s.NextBuildNumber(ctx, "other"); err != nil || n != 1 {
		t.Fatalf("another project's first build number = %d, %v", n, err)
	}
	const callers = 8
	got := make(chan int64, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, err := s.NextBuildNumber(ctx, "app")
			if err != nil {
				t.Error(err)
			}
			got <- n
		}()
	}
	wg.Wait()
	close(got)
	seen := map[int64]bool{}
	for n := range got {
		if seen[n] || n < 4 || n > 3+callers {
			t.Fatalf("concurrent build numbers: %d given twice or out of 4-%d", n, 3+callers)
		}
		seen[n] = true
	}
}
