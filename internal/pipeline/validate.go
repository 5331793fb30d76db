package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/sluice-ci/sluice/internal/lazyregexp"

	"github.com/sluice-ci/sluice/internal/yamlnode"
)

// Limits mirror CodePipeline's API reference and quotas, so a pipeline valid
// here can be exported back, with two deliberate exceptions: one stage is
// enough (CodePipeline wants two) and Commands actions take any number of
// artifacts.
// maxStatusContext bounds a commit status context (GitLab's name and Bitbucket's key are the tightest hosts take).
const maxStatusContext = 100

const (
	maxStages            = 50
	maxActionsPerStage   = 50
	maxVariables         = 50
	maxDefaultValueLen   = 1000
	maxDescriptionLen    = 200
	minRunOrder          = 1
	maxRunOrder          = 999
	maxConfigKeyLen      = 50
	maxConfigValueLen    = 1000
	maxCommands          = 50
	maxCommandLen        = 1000
	maxOutputVariables   = 15
	maxFiles             = 10
	maxFileLen           = 128
	maxMaxAttempts       = 10
	minRegionLen         = 4
	maxRegionLen         = 30
	executionIDVariable  = "PipelineExecutionId"
	pipelineNameVariable = "PipelineName"
	defaultPipelineType  = "V2"
	legacyPipelineType   = "V1"
)

var (
	nameRE         = lazyregexp.New(`^[A-Za-z0-9.@_-]{1,100}$`)
	artifactNameRE = lazyregexp.New(`^[A-Za-z0-9_-]{1,100}$`)
	namespaceRE    = lazyregexp.New(`^[A-Za-z0-9@_-]{1,100}$`)
	variableNameRE = lazyregexp.New(`^[A-Za-z0-9@_-]{1,128}$`)
	providerNameRE = lazyregexp.New(`^[A-Za-z0-9_-]{1,35}$`)
	versionRE      = lazyregexp.New(`^[A-Za-z0-9_-]{1,9}$`)
)

const (
	nameChars     = "1 to 100 of A-Z a-z 0-9 . @ _ -"
	artifactChars = "1 to 100 of A-Z a-z 0-9 _ -"
	nsChars       = "1 to 100 of A-Z a-z 0-9 @ _ -"
	varChars      = "1 to 128 of A-Z a-z 0-9 @ _ -"
)

// Validate checks p against sluice's rules and returns every problem found,
// or nil. Error paths name fields (stages[1].actions[0].runOrder) but carry no
// file or line; Parse adds those. Zero values that SetDefaults would fill in
// are accepted, so Validate works on a pipeline built by hand as well as on
// a parsed one.
func (p *Pipeline) Validate() yamlnode.ErrorList {
	v := &validator{p: p}
	v.index()
	v.pipeline()
	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

type validator struct {
	p    *Pipeline
	errs yamlnode.ErrorList
	// producers and namespaces record, for each output artifact and each
	// namespace, the first action declaring it.
	producers     map[string]*position
	namespaces    map[string]*position
	artifactNames []string // every output artifact name, for suggestions
	nsNames       []string
	varNames      []string
	varSet        map[string]bool
	// outputVars caches, per producing Commands action, the set of output
	// variables it declares.
	outputVars map[*position]map[string]bool
	hints      hinter
	// firstHasSource is set when the first stage holds a source action.
	firstHasSource bool
}

// position places an action in the pipeline's order of execution.
type position struct {
	stage, action int
	runOrder      int
	path          string
}

func (v *validator) errorf(path, format string, args ...any) {
	v.errs.Add(path, fmt.Sprintf(format, args...))
}

func actionPath(si, ai int) string {
	return indexPath(joinPath(indexPath("stages", si), "actions"), ai)
}

func effectiveRunOrder(a *Action) int {
	if a.RunOrder == 0 {
		return 1
	}
	return a.RunOrder
}

// runsBefore reports whether the action at p has finished before the action
// at stage si with run order ro starts.
func (p *position) runsBefore(si, ro int) bool {
	return p.stage < si || (p.stage == si && p.runOrder < ro)
}

func (v *validator) describe(pos *position) string {
	st := v.p.Stages[pos.stage]
	return fmt.Sprintf("action %q in stage %q", st.Actions[pos.action].Name, st.Name)
}

// index records producers and namespaces before the main pass, because an
// input artifact or reference that points forward deserves a better message
// than "unknown".
func (v *validator) index() {
	v.producers = map[string]*position{}
	v.namespaces = map[string]*position{}
	for si := range v.p.Stages {
		for ai := range v.p.Stages[si].Actions {
			a := &v.p.Stages[si].Actions[ai]
			pos := &position{stage: si, action: ai, runOrder: effectiveRunOrder(a), path: actionPath(si, ai)}
			for oi, o := range a.OutputArtifacts {
				if o.Name == "" {
					continue
				}
				if first, dup := v.producers[o.Name]; dup {
					v.errorf(joinPath(indexPath(joinPath(pos.path, "outputArtifacts"), oi), "name"),
						"output artifact %q is already produced by %s", o.Name, v.describe(first))
					continue
				}
				v.producers[o.Name] = pos
				v.artifactNames = append(v.artifactNames, o.Name)
			}
			if a.Namespace != "" {
				if first, dup := v.namespaces[a.Namespace]; dup {
					v.errorf(joinPath(pos.path, "namespace"), "namespace %q is already used by %s", a.Namespace, v.describe(first))
					continue
				}
				v.namespaces[a.Namespace] = pos
				v.nsNames = append(v.nsNames, a.Namespace)
			}
		}
	}
	v.varSet = map[string]bool{}
	v.outputVars = map[*position]map[string]bool{}
	for _, vr := range v.p.Variables {
		v.varNames = append(v.varNames, vr.Name)
		v.varSet[vr.Name] = true
	}
}

func (v *validator) name(path, value, what string, re *lazyregexp.Regexp, chars string) {
	switch {
	case value == "":
		v.errorf(path, "required")
	case !re.MatchString(value):
		v.errorf(path, "%q is not a valid %s: use %s", value, what, chars)
	case CheckName(value) != nil:
		v.errorf(path, "%v", CheckName(value))
	}
}

func (v *validator) maxLen(path, value string, limit int) {
	if n := utf8.RuneCountInString(value); n > limit {
		v.errorf(path, "too long: %d characters, at most %d", n, limit)
	}
}

func (v *validator) pipeline() {
	p := v.p
	v.name("name", p.Name, "pipeline name", nameRE, nameChars)
	if cs := p.CommitStatus; cs != nil && cs.Context != "" {
		if n := utf8.RuneCountInString(cs.Context); n > maxStatusContext {
			v.errorf("commitStatus.context", "too long: %d characters, at most %d", n, maxStatusContext)
		} else if strings.ContainsFunc(cs.Context, unicode.IsControl) {
			v.errorf("commitStatus.context", "must not hold control characters")
		}
	}
	if p.Lock != "" {
		v.name("lock", p.Lock, "lock name", nameRE, nameChars)
	}
	if p.Role != "" {
		v.name("role", RoleName(p.Role), "role name", nameRE, nameChars)
	}

	v1 := p.PipelineType == legacyPipelineType
	switch p.PipelineType {
	case "", "V1", "V2":
	default:
		v.errorf("pipelineType", "unknown pipeline type %q (want V1 or V2)", p.PipelineType)
	}
	switch {
	case p.ExecutionMode != "" && !p.ExecutionMode.Valid():
		v.errorf("executionMode", "unknown execution mode %q (want SUPERSEDED, QUEUED or PARALLEL)", string(p.ExecutionMode))
	case v1 && p.ExecutionMode != "" && p.ExecutionMode != Superseded:
		v.errorf("executionMode", "%s needs pipelineType %s", p.ExecutionMode, defaultPipelineType)
	}

	v.variables(v1)
	v.artifactStores()

	if len(p.Stages) == 0 {
		v.errorf("stages", "at least one stage is required")
	}
	if len(p.Stages) > maxStages {
		v.errorf("stages", "too many stages: %d, at most %d", len(p.Stages), maxStages)
	}
	// CodePipeline fetches every source when an execution starts, so source
	// actions belong in the first stage and nowhere else. sluice lets a
	// pipeline have no source at all (a trigger or schedule may start it).
	if len(p.Stages) > 0 {
		for i := range p.Stages[0].Actions {
			if v.category(&p.Stages[0].Actions[i]) == CategorySource {
				v.firstHasSource = true
			}
		}
	}
	stageNames := map[string]int{}
	for si := range p.Stages {
		st := &p.Stages[si]
		sp := indexPath("stages", si)
		v.name(joinPath(sp, "name"), st.Name, "stage name", nameRE, nameChars)
		if first, dup := stageNames[st.Name]; dup && st.Name != "" {
			v.errorf(joinPath(sp, "name"), "stage name %q is already used by stages[%d]", st.Name, first)
		} else if st.Name != "" {
			stageNames[st.Name] = si
		}
		if st.Lock != "" {
			v.name(joinPath(sp, "lock"), st.Lock, "lock name", nameRE, nameChars)
			if st.Lock == p.Lock {
				v.errorf(joinPath(sp, "lock"), "the pipeline holds lock %q already for the whole execution", st.Lock)
			}
		}
		v.stage(si, v1)
		v.conditions(si, v1)
	}
	v.triggers(v1)
}

// bucketRE is an S3 bucket name's shape: what an artifactStores location may
// be, so that no location reads as a path or a URL.
var bucketRE = lazyregexp.New(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)

func (v *validator) artifactStores() {
	for _, region := range slices.Sorted(maps.Keys(v.p.ArtifactStores)) {
		st := v.p.ArtifactStores[region]
		rp := joinPath("artifactStores", region)
		if n := utf8.RuneCountInString(region); n < minRegionLen || n > maxRegionLen {
			v.errorf(rp, "%q is not a valid region: use %d to %d characters", region, minRegionLen, maxRegionLen)
		}
		if st.Type != "S3" {
			v.errorf(joinPath(rp, "type"), "%q: the only artifact store type is S3", st.Type)
		}
		if !bucketRE.MatchString(st.Location) || strings.Contains(st.Location, "..") {
			v.errorf(joinPath(rp, "location"), "%q is not an S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens)", st.Location)
		}
	}
}

func (v *validator) variables(v1 bool) {
	vars := v.p.Variables
	if len(vars) > 0 && v1 {
		v.errorf("variables", "pipeline variables need pipelineType %s", defaultPipelineType)
	}
	if len(vars) > maxVariables {
		v.errorf("variables", "too many variables: %d, at most %d", len(vars), maxVariables)
	}
	seen := map[string]int{}
	for i, vr := range vars {
		vp := indexPath("variables", i)
		v.name(joinPath(vp, "name"), vr.Name, "variable name", variableNameRE, varChars)
		if first, dup := seen[vr.Name]; dup && vr.Name != "" {
			v.errorf(joinPath(vp, "name"), "variable %q is already declared by variables[%d]", vr.Name, first)
		} else if vr.Name != "" {
			seen[vr.Name] = i
		}
		v.maxLen(joinPath(vp, "defaultValue"), vr.DefaultValue, maxDefaultValueLen)
		v.maxLen(joinPath(vp, "description"), vr.Description, maxDescriptionLen)
	}
}

func (v *validator) stage(si int, v1 bool) {
	st := &v.p.Stages[si]
	sp := indexPath("stages", si)
	if len(st.Actions) == 0 {
		v.errorf(joinPath(sp, "actions"), "at least one action is required")
	}
	if len(st.Actions) > maxActionsPerStage {
		v.errorf(joinPath(sp, "actions"), "too many actions: %d, at most %d", len(st.Actions), maxActionsPerStage)
	}
	names := map[string]int{}
	for ai := range st.Actions {
		a := &st.Actions[ai]
		ap := actionPath(si, ai)
		v.name(joinPath(ap, "name"), a.Name, "action name", nameRE, nameChars)
		if first, dup := names[a.Name]; dup && a.Name != "" {
			v.errorf(joinPath(ap, "name"), "action name %q is already used by %s", a.Name, indexPath(joinPath(sp, "actions"), first))
		} else if a.Name != "" {
			names[a.Name] = ai
		}
		cat := v.category(a)
		switch {
		case cat == CategorySource && si > 0:
			v.errorf(joinPath(ap, "actionTypeId.category"), "source actions are only allowed in the first stage")
		case cat != CategorySource && cat != "" && si == 0 && v.firstHasSource:
			v.errorf(joinPath(ap, "actionTypeId.category"), "the first stage holds source actions, so it may hold only source actions, not %s", cat)
		}
		v.action(si, ai, v1)
	}
}

// category is the action's category as given or as the provider implies.
func (v *validator) category(a *Action) string {
	if a.ActionTypeID.Category != "" {
		return a.ActionTypeID.Category
	}
	if info, ok := providers[a.ActionTypeID.Provider]; ok && (a.ActionTypeID.Owner == "" || a.ActionTypeID.Owner == info.Owner) {
		return info.Category
	}
	return ""
}

// customProvider stands in for the table entry of a Custom action type,
// whose rules sluice cannot know.
var customProvider = ProviderInfo{
	MinInputs: 0, MaxInputs: NoLimit, MinOutputs: 0, MaxOutputs: NoLimit,
	MinTimeout: minTimeoutMinutes, MaxTimeout: maxTimeoutMinutes,
}

func (v *validator) action(si, ai int, v1 bool) {
	a := &v.p.Stages[si].Actions[ai]
	ap := actionPath(si, ai)
	ro := effectiveRunOrder(a)
	if a.RunOrder != 0 && (a.RunOrder < minRunOrder || a.RunOrder > maxRunOrder) {
		v.errorf(joinPath(ap, "runOrder"), "%d is out of range %d to %d", a.RunOrder, minRunOrder, maxRunOrder)
	}

	info, known, resolved := v.actionType(ap, a, v1)

	v.configuration(ap, a, info, known)
	if resolved {
		// Whether commands belong depends on the provider; with none
		// known, saying they do not would only add noise.
		v.commands(ap, a, info, known)
	}
	v.artifacts(si, ap, ro, a, info, known)

	if a.Namespace != "" {
		np := joinPath(ap, "namespace")
		switch {
		case !namespaceRE.MatchString(a.Namespace):
			v.errorf(np, "%q is not a valid namespace: use %s", a.Namespace, nsChars)
		case a.Namespace == NamespaceVariables || a.Namespace == NamespaceCodePipeline || a.Namespace == NamespaceUpstream || a.Namespace == NamespaceTrigger:
			v.errorf(np, "namespace %q is reserved", a.Namespace)
		case v.producers[a.Namespace] != nil:
			// CodePipeline forbids it, so that #{X.y} never leaves a
			// reader wondering which X is meant.
			v.errorf(np, "namespace %q is also the name of an artifact", a.Namespace)
		}
	}
	if a.Region != "" {
		if n := utf8.RuneCountInString(a.Region); n < minRegionLen || n > maxRegionLen {
			v.errorf(joinPath(ap, "region"), "%q is not a valid region: use %d to %d characters", a.Region, minRegionLen, maxRegionLen)
		} else if _, ok := v.p.ArtifactStores[a.Region]; len(v.p.ArtifactStores) > 0 && !ok {
			v.errorf(joinPath(ap, "region"), "region %q has no artifact store in the pipeline's artifactStores (it has %s)", a.Region, strings.Join(slices.Sorted(maps.Keys(v.p.ArtifactStores)), ", "))
		}
	}
	if a.TimeoutInMinutes != 0 && (a.TimeoutInMinutes < info.MinTimeout || a.TimeoutInMinutes > info.MaxTimeout) {
		msg := fmt.Sprintf("%d is out of range %d to %d", a.TimeoutInMinutes, info.MinTimeout, info.MaxTimeout)
		if known {
			msg += fmt.Sprintf(" for provider %q", info.Name)
		}
		v.errorf(joinPath(ap, "timeoutInMinutes"), "%s", msg)
	}
	if a.MaxAttempts < 0 || a.MaxAttempts > maxMaxAttempts {
		v.errorf(joinPath(ap, "maxAttempts"), "%d is out of range 0 to %d", a.MaxAttempts, maxMaxAttempts)
	}

	keys := sortedKeys(a.Configuration)
	for _, k := range keys {
		v.references(joinPath(joinPath(ap, "configuration"), k), a.Configuration[k], si, ro)
	}
	for i, c := range a.Commands {
		v.references(indexPath(joinPath(ap, "commands"), i), c, si, ro)
	}
}

// actionType checks the action type and returns the provider's rules. known
// is true when they come from the provider table; resolved is true when they
// come from the table or are a Custom type's generic ones. When the provider
// is missing or unknown the generic rules are returned, so the remaining
// checks still run.
func (v *validator) actionType(ap string, a *Action, v1 bool) (info ProviderInfo, known, resolved bool) {
	id := a.ActionTypeID
	tp := joinPath(ap, "actionTypeId")
	pp := joinPath(tp, "provider")

	if id.Owner != "" && !slices.Contains(owners, id.Owner) {
		v.errorf(joinPath(tp, "owner"), "unknown owner %q (want AWS, ThirdParty or Custom)", id.Owner)
	}
	if id.Version != "" && !versionRE.MatchString(id.Version) {
		v.errorf(joinPath(tp, "version"), "%q is not a valid version: use 1 to 9 of A-Z a-z 0-9 _ -", id.Version)
	}
	if id.Category != "" && !slices.Contains(categories, id.Category) {
		v.errorf(joinPath(tp, "category"), "unknown category %q%s", id.Category, v.hints.didYouMean(id.Category, categories))
	}

	if id.Provider == "" {
		v.errorf(pp, "required")
		return customProvider, false, false
	}
	if id.Owner == OwnerCustom {
		// A custom action type is defined by whoever runs its job worker;
		// only its shape can be checked.
		if !providerNameRE.MatchString(id.Provider) {
			v.errorf(pp, "%q is not a valid provider name: use 1 to 35 of A-Z a-z 0-9 _ -", id.Provider)
		} else if _, ours := providers[id.Provider]; ours {
			// Jobs go to workers by provider: sluice's own would run it.
			v.errorf(pp, "%q is one of sluice's own providers; a Custom action type needs another name", id.Provider)
		}
		if id.Category == "" {
			v.errorf(joinPath(tp, "category"), "required for a Custom action type")
		}
		return customProvider, false, true
	}
	info, ok := providers[id.Provider]
	if !ok {
		v.errorf(pp, "unknown provider %q%s", id.Provider, v.hints.didYouMean(id.Provider, providerNames))
		return customProvider, false, false
	}
	if id.Owner != "" && id.Owner != info.Owner && slices.Contains(owners, id.Owner) {
		v.errorf(joinPath(tp, "owner"), "owner %q does not match provider %q (want %q)", id.Owner, id.Provider, info.Owner)
	}
	if id.Category != "" && slices.Contains(categories, id.Category) && !slices.Contains(info.Categories, id.Category) {
		v.errorf(joinPath(tp, "category"), "category %q does not match provider %q (want %s)", id.Category, id.Provider, quotedList(info.Categories, "or"))
	}
	if v1 && info.Commands {
		v.errorf(pp, "%s actions need pipelineType %s", id.Provider, defaultPipelineType)
	}
	return info, true, true
}

func (v *validator) configuration(ap string, a *Action, info ProviderInfo, known bool) {
	cp := joinPath(ap, "configuration")
	if known && info.NoConfiguration && len(a.Configuration) > 0 {
		v.errorf(cp, "provider %q takes no configuration", info.Name)
	}
	for _, k := range sortedKeys(a.Configuration) {
		kp := joinPath(cp, k)
		if k == "" {
			kp = cp
			v.errorf(kp, "empty configuration key")
		}
		if n := utf8.RuneCountInString(k); n > maxConfigKeyLen {
			v.errorf(kp, "configuration key too long: %d characters, at most %d", n, maxConfigKeyLen)
		}
		v.maxLen(kp, a.Configuration[k], maxConfigValueLen)
	}
	if known {
		var missing []string
		for _, k := range info.RequiredConfiguration {
			if _, ok := a.Configuration[k]; !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			v.errorf(cp, "missing %s (required by provider %q)", strings.Join(missing, ", "), info.Name)
		}
		if info.Check != nil {
			for _, p := range info.Check(a.Configuration) {
				v.errorf(joinPath(cp, p.Key), "%s", p.Msg)
			}
		}
		if info.CheckArtifacts != nil {
			inputs := make([]string, len(a.InputArtifacts))
			for i, in := range a.InputArtifacts {
				inputs[i] = in.Name
			}
			for _, p := range info.CheckArtifacts(a.Configuration, inputs, len(a.OutputArtifacts)) {
				v.errorf(joinPath(cp, p.Key), "%s", p.Msg)
			}
		}
	}
}

func (v *validator) commands(ap string, a *Action, info ProviderInfo, known bool) {
	cp := joinPath(ap, "commands")
	ovp := joinPath(ap, "outputVariables")
	if !info.Commands {
		if len(a.Commands) > 0 {
			v.errorf(cp, "only Commands actions take commands")
		}
		if len(a.OutputVariables) > 0 {
			v.errorf(ovp, "only Commands actions declare output variables")
		}
		return
	}
	switch {
	case len(a.Commands) == 0 && known:
		v.errorf(cp, "required for provider %q", info.Name)
	case len(a.Commands) > maxCommands:
		v.errorf(cp, "too many commands: %d, at most %d", len(a.Commands), maxCommands)
	}
	for i, c := range a.Commands {
		ip := indexPath(cp, i)
		if strings.TrimSpace(c) == "" {
			v.errorf(ip, "empty command")
		}
		v.maxLen(ip, c, maxCommandLen)
	}
	if len(a.OutputVariables) > maxOutputVariables {
		v.errorf(ovp, "too many output variables: %d, at most %d", len(a.OutputVariables), maxOutputVariables)
	}
	seen := map[string]int{}
	for i, ov := range a.OutputVariables {
		ip := indexPath(ovp, i)
		if ov == "" {
			v.errorf(ip, "required")
			continue
		}
		if !variableNameRE.MatchString(ov) {
			v.errorf(ip, "%q is not a valid output variable name: use %s", ov, varChars)
		}
		if first, dup := seen[ov]; dup {
			v.errorf(ip, "output variable %q is already declared by %s", ov, indexPath(ovp, first))
		} else {
			seen[ov] = i
		}
	}
}

func (v *validator) artifacts(si int, ap string, ro int, a *Action, info ProviderInfo, known bool) {
	ip := joinPath(ap, "inputArtifacts")
	op := joinPath(ap, "outputArtifacts")
	if known {
		if msg := countProblem(len(a.InputArtifacts), info.MinInputs, info.MaxInputs, "input artifact"); msg != "" {
			v.errorf(ip, "provider %q takes %s", info.Name, msg)
		}
		if msg := countProblem(len(a.OutputArtifacts), info.MinOutputs, info.MaxOutputs, "output artifact"); msg != "" {
			v.errorf(op, "provider %q produces %s", info.Name, msg)
		}
	}
	seen := map[string]bool{}
	for i, in := range a.InputArtifacts {
		np := joinPath(indexPath(ip, i), "name")
		if in.Name == "" {
			v.errorf(np, "required")
			continue
		}
		if !artifactNameRE.MatchString(in.Name) {
			v.errorf(np, "%q is not a valid artifact name: use %s", in.Name, artifactChars)
			continue
		}
		if seen[in.Name] {
			v.errorf(np, "input artifact %q is listed twice", in.Name)
			continue
		}
		seen[in.Name] = true
		pos := v.producers[in.Name]
		switch {
		case pos == nil:
			v.errorf(np, "input artifact %q is not produced by any action%s", in.Name, v.hints.didYouMean(in.Name, v.artifactNames))
		case !pos.runsBefore(si, ro):
			v.errorf(np, "input artifact %q is produced by %s, which does not run before this action", in.Name, v.describe(pos))
		}
	}
	for i, out := range a.OutputArtifacts {
		oip := indexPath(op, i)
		if out.Name == "" {
			v.errorf(joinPath(oip, "name"), "required")
		} else if !artifactNameRE.MatchString(out.Name) {
			v.errorf(joinPath(oip, "name"), "%q is not a valid artifact name: use %s", out.Name, artifactChars)
		}
		if len(out.Files) == 0 {
			continue
		}
		fp := joinPath(oip, "files")
		if !info.OutputFiles {
			v.errorf(fp, "only Commands actions take files")
			continue
		}
		if len(out.Files) > maxFiles {
			v.errorf(fp, "too many files: %d, at most %d", len(out.Files), maxFiles)
		}
		for fi, f := range out.Files {
			if f == "" {
				v.errorf(indexPath(fp, fi), "empty file pattern")
			}
			v.maxLen(indexPath(fp, fi), f, maxFileLen)
		}
	}
}

// countProblem describes how n falls outside lo..hi, or returns "".
func countProblem(n, lo, hi int, noun string) string {
	plural := func(k int) string {
		if k == 1 {
			return "1 " + noun
		}
		return strconv.Itoa(k) + " " + noun + "s"
	}
	switch {
	case hi == 0 && n > 0:
		return fmt.Sprintf("no %ss, not %d", noun, n)
	case hi == lo && n != lo:
		return fmt.Sprintf("exactly %s, not %d", plural(lo), n)
	case n < lo:
		return fmt.Sprintf("at least %s, not %d", plural(lo), n)
	case hi >= 0 && n > hi:
		return fmt.Sprintf("at most %s, not %d", plural(hi), n)
	}
	return ""
}

func (v *validator) hasPipelineTrigger() bool {
	for _, t := range v.p.Triggers {
		if t.ProviderType == TriggerPipeline {
			return true
		}
	}
	return false
}

// references checks the variable references in one string an action holds.
// si and ro place the action, so references to later actions are caught.
func (v *validator) references(path, s string, si, ro int) {
	for _, b := range badReferences(s) {
		v.errorf(path, "%s", b.Msg)
	}
	for _, r := range References(s) {
		switch r.Namespace {
		case NamespaceVariables:
			if !v.varSet[r.Name] {
				v.errorf(path, "%s refers to undeclared pipeline variable %q%s", r, r.Name, v.hints.didYouMean(r.Name, v.varNames))
			}
		case NamespaceUpstream:
			if !v.hasPipelineTrigger() {
				v.errorf(path, "%s: the upstream namespace holds the variables of the execution that started this one, and this pipeline has no %s trigger", r, TriggerPipeline)
			}
		case NamespaceTrigger:
			if !slices.Contains(TriggerVariables, r.Name) {
				v.errorf(path, "%s: the trigger namespace holds only %s%s", r, strings.Join(TriggerVariables, ", "), v.hints.didYouMean(r.Name, TriggerVariables))
			}
		case NamespaceCodePipeline:
			if r.Name != executionIDVariable && r.Name != pipelineNameVariable {
				v.errorf(path, "%s: the codepipeline namespace holds only %s and %s%s", r,
					executionIDVariable, pipelineNameVariable, v.hints.didYouMean(r.Name, []string{executionIDVariable, pipelineNameVariable}))
			}
		default:
			pos := v.namespaces[r.Namespace]
			if pos == nil {
				v.errorf(path, "%s: unknown namespace %q%s", r, r.Namespace, v.hints.didYouMean(r.Namespace, v.nsNames))
				continue
			}
			if !pos.runsBefore(si, ro) {
				v.errorf(path, "%s refers to %s, which does not run before this action", r, v.describe(pos))
				continue
			}
			// A Commands action exports exactly the variables it declares;
			// other providers' variables are theirs to define.
			producer := &v.p.Stages[pos.stage].Actions[pos.action]
			info, ok := providers[producer.ActionTypeID.Provider]
			if !ok || !info.Commands || producer.ActionTypeID.Owner == OwnerCustom {
				continue
			}
			declared := v.outputVars[pos]
			if declared == nil {
				declared = map[string]bool{}
				for _, ov := range producer.OutputVariables {
					declared[ov] = true
				}
				v.outputVars[pos] = declared
			}
			if !declared[r.Name] {
				v.errorf(path, "%s: %s does not declare output variable %q%s", r, v.describe(pos), r.Name,
					v.hints.didYouMean(r.Name, producer.OutputVariables))
			}
		}
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func quotedList(items []string, conj string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = strconv.Quote(s)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " " + conj + " " + q[len(q)-1]
}
