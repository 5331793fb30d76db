package engine

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sluice-ci/sluice/internal/errcode"
	"github.com/sluice-ci/sluice/internal/pipeline"
	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// CodePipeline's source revision types (SourceRevisionOverride.revisionType).
const (
	RevisionCommitID        = "COMMIT_ID"
	RevisionImageDigest     = "IMAGE_DIGEST"
	RevisionS3VersionID     = "S3_OBJECT_VERSION_ID"
	RevisionS3ObjectKey     = "S3_OBJECT_KEY"
	allowObjectKeyOverride  = "AllowOverrideForS3ObjectKey"
	revisionTypesForMessage = "COMMIT_ID, IMAGE_DIGEST, S3_OBJECT_VERSION_ID or S3_OBJECT_KEY"
)

// RevisionOverride is one of a manual start's source revisions, as
// CodePipeline's StartPipelineExecution takes them. An empty RevisionType
// is the one the action's provider pins by (the untyped form of sluice's
// own API and CLI).
type RevisionOverride struct {
	ActionName    string `json:"actionName"`
	RevisionType  string `json:"revisionType,omitempty"`
	RevisionValue string `json:"revisionValue"`
}

// Overrides turns the untyped form (action name → revision) into
// overrides whose type the provider decides, in action name order.
func Overrides(revisions map[string]string) []RevisionOverride {
	var out []RevisionOverride
	for _, a := range slices.Sorted(maps.Keys(revisions)) {
		out = append(out, RevisionOverride{ActionName: a, RevisionValue: revisions[a]})
	}
	return out
}

// OverridesOf gives back the overrides that pin what revs pinned (a
// restart on a new version starts from them).
func OverridesOf(revs []SourceRevision) []RevisionOverride {
	var out []RevisionOverride
	for _, r := range revs {
		if r.ObjectKey != "" {
			out = append(out, RevisionOverride{ActionName: r.ActionName, RevisionType: RevisionS3ObjectKey, RevisionValue: r.ObjectKey})
		}
		if r.RevisionID != "" {
			out = append(out, RevisionOverride{ActionName: r.ActionName, RevisionValue: r.RevisionID})
		}
	}
	return out
}

// revisionTypeOf is the type a provider's source revision has.
func revisionTypeOf(provider string) string {
	switch provider {
	case "S3":
		return RevisionS3VersionID
	case "ECR":
		return RevisionImageDigest
	}
	return RevisionCommitID
}

// pinRevisions checks the overrides against decl's source actions and
// returns what they pin, one SourceRevision per action in name order. An
// S3 source takes an S3_OBJECT_VERSION_ID, an S3_OBJECT_KEY (only where
// its configuration says AllowOverrideForS3ObjectKey: true), or both; an
// ECR source an IMAGE_DIGEST; any other a COMMIT_ID.
func pinRevisions(decl *pipeline.Pipeline, overrides []RevisionOverride) ([]SourceRevision, error) {
	byAction := map[string]*SourceRevision{}
	for i, o := range overrides {
		field := fmt.Sprintf("sourceRevisions[%d]", i)
		a := sourceActionOf(decl, o.ActionName)
		if a == nil {
			var sources []string
			for _, st := range decl.Stages {
				for _, x := range st.Actions {
					if x.ActionTypeID.Category == pipeline.CategorySource {
						sources = append(sources, x.Name)
					}
				}
			}
			var hints yamlnode.Hints
			return nil, errcode.Errorf(errcode.Invalid, "sourceRevisions: pipeline %s has no source action %s%s", decl.Name, o.ActionName, hints.DidYouMean(o.ActionName, sources))
		}
		provider := a.ActionTypeID.Provider
		typ := o.RevisionType
		if typ == "" {
			typ = revisionTypeOf(provider)
		}
		switch typ {
		case RevisionCommitID, RevisionImageDigest, RevisionS3VersionID, RevisionS3ObjectKey:
		default:
			return nil, errcode.Errorf(errcode.Invalid, "%s.revisionType: %q is not %s", field, o.RevisionType, revisionTypesForMessage)
		}
		fits := typ == revisionTypeOf(provider) || (provider == "S3" && typ == RevisionS3ObjectKey)
		if !fits {
			want := revisionTypeOf(provider)
			if provider == "S3" {
				want += " or " + RevisionS3ObjectKey
			}
			return nil, errcode.Errorf(errcode.Invalid, "%s.revisionType: %s does not fit action %s, a %s source: it takes %s", field, typ, a.Name, provider, want)
		}
		v := o.RevisionValue
		switch typ {
		case RevisionS3ObjectKey:
			if !strings.EqualFold(a.Configuration[allowObjectKeyOverride], "true") {
				return nil, errcode.Errorf(errcode.Invalid, "%s.revisionType: S3_OBJECT_KEY for action %s needs its configuration to say %s: true", field, a.Name, allowObjectKeyOverride)
			}
			if !isObjectKey(v) {
				return nil, errcode.Errorf(errcode.Invalid, "%s.revisionValue: %q for action %s is not an object key (1 to 1024 bytes of UTF-8, no control characters)", field, v, a.Name)
			}
		case RevisionS3VersionID:
			// An S3 source's revision is an object's version id, or its
			// ETag where the bucket keeps no versions.
			if !isObjectRevision(v) {
				return nil, errcode.Errorf(errcode.Invalid, "sourceRevisions: %q for action %s is not an object version id or ETag (1 to 1024 printable characters, no spaces)", v, a.Name)
			}
		case RevisionImageDigest:
			if !isImageDigest(v) {
				return nil, errcode.Errorf(errcode.Invalid, "sourceRevisions: %q for action %s is not an image digest (sha256: and 64 hexadecimal digits)", v, a.Name)
			}
		default:
			if !isRevisionID(v) {
				return nil, errcode.Errorf(errcode.Invalid, "sourceRevisions: %q for action %s is not a commit id (4 to 64 hexadecimal digits)", v, a.Name)
			}
		}
		r := byAction[a.Name]
		if r == nil {
			r = &SourceRevision{ActionName: a.Name}
			byAction[a.Name] = r
		}
		if typ == RevisionS3ObjectKey {
			if r.ObjectKey != "" {
				return nil, errcode.Errorf(errcode.Invalid, "%s: action %s is given an S3_OBJECT_KEY twice", field, a.Name)
			}
			r.ObjectKey = v
			if r.RevisionType == "" {
				r.RevisionType = typ
			}
			continue
		}
		if r.RevisionID != "" {
			return nil, errcode.Errorf(errcode.Invalid, "%s: action %s is given a %s twice", field, a.Name, typ)
		}
		r.RevisionID, r.RevisionType = v, typ
	}
	var pinned []SourceRevision
	for _, name := range slices.Sorted(maps.Keys(byAction)) {
		pinned = append(pinned, *byAction[name])
	}
	return pinned, nil
}

func sourceActionOf(decl *pipeline.Pipeline, name string) *pipeline.Action {
	for _, st := range decl.Stages {
		for i := range st.Actions {
			if a := &st.Actions[i]; a.Name == name && a.ActionTypeID.Category == pipeline.CategorySource {
				return a
			}
		}
	}
	return nil
}

// isObjectKey reports whether s can be an S3 object key: S3 takes any
// UTF-8 up to 1024 bytes; control characters are refused as well, since
// the key is written to logs and summaries.
func isObjectKey(s string) bool {
	if s == "" || len(s) > 1024 || !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if unicode.IsControl(c) {
			return false
		}
	}
	return true
}

// pinnedObjectKey is the object key an S3_OBJECT_KEY override gave source
// action name of e, or "".
func pinnedObjectKey(e *Execution, name string) string {
	for _, r := range e.SourceRevisions {
		if r.ActionName == name {
			return r.ObjectKey
		}
	}
	return ""
}
