package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sluice-ci/sluice/internal/api"
	"github.com/sluice-ci/sluice/internal/api/client"
	"github.com/sluice-ci/sluice/internal/auth"
	"github.com/sluice-ci/sluice/internal/iam"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/store"
)

// ListPipelines pages by name with maxResults and nextToken; every pipeline
// appears once, in order, and a page's token reads the next page only.
func TestListPipelinesPages(t *testing.T) {
	ctx := context.Background()
	st, svc := newService(t)
	if err := st.PutToken(ctx, store.Token{Name: "reader", Hash: auth.HashToken("read-token"), Policy: iam.PolicyRead}); err != nil {
		t.Fatal(err)
	}
	// Names whose byte order differs from a case-folding collation's.
	names := []string{"B-app", "a-app", "b-app", "c.app", "Z", "a_app", "m"}
	for _, n := range names {
		p, err := pipeline.Parse("p.yml", []byte(fmt.Sprintf("name: %s\nstages: [{name: S, actions: [{name: a, provider: Noop}]}]\n", n)))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.ApplyPipeline(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(api.New(svc, st, nil, slog.New(slog.NewTextHandler(io.Discard, nil))))
	t.Cleanup(srv.Close)
	c := client.New(srv.URL, "read-token")

	all, err := c.Pipelines(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, p := range all {
		want = append(want, p.Name)
	}
	if len(want) != len(names) {
		t.Fatalf("unpaged list: %v", want)
	}
	var got []string
	tok, pages := "", 0
	for {
		page, next, err := c.PipelinePage(ctx, 3, tok)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) > 3 {
			t.Fatalf("page of %d for maxResults 3", len(page))
		}
		for _, p := range page {
			got = append(got, p.Name)
		}
		pages++
		if next == "" {
			break
		}
		if pages > len(names) {
			t.Fatal("paging does not end")
		}
		tok = next
	}
	if strings.Join(got, ",") != strings.Join(want, ",") || pages != 3 {
		t.Fatalf("pages gave %v in %d pages, the unpaged list %v", got, pages, want)
	}
	// The default page holds them all, with no token after it.
	page, next, err := c.PipelinePage(ctx, 0, "")
	if err != nil || len(page) != len(names) || next != "" {
		t.Fatalf("default page: %d pipelines, next %q, %v", len(page), next, err)
	}

	for _, bad := range []struct {
		max        int
		tok, field string
	}{
		{1001, "", "maxResults"},
		{-1, "", "maxResults"},
		{2, "not-a-token", "nextToken"},
		{2, "p1.!!!", "nextToken"},
	} {
		_, _, err := c.PipelinePage(ctx, bad.max, bad.tok)
		if err == nil || !strings.Contains(err.Error(), bad.field+":") {
			t.Errorf("maxResults %d nextToken %q: want an error naming %s, got %v", bad.max, bad.tok, bad.field, err)
		}
	}
}
