package cloudformation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/provider"
)

// StackSetProvider runs CloudFormationStackSet actions: it creates the
// stack set with instances in DeploymentTargets × Regions, or updates it
// (creating the instances it lacks there first, as CodePipeline does), and
// follows the operation to its end.
type StackSetProvider struct {
	PollInterval time.Duration
}

// StackInstancesProvider runs CloudFormationStackInstances actions: it
// creates the stack set's missing instances in DeploymentTargets × Regions
// and deploys the stack set's current template, with ParameterOverrides, to
// the others.
type StackInstancesProvider struct {
	PollInterval time.Duration
}

// targets is where a stack set's instances go.
type targets struct {
	accounts, units, regions []string
}

// pairs are the account and region pairs of the targets' accounts.
func (t targets) pairs() [][2]string {
	var out [][2]string
	for _, a := range t.accounts {
		for _, r := range t.regions {
			out = append(out, [2]string{a, r})
		}
	}
	return out
}

// deployment splits the targets as the stack instance calls take them:
// accounts in Accounts (self-managed permissions), organizational units in
// DeploymentTargets (service-managed); never both.
func (t targets) deployment() ([]string, *types.DeploymentTargets) {
	if len(t.units) > 0 {
		return nil, &types.DeploymentTargets{OrganizationalUnitIds: t.units}
	}
	return t.accounts, nil
}

var ouID = lazyregexp.New(`^(ou-[a-z0-9]{4,32}-[a-z0-9]{8,32}|r-[a-z0-9]{4,32})$`)

// readTargets reads DeploymentTargets (account ids or organizational unit
// ids, separated by commas, or Artifact::file.json holding a JSON list of
// them) and Regions (separated by commas).
func readTargets(job *provider.Job) (targets, error) {
	var t targets
	raw := job.Configuration["DeploymentTargets"]
	var ids []string
	if _, _, ok := SplitArtifactPath(raw); ok {
		b, err := readArtifactPath(job, "DeploymentTargets")
		if err != nil {
			return t, err
		}
		if err := json.Unmarshal(b, &ids); err != nil {
			return t, fmt.Errorf("DeploymentTargets %s: must be a JSON list of account or organizational unit ids: %v", raw, err)
		}
	} else {
		ids = splitList(raw)
	}
	for _, id := range ids {
		if ouID.MatchString(id) {
			t.units = append(t.units, id)
		} else {
			t.accounts = append(t.accounts, id)
		}
	}
	if len(t.units) > 0 && len(t.accounts) > 0 {
		return t, errors.New("DeploymentTargets mixes accounts and organizational units; give one kind")
	}
	t.regions = splitList(job.Configuration["Regions"])
	return t, nil
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// shorthandParam matches one parameter of the CLI's shorthand syntax.
var shorthandParam = lazyregexp.New(`ParameterKey=([^,\s]+),ParameterValue=([^\s]*)`)

// stackSetParameters reads a Parameters or ParameterOverrides value of the
// stack set actions: a JSON list of {"ParameterKey", "ParameterValue"}, the
// CLI's shorthand "ParameterKey=k,ParameterValue=v ...", or
// Artifact::file.json holding the JSON list.
func stackSetParameters(job *provider.Job, key string) ([]types.Parameter, error) {
	raw := strings.TrimSpace(job.Configuration[key])
	if raw == "" {
		return nil, nil
	}
	var b []byte
	if _, _, ok := SplitArtifactPath(raw); ok && !strings.HasPrefix(raw, "[") {
		var err error
		if b, err = readArtifactPath(job, key); err != nil {
			return nil, err
		}
	} else if strings.HasPrefix(raw, "[") {
		b = []byte(raw)
	} else {
		var out []types.Parameter
		for _, m := range shorthandParam.FindAllStringSubmatch(raw, -1) {
			out = append(out, types.Parameter{ParameterKey: aws.String(m[1]), ParameterValue: aws.String(m[2])})
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("%s: %q is neither a JSON list, ParameterKey=k,ParameterValue=v pairs nor ArtifactName::file.json", key, raw)
		}
		return out, nil
	}
	var list []struct {
		ParameterKey     string
		ParameterValue   string
		UsePreviousValue bool
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("%s: must be a JSON list of {\"ParameterKey\": ..., \"ParameterValue\": ...}: %v", key, err)
	}
	out := make([]types.Parameter, 0, len(list))
	for _, p := range list {
		tp := types.Parameter{ParameterKey: aws.String(p.ParameterKey)}
		if p.UsePreviousValue {
			tp.UsePreviousValue = aws.Bool(true)
		} else {
			tp.ParameterValue = aws.String(p.ParameterValue)
		}
		out = append(out, tp)
	}
	return out, nil
}

// preferences reads the FailureTolerance* and MaxConcurrent* keys.
func preferences(cfg map[string]string) (*types.StackSetOperationPreferences, error) {
	p := &types.StackSetOperationPreferences{}
	set := false
	for _, k := range []struct {
		key string
		dst **int32
		max int
	}{
		{"FailureTolerancePercentage", &p.FailureTolerancePercentage, 100},
		{"FailureToleranceCount", &p.FailureToleranceCount, 1 << 30},
		{"MaxConcurrentPercentage", &p.MaxConcurrentPercentage, 100},
		{"MaxConcurrentCount", &p.MaxConcurrentCount, 1 << 30},
	} {
		v, ok := cfg[k.key]
		if !ok {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > k.max {
			return nil, fmt.Errorf("%s %q is not a whole number from 0 to %d", k.key, v, k.max)
		}
		*k.dst = aws.Int32(int32(n))
		set = true
	}
	if !set {
		return nil, nil
	}
	return p, nil
}

// stackSetRun is one stack set action's run.
type stackSetRun struct {
	job      *provider.Job
	conn     *awsconn.Conn
	cfn      *cloudformation.Client
	name     string
	interval time.Duration
}

func newStackSetRun(ctx context.Context, job *provider.Job, d time.Duration) (*stackSetRun, error) {
	conn, cfn, err := connect(ctx, job)
	if err != nil {
		return nil, err
	}
	name := job.Configuration["StackSetName"]
	if name == "" {
		return nil, errors.New("configuration has no StackSetName")
	}
	return &stackSetRun{job: job, conn: conn, cfn: cfn, name: name, interval: interval(d)}, nil
}

// Run implements provider.Provider.
func (p StackSetProvider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	r, err := newStackSetRun(ctx, job, p.PollInterval)
	if err != nil {
		return provider.Result{}, err
	}
	cfg := job.Configuration
	body, err := readArtifactPath(job, "TemplatePath")
	if err != nil {
		return provider.Result{}, err
	}
	// A template too large for the request goes by URL, as for stacks.
	tmplBody, tmplURL := aws.String(string(body)), (*string)(nil)
	if len(body) > MaxTemplateBody {
		u, err := upload(ctx, r.conn, job, body)
		if err != nil {
			return provider.Result{}, err
		}
		tmplBody, tmplURL = nil, aws.String(u)
	}
	params, err := stackSetParameters(job, "Parameters")
	if err != nil {
		return provider.Result{}, err
	}
	t, err := readTargets(job)
	if err != nil {
		return provider.Result{}, err
	}
	prefs, err := preferences(cfg)
	if err != nil {
		return provider.Result{}, err
	}
	model := types.PermissionModels(cfg["PermissionModel"])
	if model == "" {
		model = types.PermissionModelsSelfManaged
	}
	var auto *types.AutoDeployment
	if v := cfg["OrganizationsAutoDeployment"]; v != "" {
		auto = &types.AutoDeployment{Enabled: aws.Bool(v != "Disabled"), RetainStacksOnAccountRemoval: aws.Bool(v == "EnabledWithStackRetention")}
	}
	caps := capabilities(cfg["Capabilities"])

	_, err = r.cfn.DescribeStackSet(ctx, &cloudformation.DescribeStackSetInput{StackSetName: aws.String(r.name)})
	var nf *types.StackSetNotFoundException
	switch {
	case errors.As(err, &nf):
		fmt.Fprintf(job.Log, "creating stack set %s (%s)\n", r.name, model)
		if _, err := r.cfn.CreateStackSet(ctx, &cloudformation.CreateStackSetInput{
			StackSetName: aws.String(r.name), TemplateBody: tmplBody, TemplateURL: tmplURL, Parameters: params,
			Capabilities: caps, PermissionModel: model, AutoDeployment: auto, Description: optional(cfg["Description"]),
			AdministrationRoleARN: optional(cfg["AdministrationRoleArn"]), ExecutionRoleName: optional(cfg["ExecutionRoleName"]),
		}); err != nil {
			return provider.Result{}, fmt.Errorf("create stack set %s: %w", r.name, err)
		}
		if len(t.regions) == 0 || (len(t.accounts) == 0 && len(t.units) == 0) {
			fmt.Fprintln(job.Log, "no DeploymentTargets and Regions: the stack set has no instances yet")
			return provider.Result{Summary: "created stack set " + r.name}, nil
		}
		if err := r.createInstances(ctx, t, nil, prefs); err != nil {
			return provider.Result{}, err
		}
		return provider.Result{Summary: fmt.Sprintf("created stack set %s in %s", r.name, strings.Join(t.regions, ", "))}, nil
	case err != nil:
		return provider.Result{}, fmt.Errorf("describe stack set %s: %w", r.name, err)
	}
	// New instances first receive the stack set's current version; the
	// update then brings every targeted instance to the new one.
	if _, err := r.createMissing(ctx, t, nil, prefs); err != nil {
		return provider.Result{}, err
	}
	in := &cloudformation.UpdateStackSetInput{
		StackSetName: aws.String(r.name), TemplateBody: tmplBody, TemplateURL: tmplURL, Parameters: params,
		Capabilities: caps, PermissionModel: model, AutoDeployment: auto, Description: optional(cfg["Description"]),
		AdministrationRoleARN: optional(cfg["AdministrationRoleArn"]), ExecutionRoleName: optional(cfg["ExecutionRoleName"]),
		OperationPreferences: prefs,
	}
	if len(t.regions) > 0 {
		in.Regions = t.regions
		in.Accounts, in.DeploymentTargets = t.deployment()
	}
	fmt.Fprintf(job.Log, "updating stack set %s\n", r.name)
	out, err := whenIdle(ctx, r, func() (*cloudformation.UpdateStackSetOutput, error) { return r.cfn.UpdateStackSet(ctx, in) })
	if err != nil {
		return provider.Result{}, fmt.Errorf("update stack set %s: %w", r.name, err)
	}
	if err := r.follow(ctx, aws.ToString(out.OperationId), "update"); err != nil {
		return provider.Result{}, err
	}
	return provider.Result{Summary: "updated stack set " + r.name}, nil
}

// Run implements provider.Provider.
func (p StackInstancesProvider) Run(ctx context.Context, job *provider.Job) (provider.Result, error) {
	r, err := newStackSetRun(ctx, job, p.PollInterval)
	if err != nil {
		return provider.Result{}, err
	}
	t, err := readTargets(job)
	if err != nil {
		return provider.Result{}, err
	}
	if len(t.regions) == 0 || (len(t.accounts) == 0 && len(t.units) == 0) {
		return provider.Result{}, errors.New("DeploymentTargets and Regions must each name at least one")
	}
	overrides, err := stackSetParameters(job, "ParameterOverrides")
	if err != nil {
		return provider.Result{}, err
	}
	prefs, err := preferences(job.Configuration)
	if err != nil {
		return provider.Result{}, err
	}
	created, err := r.createMissing(ctx, t, overrides, prefs)
	if err != nil {
		return provider.Result{}, err
	}
	// The instances that existed already get the stack set's current
	// template and the overrides.
	var update targets
	update.regions, update.units = t.regions, t.units
	for _, a := range t.accounts {
		if !created[a] {
			update.accounts = append(update.accounts, a)
		}
	}
	if len(update.accounts) > 0 || len(update.units) > 0 {
		fmt.Fprintf(job.Log, "updating the instances of stack set %s\n", r.name)
		accounts, units := update.deployment()
		out, err := whenIdle(ctx, r, func() (*cloudformation.UpdateStackInstancesOutput, error) {
			return r.cfn.UpdateStackInstances(ctx, &cloudformation.UpdateStackInstancesInput{
				StackSetName: aws.String(r.name), Regions: update.regions, Accounts: accounts, DeploymentTargets: units,
				ParameterOverrides: overrides, OperationPreferences: prefs,
			})
		})
		if err != nil {
			return provider.Result{}, fmt.Errorf("update instances of stack set %s: %w", r.name, err)
		}
		if err := r.follow(ctx, aws.ToString(out.OperationId), "update instances"); err != nil {
			return provider.Result{}, err
		}
	}
	return provider.Result{Summary: fmt.Sprintf("deployed stack set %s to %s", r.name, strings.Join(t.regions, ", "))}, nil
}

func (r *stackSetRun) createInstances(ctx context.Context, t targets, overrides []types.Parameter, prefs *types.StackSetOperationPreferences) error {
	fmt.Fprintf(r.job.Log, "creating instances of stack set %s in %s\n", r.name, strings.Join(t.regions, ", "))
	accounts, units := t.deployment()
	out, err := whenIdle(ctx, r, func() (*cloudformation.CreateStackInstancesOutput, error) {
		return r.cfn.CreateStackInstances(ctx, &cloudformation.CreateStackInstancesInput{
			StackSetName: aws.String(r.name), Regions: t.regions, Accounts: accounts, DeploymentTargets: units,
			ParameterOverrides: overrides, OperationPreferences: prefs,
		})
	})
	if err != nil {
		return fmt.Errorf("create instances of stack set %s: %w", r.name, err)
	}
	return r.follow(ctx, aws.ToString(out.OperationId), "create instances")
}

// createMissing creates the instances missing in the targets and returns
// the accounts for which it created all of them. With organizational units,
// which accounts they hold is CloudFormation's to know: it is asked to
// create instances for the units, which adds those missing.
func (r *stackSetRun) createMissing(ctx context.Context, t targets, overrides []types.Parameter, prefs *types.StackSetOperationPreferences) (map[string]bool, error) {
	created := map[string]bool{}
	if len(t.regions) == 0 {
		return created, nil
	}
	if len(t.units) > 0 {
		return created, r.createInstances(ctx, t, overrides, prefs)
	}
	have, err := r.instances(ctx)
	if err != nil {
		return nil, err
	}
	// Group the missing pairs by their regions, so that one operation per
	// set of regions creates them.
	missing := map[string][]string{}
	for _, p := range t.pairs() {
		if _, ok := have[p]; !ok {
			missing[p[0]] = append(missing[p[0]], p[1])
		}
	}
	byRegions := map[string][]string{}
	for a, regions := range missing {
		k := strings.Join(regions, ",")
		byRegions[k] = append(byRegions[k], a)
		if len(regions) == len(t.regions) {
			created[a] = true
		}
	}
	for _, k := range sortedKeys(byRegions) {
		accounts := byRegions[k]
		sort.Strings(accounts)
		if err := r.createInstances(ctx, targets{accounts: accounts, regions: strings.Split(k, ",")}, overrides, prefs); err != nil {
			return nil, err
		}
	}
	return created, nil
}

// instances lists the stack set's instances by account and region.
func (r *stackSetRun) instances(ctx context.Context) (map[[2]string]types.StackInstanceSummary, error) {
	out := map[[2]string]types.StackInstanceSummary{}
	p := cloudformation.NewListStackInstancesPaginator(r.cfn, &cloudformation.ListStackInstancesInput{StackSetName: aws.String(r.name)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list instances of stack set %s: %w", r.name, err)
		}
		for _, s := range page.Summaries {
			out[[2]string{aws.ToString(s.Account), aws.ToString(s.Region)}] = s
		}
	}
	return out, nil
}

// follow waits for the stack set operation to end, then logs each
// instance's status; when ctx ends first, it stops the operation.
func (r *stackSetRun) follow(ctx context.Context, op, what string) error {
	var last types.StackSetOperationStatus
	for {
		out, err := r.cfn.DescribeStackSetOperation(ctx, &cloudformation.DescribeStackSetOperationInput{StackSetName: aws.String(r.name), OperationId: aws.String(op)})
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("describe operation %s of stack set %s: %w", op, r.name, err)
		}
		if err == nil {
			status := out.StackSetOperation.Status
			if status != last {
				fmt.Fprintf(r.job.Log, "stack set %s: %s operation %s is %s\n", r.name, what, op, status)
				last = status
			}
			switch status {
			case types.StackSetOperationStatusSucceeded, types.StackSetOperationStatusFailed, types.StackSetOperationStatusStopped:
				results, rerr := r.logResults(ctx, op)
				if status == types.StackSetOperationStatusSucceeded {
					return rerr
				}
				msg := fmt.Sprintf("stack set %s: %s operation %s %s", r.name, what, op, status)
				if reason := aws.ToString(out.StackSetOperation.StatusReason); reason != "" {
					msg += ": " + reason
				}
				if results != "" {
					msg += "; " + results
				}
				return errors.New(msg)
			}
		}
		timer := time.NewTimer(r.interval)
		select {
		case <-ctx.Done():
			timer.Stop()
			cctx, done := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer done()
			if _, err := r.cfn.StopStackSetOperation(cctx, &cloudformation.StopStackSetOperationInput{StackSetName: aws.String(r.name), OperationId: aws.String(op)}); err != nil {
				fmt.Fprintf(r.job.Log, "stopped: stopping operation %s of stack set %s failed: %v\n", op, r.name, err)
			} else {
				fmt.Fprintf(r.job.Log, "stopped: asked CloudFormation to stop operation %s of stack set %s\n", op, r.name)
			}
			return fmt.Errorf("stopped during %s operation %s of stack set %s: %w", what, op, r.name, ctx.Err())
		case <-timer.C:
		}
	}
}

// logResults logs each account and region's outcome of the operation and
// returns the failed ones, for the error.
func (r *stackSetRun) logResults(ctx context.Context, op string) (string, error) {
	var failed []string
	p := cloudformation.NewListStackSetOperationResultsPaginator(r.cfn, &cloudformation.ListStackSetOperationResultsInput{StackSetName: aws.String(r.name), OperationId: aws.String(op)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list results of operation %s of stack set %s: %w", op, r.name, err)
		}
		for _, s := range page.Summaries {
			line := fmt.Sprintf("%s %s %s", aws.ToString(s.Account), aws.ToString(s.Region), s.Status)
			if reason := aws.ToString(s.StatusReason); reason != "" {
				line += ": " + reason
			}
			fmt.Fprintln(r.job.Log, "  "+line)
			if s.Status != types.StackSetOperationResultStatusSucceeded {
				failed = append(failed, line)
			}
		}
	}
	// The instances' own status, as the stack set shows it now.
	have, err := r.instances(ctx)
	if err != nil {
		return strings.Join(failed, "; "), err
	}
	keys := make([][2]string, 0, len(have))
	for k := range have {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	for _, k := range keys {
		s := have[k]
		detailed := ""
		if s.StackInstanceStatus != nil {
			detailed = " " + string(s.StackInstanceStatus.DetailedStatus)
		}
		line := fmt.Sprintf("  instance %s %s: %s%s", k[0], k[1], s.Status, detailed)
		if reason := aws.ToString(s.StatusReason); reason != "" {
			line += " " + reason
		}
		fmt.Fprintln(r.job.Log, line)
	}
	return strings.Join(failed, "; "), nil
}

// whenIdle makes call, and while CloudFormation answers that another
// operation of the stack set is running (someone else's), waits and makes it
// again: as with stacks, another's operation is waited for, not failed.
func whenIdle[T any](ctx context.Context, r *stackSetRun, call func() (T, error)) (T, error) {
	logged := false
	for {
		out, err := call()
		var busy *types.OperationInProgressException
		if !errors.As(err, &busy) {
			return out, err
		}
		if !logged {
			fmt.Fprintf(r.job.Log, "stack set %s is running an operation this action did not start; waiting for it to end\n", r.name)
			logged = true
		}
		timer := time.NewTimer(r.interval)
		select {
		case <-ctx.Done():
			timer.Stop()
			return out, fmt.Errorf("stopped while waiting for another operation of stack set %s: %w", r.name, ctx.Err())
		case <-timer.C:
		}
	}
}
