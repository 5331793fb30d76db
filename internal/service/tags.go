package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/sluice-ci/sluice/internal/store"
)

// Tags are CodePipeline's labels on resources (TagResource): kept by the
// resource's ARN, shown back, and otherwise meaning nothing to sluice.

// MaxTags is how many tags one resource may have, as CodePipeline allows.
const MaxTags = 50

// ResourceTags returns the tags of the resource named arn.
func (s *Service) ResourceTags(ctx context.Context, arn string) (map[string]string, error) {
	row, err := s.store.Definition(ctx, store.KindTags, arn)
	if errors.Is(err, store.ErrNotFound) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	if err := json.Unmarshal(row.Document, &tags); err != nil {
		return nil, fmt.Errorf("tags of %s: %w", arn, err)
	}
	return tags, nil
}

// TagResource adds tags to (or, with remove, takes keys from) the
// resource named arn, which the caller has found to exist.
func (s *Service) TagResource(ctx context.Context, arn string, add map[string]string, remove []string) error {
	for k, v := range add {
		if k == "" || utf8.RuneCountInString(k) > 128 || utf8.RuneCountInString(v) > 256 {
			return Errorf(CodeInvalid, "tags: key %q: keys are 1 to 128 characters, values at most 256", k)
		}
	}
	tags, err := s.ResourceTags(ctx, arn)
	if err != nil {
		return err
	}
	for k, v := range add {
		tags[k] = v
	}
	for _, k := range remove {
		delete(tags, k)
	}
	if len(tags) > MaxTags {
		return Errorf(CodeConflict, "tags: %s would have %d tags; at most %d", arn, len(tags), MaxTags)
	}
	if len(tags) == 0 {
		err := s.store.DeleteDefinition(ctx, store.KindTags, arn)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	doc, err := json.Marshal(tags)
	if err != nil {
		return err
	}
	now := s.now()
	return s.store.PutDefinition(ctx, store.Definition{Kind: store.KindTags, Name: arn, Document: doc, Created: now, Updated: now})
}
