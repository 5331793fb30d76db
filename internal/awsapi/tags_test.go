package awsapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline"
	"github.com/aws/aws-sdk-go-v2/service/codepipeline/types"
)

func TestSDKTagsAndWebhooks(t *testing.T) {
	f := start(t)
	k := f.keys(t, "ci", "admin")
	cp := f.client(k.AccessKeyID, k.SecretAccessKey)
	v := f.keys(t, "viewer", "viewer")
	viewer := f.client(v.AccessKeyID, v.SecretAccessKey)
	ctx := context.Background()
	if _, err := cp.CreatePipeline(ctx, createInput("app")); err != nil {
		t.Fatal(err)
	}
	arn := aws.String("arn:aws:codepipeline:us-east-1:000000000000:app")
	tags := func() string {
		t.Helper()
		out, err := viewer.ListTagsForResource(ctx, &codepipeline.ListTagsForResourceInput{ResourceArn: arn})
		if err != nil {
			t.Fatal(err)
		}
		var kv []string
		for _, tg := range out.Tags {
			kv = append(kv, aws.ToString(tg.Key)+"="+aws.ToString(tg.Value))
		}
		return strings.Join(kv, ",")
	}
	if got := tags(); got != "team=ci" {
		t.Fatalf("tags from CreatePipeline: %q", got)
	}
	if _, err := cp.TagResource(ctx, &codepipeline.TagResourceInput{ResourceArn: arn,
		Tags: []types.Tag{{Key: aws.String("env"), Value: aws.String("prod")}, {Key: aws.String("team"), Value: aws.String("release")}}}); err != nil {
		t.Fatal(err)
	}
	if got := tags(); got != "env=prod,team=release" {
		t.Fatalf("tags: %q", got)
	}
	if _, err := cp.UntagResource(ctx, &codepipeline.UntagResourceInput{ResourceArn: arn, TagKeys: []string{"team"}}); err != nil {
		t.Fatal(err)
	}
	if got := tags(); got != "env=prod" {
		t.Fatalf("tags after untag: %q", got)
	}
	if _, err := viewer.TagResource(ctx, &codepipeline.TagResourceInput{ResourceArn: arn,
		Tags: []types.Tag{{Key: aws.String("x"), Value: aws.String("y")}}}); errType(err) != "AccessDeniedException" {
		t.Fatalf("a viewer tagging: %v", err)
	}
	for arn, want := range map[string]string{
		"arn:aws:codepipeline:us-east-1:000000000000:nope": "ResourceNotFoundException",
		"arn:aws:codepipeline:eu-west-1:000000000000:app":  "InvalidArnException",
		"arn:aws:s3:::bucket":                              "InvalidArnException",
	} {
		if _, err := cp.ListTagsForResource(ctx, &codepipeline.ListTagsForResourceInput{ResourceArn: aws.String(arn)}); errType(err) != want {
			t.Errorf("tags of %s: %v, want %s", arn, err, want)
		}
	}

	// Webhooks are sluice's own, served at /webhooks/NAME; they start a
	// pipeline whose first stage has a source action.
	src := createInput("src")
	src.Pipeline.Stages[0] = types.StageDeclaration{Name: aws.String("Source"), Actions: []types.ActionDeclaration{{
		Name: aws.String("code"), RunOrder: aws.Int32(1),
		ActionTypeId:    &types.ActionTypeId{Category: types.ActionCategorySource, Owner: types.ActionOwnerAws, Provider: aws.String("GitRemote"), Version: aws.String("1")},
		Configuration:   map[string]string{"Url": "file:///srv/repo.git", "BranchName": "main"},
		OutputArtifacts: []types.OutputArtifact{{Name: aws.String("src")}},
	}}}
	if _, err := cp.CreatePipeline(ctx, src); err != nil {
		t.Fatal(err)
	}
	hook := &codepipeline.PutWebhookInput{Webhook: &types.WebhookDefinition{
		Name: aws.String("on-push"), TargetPipeline: aws.String("src"), TargetAction: aws.String("code"),
		Filters:                     []types.WebhookFilterRule{{JsonPath: aws.String("$.ref"), MatchEquals: aws.String("refs/heads/main")}},
		Authentication:              types.WebhookAuthenticationTypeGithubHmac,
		AuthenticationConfiguration: &types.WebhookAuthConfiguration{SecretToken: aws.String("s3cret-value")},
	}}
	put, err := cp.PutWebhook(ctx, hook)
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(put.Webhook.Url) != f.url+"/webhooks/on-push" || aws.ToString(put.Webhook.Arn) != "arn:aws:codepipeline:us-east-1:000000000000:webhook:on-push" {
		t.Fatalf("webhook %+v", put.Webhook)
	}
	list, err := viewer.ListWebhooks(ctx, &codepipeline.ListWebhooksInput{})
	if err != nil || len(list.Webhooks) != 1 || aws.ToString(list.Webhooks[0].Definition.Name) != "on-push" ||
		len(list.Webhooks[0].Definition.Filters) != 1 {
		t.Fatalf("webhooks %+v %v", list, err)
	}
	if c := list.Webhooks[0].Definition.AuthenticationConfiguration; c != nil && aws.ToString(c.SecretToken) != "" {
		t.Fatalf("the webhook's secret is shown: %+v", c)
	}
	if _, err := cp.TagResource(ctx, &codepipeline.TagResourceInput{ResourceArn: put.Webhook.Arn,
		Tags: []types.Tag{{Key: aws.String("k"), Value: aws.String("v")}}}); err != nil {
		t.Fatal(err)
	}
	hook.Webhook.TargetPipeline = aws.String("nope")
	if _, err := cp.PutWebhook(ctx, hook); errType(err) != "PipelineNotFoundException" {
		t.Fatalf("a webhook of a missing pipeline: %v", err)
	}
	if _, err := viewer.DeleteWebhook(ctx, &codepipeline.DeleteWebhookInput{Name: aws.String("on-push")}); errType(err) != "AccessDeniedException" {
		t.Fatalf("a viewer deleting a webhook: %v", err)
	}
	if _, err := cp.DeleteWebhook(ctx, &codepipeline.DeleteWebhookInput{Name: aws.String("on-push")}); err != nil {
		t.Fatal(err)
	}
	if list, err := cp.ListWebhooks(ctx, &codepipeline.ListWebhooksInput{}); err != nil || len(list.Webhooks) != 0 {
		t.Fatalf("webhooks after delete %+v %v", list, err)
	}
}
