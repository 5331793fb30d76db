package server

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/artifact"
	"github.com/sluice-ci/sluice/internal/artifact/s3"
	"github.com/sluice-ci/sluice/internal/region"
)

// openRegions opens the artifact store of each region cfg.Regions declares
// (NAME=STORE, from --region) beside the home one, whose store is home. A
// value that is malformed, repeats a name or names a store that cannot be a
// store fails the start with the flag and value; a store that is well
// formed but does not answer does not: the region is declared, and its
// actions fail with that reason, while the rest of the server works.
func openRegions(ctx context.Context, cfg Config, home artifact.Store) (*region.Set, []io.Closer, error) {
	homeName := cfg.Region
	if homeName == "" {
		homeName = "local"
	}
	seen := map[string]bool{homeName: true}
	var others []region.Region
	var closers []io.Closer
	for _, v := range cfg.Regions {
		name, url, err := region.ParseFlag(v)
		if err == nil && url == "" {
			err = fmt.Errorf("--region %q: the home region is named once (--region %s); another region needs its store: --region %s=DIR or =s3://BUCKET/PREFIX", v, homeName, name)
		}
		if err == nil && seen[name] {
			err = fmt.Errorf("--region %q: region %s is declared twice", v, name)
		}
		if err != nil {
			return nil, closers, err
		}
		seen[name] = true
		r := region.Region{Name: name, Location: url}
		switch {
		case strings.HasPrefix(url, "s3://"):
			sc, err := s3.ParseURL(url)
			if err != nil {
				return nil, closers, fmt.Errorf("--region %q: %w", v, err)
			}
			sc.AccessKey, sc.SecretKey = cfg.S3AccessKey, cfg.S3SecretKey
			st, err := s3.New(sc)
			if err != nil {
				return nil, closers, fmt.Errorf("--region %q: %w", v, err)
			}
			r.Store, r.Location = st, sc.String()
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			if err := st.Check(cctx); err != nil {
				r.Err = err
				cfg.Logger.Warn("region's artifact store not reachable: its actions fail until it is", "region", name, "store", r.Location, "err", err)
			}
			cancel()
		case strings.Contains(url, "://"):
			return nil, closers, fmt.Errorf("--region %q: a store is a directory or s3://BUCKET/PREFIX?endpoint=HOST:PORT&region=R&tls=false", v)
		default:
			// Jobs' paths must be absolute (see Open).
			dir, err := filepath.Abs(url)
			if err != nil {
				return nil, closers, fmt.Errorf("--region %q: %w", v, err)
			}
			r.Location = dir
			disk, err := artifact.NewDisk(dir)
			if err != nil {
				r.Err = err
				cfg.Logger.Warn("region's artifact store not usable: its actions fail until the server restarts with it", "region", name, "store", url, "err", err)
			} else {
				r.Store = disk
				closers = append(closers, disk)
			}
		}
		others = append(others, r)
	}
	return region.New(homeName, home, others), closers, nil
}
