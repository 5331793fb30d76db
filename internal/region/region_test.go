package region_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/region"
)

func disk(t *testing.T) *artifact.Disk {
	t.Helper()
	d, err := artifact.NewDisk(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestParseFlag(t *testing.T) {
	for _, c := range []struct{ in, name, store, err string }{
		{"local", "local", "", ""},
		{"eu-west-1=/srv/eu", "eu-west-1", "/srv/eu", ""},
		{"eu=s3://b/p?endpoint=h:1", "eu", "s3://b/p?endpoint=h:1", ""},
		{"eu=", "", "", `--region "eu=": want NAME=STORE`},
		{"EU=/x", "", "", `--region "EU=/x": a region name is lower-case`},
		{"=/x", "", "", `--region "=/x": a region name`},
	} {
		name, store, err := region.ParseFlag(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || name != c.name || store != c.store {
			t.Errorf("%q = %q, %q, %v", c.in, name, store, err)
		}
	}
}

// Actions of one execution staging the same input at once make one copy;
// a set that starts again (a restarted server) finds the checked copy in
// place and makes none; a region without a store says which and why.
func TestStageOnce(t *testing.T) {
	ctx := context.Background()
	home, eu := disk(t), disk(t)
	if _, err := home.Put(ctx, "e1/app/j1.zip", strings.NewReader("artifact")); err != nil {
		t.Fatal(err)
	}
	set := region.New("local", home, []region.Region{{Name: "eu", Store: eu, Location: "/eu"}, {Name: "gone", Location: "/gone", Err: errors.New("permission denied")}})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := set.Stage(ctx, "eu", []string{"e1/app/j1.zip"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if set.Copies() != 1 {
		t.Errorf("copies = %d, want 1", set.Copies())
	}
	if err := set.Stage(ctx, "local", []string{"e1/app/j1.zip"}); err != nil || set.Copies() != 1 {
		t.Errorf("the home region copied: %v, %d", err, set.Copies())
	}
	again := region.New("local", home, []region.Region{{Name: "eu", Store: eu, Location: "/eu"}})
	if err := again.Stage(ctx, "eu", []string{"e1/app/j1.zip"}); err != nil || again.Copies() != 0 {
		t.Errorf("after a restart: %v, %d copies", err, again.Copies())
	}
	err := set.Stage(ctx, "gone", []string{"e1/app/j1.zip"})
	if err == nil || !strings.Contains(err.Error(), "region gone: artifact store /gone: permission denied") {
		t.Errorf("a region without a store: %v", err)
	}
	err = set.Stage(ctx, "eu", []string{"e1/app/missing.zip"})
	if !errors.Is(err, artifact.ErrNotFound) || !strings.Contains(err.Error(), "region eu: artifact store /eu: input artifact e1/app/missing.zip") {
		t.Errorf("a missing source: %v", err)
	}
	if _, err := set.Store("mars"); err == nil {
		t.Error("an undeclared region has a store")
	}
	if got := set.Names(); strings.Join(got, ",") != "local,eu,gone" {
		t.Errorf("names = %v", got)
	}
}
