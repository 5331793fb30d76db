package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// ConfigConnection is the configuration key naming the aws connection an
// action uses (a sluice key; CodePipeline uses the pipeline's account).
const ConfigConnection = "Connection"

// CodePipeline's S3 action keys: a deploy action's, and a source action's.
var (
	s3DeployKeys = []string{"BucketName", "Extract", "ObjectKey", "CannedACL", "CacheControl", "KMSEncryptionKeyARN", ConfigConnection}
	s3SourceKeys = []string{"S3Bucket", "S3ObjectKey", "PollForSourceChanges", "AllowOverrideForS3ObjectKey", ConfigConnection}
	// S3CannedACLs are the canned ACLs an S3 deploy action may give.
	S3CannedACLs = []string{"private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read", "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write"}
)

// s3Config checks an S3 action's configuration: a source action's (it
// names S3Bucket or S3ObjectKey), with both required, or a deploy action's,
// with BucketName and Extract required, and ObjectKey too when Extract is
// false.
func s3Config(cfg map[string]string) []ConfigProblem {
	_, b := cfg["S3Bucket"]
	_, k := cfg["S3ObjectKey"]
	if b || k {
		return s3SourceConfig(cfg)
	}
	out := unknownKeysSuggest(cfg, s3DeployKeys)
	for _, k := range []string{"BucketName", "Extract"} {
		if _, ok := cfg[k]; !ok {
			out = append(out, ConfigProblem{Key: k, Msg: "required by an S3 deploy action"})
		}
	}
	extract, hasExtract := cfg["Extract"]
	if hasExtract && !hasVariables(extract) && extract != "true" && extract != "false" {
		out = append(out, ConfigProblem{Key: "Extract", Msg: fmt.Sprintf("%q is not true or false", extract)})
	}
	if extract == "false" && cfg["ObjectKey"] == "" {
		out = append(out, ConfigProblem{Key: "ObjectKey", Msg: "required when Extract is false: the key the artifact is uploaded as"})
	}
	if b := cfg["BucketName"]; b != "" && !hasVariables(b) && (len(b) < 3 || len(b) > 63 || strings.ContainsAny(b, "/ ")) {
		out = append(out, ConfigProblem{Key: "BucketName", Msg: fmt.Sprintf("%q is not a bucket name", b)})
	}
	if acl, ok := cfg["CannedACL"]; ok && !hasVariables(acl) && !slices.Contains(S3CannedACLs, acl) {
		out = append(out, ConfigProblem{Key: "CannedACL", Msg: fmt.Sprintf("%q is not a canned ACL (%s)%s", acl, strings.Join(S3CannedACLs, ", "), didYouMean(acl, S3CannedACLs))})
	}
	return out
}

func s3SourceConfig(cfg map[string]string) []ConfigProblem {
	out := unknownKeysSuggest(cfg, s3SourceKeys)
	for _, k := range []string{"S3Bucket", "S3ObjectKey"} {
		if cfg[k] == "" {
			out = append(out, ConfigProblem{Key: k, Msg: "required by an S3 source action"})
		}
	}
	for _, k := range []string{"PollForSourceChanges", "AllowOverrideForS3ObjectKey"} {
		if v, ok := cfg[k]; ok && !hasVariables(v) && v != "true" && v != "false" {
			out = append(out, ConfigProblem{Key: k, Msg: fmt.Sprintf("%q is not true or false", v)})
		}
	}
	if b := cfg["S3Bucket"]; b != "" && !hasVariables(b) && (len(b) < 3 || len(b) > 63 || strings.ContainsAny(b, "/ ")) {
		out = append(out, ConfigProblem{Key: "S3Bucket", Msg: fmt.Sprintf("%q is not a bucket name", b)})
	}
	return out
}

// unknownKeysSuggest is unknownKeys with a did-you-mean for a likely typo.
func unknownKeysSuggest(cfg map[string]string, known []string) []ConfigProblem {
	var out []ConfigProblem
	for _, k := range sortedKeys(cfg) {
		if !slices.Contains(known, k) {
			out = append(out, ConfigProblem{Key: k, Msg: fmt.Sprintf("unknown configuration key%s (this provider reads %s)", didYouMean(k, known), strings.Join(known, ", "))})
		}
	}
	return out
}

func didYouMean(word string, known []string) string {
	if s := yamlnode.Suggest(word, known); s != "" {
		return fmt.Sprintf(" (did you mean %q?)", s)
	}
	return ""
}
