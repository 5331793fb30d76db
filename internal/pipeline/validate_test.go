package pipeline

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// basePipeline is a small valid pipeline that each validation case breaks in
// one way.
func basePipeline() *Pipeline {
	return &Pipeline{
		Name:      "app",
		Variables: []Variable{{Name: "ENV", DefaultValue: "prod"}},
		Stages: []Stage{
			{Name: "Source", Actions: []Action{{
				Name:            "Checkout",
				ActionTypeID:    ActionTypeID{Provider: "Git"},
				OutputArtifacts: []OutputArtifact{{Name: "src"}},
				Namespace:       "source",
			}}},
			{Name: "Build", Actions: []Action{
				{
					Name:            "Compile",
					ActionTypeID:    ActionTypeID{Provider: "Commands"},
					InputArtifacts:  []InputArtifact{{Name: "src"}},
					Commands:        []string{"make #{variables.ENV} #{source.CommitId}"},
					OutputArtifacts: []OutputArtifact{{Name: "bin", Files: []string{"bin/*"}}},
					OutputVariables: []string{"VERSION"},
					Namespace:       "build",
				},
				{
					Name:           "Package",
					ActionTypeID:   ActionTypeID{Provider: "Commands"},
					RunOrder:       2,
					InputArtifacts: []InputArtifact{{Name: "bin"}},
					Commands:       []string{"tar #{build.VERSION} #{codepipeline.PipelineExecutionId} #{codepipeline.PipelineName}"},
				},
			}},
		},
	}
}

// act returns the action at stage si, action ai of p.
func act(p *Pipeline, si, ai int) *Action { return &p.Stages[si].Actions[ai] }

func manyStrings(n int, f func(i int) string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = f(i)
	}
	return out
}

func TestValidate(t *testing.T) {
	const (
		compile = "stages[1].actions[0]"
		pkg     = "stages[1].actions[1]"
		source  = "stages[0].actions[0]"
	)
	tests := []struct {
		name   string
		mutate func(p *Pipeline)
		want   []string
	}{
		{"valid", func(p *Pipeline) {}, nil},
		{"valid with defaults filled", func(p *Pipeline) { p.SetDefaults() }, nil},
		{"one stage is enough", func(p *Pipeline) {
			p.Stages = []Stage{{Name: "Only", Actions: []Action{{Name: "A", ActionTypeID: ActionTypeID{Provider: "Noop"}}}}}
		}, nil},

		// Names.
		{"name required", func(p *Pipeline) { p.Name = "" }, []string{"name: required"}},
		{"name characters", func(p *Pipeline) { p.Name = "my app" }, []string{
			`name: "my app" is not a valid pipeline name: use 1 to 100 of A-Z a-z 0-9 . @ _ -`}},
		{"name length", func(p *Pipeline) { p.Name = strings.Repeat("a", 101) }, []string{
			`name: "` + strings.Repeat("a", 101) + `" is not a valid pipeline name: use 1 to 100 of A-Z a-z 0-9 . @ _ -`}},
		{"name with every allowed character", func(p *Pipeline) { p.Name = "a.b@c_d-e9" }, nil},
		{"stage name", func(p *Pipeline) { p.Stages[1].Name = "" }, []string{"stages[1].name: required"}},
		{"action name", func(p *Pipeline) { act(p, 1, 1).Name = "a/b" }, []string{
			pkg + `.name: "a/b" is not a valid action name: use 1 to 100 of A-Z a-z 0-9 . @ _ -`}},

		// Locks, gates, approvals, invokes, functions, self-updates.
		{"locks", func(p *Pipeline) { p.Lock = "deploy"; p.Stages[1].Lock = "db" }, nil},
		{"bad locks", func(p *Pipeline) { p.Lock = "a b"; p.Stages[0].Lock = "a b" }, []string{
			`lock: "a b" is not a valid lock name: use 1 to 100 of A-Z a-z 0-9 . @ _ -`,
			`stages[0].lock: "a b" is not a valid lock name: use 1 to 100 of A-Z a-z 0-9 . @ _ -`,
			`stages[0].lock: the pipeline holds lock "a b" already for the whole execution`}},
		{"gate", func(p *Pipeline) {
			p.Stages[1].Actions = append(p.Stages[1].Actions, Action{Name: "Gate", ActionTypeID: ActionTypeID{Provider: "PipelineGate"},
				Configuration: map[string]string{"PipelineName": "infra", "Condition": "Idle", "OnUpstreamFailure": "FAIL"}})
		}, nil},
		{"bad gate", func(p *Pipeline) {
			p.Stages[1].Actions = append(p.Stages[1].Actions, Action{Name: "Gate", ActionTypeID: ActionTypeID{Provider: "PipelineGate"},
				Configuration: map[string]string{"Condition": "Done", "OnUpstreamFailure": "fail", "Pipeline": "x"}})
		}, []string{
			`stages[1].actions[2].configuration: missing PipelineName (required by provider "PipelineGate")`,
			`stages[1].actions[2].configuration.Pipeline: unknown configuration key (this provider reads PipelineName, Condition, OnUpstreamFailure)`,
			`stages[1].actions[2].configuration.Condition: "Done" is not a condition (want Idle or Succeeded)`,
			`stages[1].actions[2].configuration.OnUpstreamFailure: "fail" is not an answer (want FAIL or WAIT)`}},
		{"manual", func(p *Pipeline) {
			p.Stages[1].Actions = append(p.Stages[1].Actions, Action{Name: "Approve", ActionTypeID: ActionTypeID{Provider: "Manual"}, TimeoutInMinutes: 4,
				Configuration: map[string]string{"NotificationTarget": "https://hooks.example/x, ops@example.com, slack"}})
		}, []string{
			`stages[1].actions[2].configuration.NotificationTarget: "slack" is neither a webhook URL (http:// or https://) nor an email address`,
			`stages[1].actions[2].timeoutInMinutes: 4 is out of range 5 to 86400 for provider "Manual"`}},
		{"invoke and function", func(p *Pipeline) {
			p.Stages[1].Actions = append(p.Stages[1].Actions,
				Action{Name: "Invoke", ActionTypeID: ActionTypeID{Provider: "Pipeline"}, Configuration: map[string]string{"PipelineName": "k8s", "Variables": "[1]"}},
				Action{Name: "Fn", ActionTypeID: ActionTypeID{Provider: "Lambda"}, Configuration: map[string]string{"FunctionName": "f", "ContinuationIntervalSeconds": "0"}},
				Action{Name: "Update", ActionTypeID: ActionTypeID{Provider: "PipelineUpdate"}, InputArtifacts: []InputArtifact{{Name: "src"}}, Configuration: map[string]string{"DefinitionPath": "../p.yml"}})
		}, []string{
			`stages[1].actions[2].configuration.Variables: must be a JSON object of strings, as in {"name": "value"}: json: cannot unmarshal array into Go value of type map[string]string`,
			`stages[1].actions[3].configuration.ContinuationIntervalSeconds: "0" is not a whole number of seconds from 1 to 3600`,
			`stages[1].actions[4].configuration.DefinitionPath: "../p.yml" must be a relative path inside the input artifact`}},

		{"commands network", func(p *Pipeline) {
			p.Stages[1].Actions = append(p.Stages[1].Actions,
				Action{Name: "Off", ActionTypeID: ActionTypeID{Provider: "Commands"}, Commands: []string{"true"}, Configuration: map[string]string{"Network": "false"}},
				Action{Name: "Bad", ActionTypeID: ActionTypeID{Provider: "Commands"}, Commands: []string{"true"}, Configuration: map[string]string{"Network": "off"}})
		}, []string{`stages[1].actions[3].configuration.Network: "off" is not true or false`}},

		// Structure.
		{"no stages", func(p *Pipeline) { p.Stages = nil }, []string{"stages: at least one stage is required"}},
		{"too many stages", func(p *Pipeline) {
			for i := 0; i < 49; i++ {
				p.Stages = append(p.Stages, Stage{Name: "S" + strconv.Itoa(i), Actions: []Action{{Name: "A", ActionTypeID: ActionTypeID{Provider: "Noop"}}}})
			}
		}, []string{"stages: too many stages: 51, at most 50"}},
		{"duplicate stage", func(p *Pipeline) { p.Stages[1].Name = "Source" }, []string{
			`stages[1].name: stage name "Source" is already used by stages[0]`}},
		{"stage without actions", func(p *Pipeline) {
			p.Stages = append(p.Stages, Stage{Name: "Empty"})
		}, []string{"stages[2].actions: at least one action is required"}},
		{"too many actions", func(p *Pipeline) {
			for i := 0; i < 49; i++ {
				p.Stages[1].Actions = append(p.Stages[1].Actions, Action{Name: "N" + strconv.Itoa(i), ActionTypeID: ActionTypeID{Provider: "Noop"}})
			}
		}, []string{"stages[1].actions: too many actions: 51, at most 50"}},
		{"duplicate action", func(p *Pipeline) { act(p, 1, 1).Name = "Compile" }, []string{
			pkg + `.name: action name "Compile" is already used by stages[1].actions[0]`}},
		{"same action name in two stages", func(p *Pipeline) { act(p, 1, 0).Name = "Checkout" }, nil},
		{"runOrder too low", func(p *Pipeline) { act(p, 1, 1).RunOrder = -1 }, []string{
			pkg + ".runOrder: -1 is out of range 1 to 999",
			pkg + `.inputArtifacts[0].name: input artifact "bin" is produced by action "Compile" in stage "Build", which does not run before this action`,
			pkg + `.commands[0]: #{build.VERSION} refers to action "Compile" in stage "Build", which does not run before this action`}},
		{"runOrder too high", func(p *Pipeline) { act(p, 1, 1).RunOrder = 1000 }, []string{
			pkg + ".runOrder: 1000 is out of range 1 to 999"}},
		{"source outside the first stage", func(p *Pipeline) {
			p.Stages[1].Actions = append(p.Stages[1].Actions, Action{Name: "Late", ActionTypeID: ActionTypeID{Provider: "Git"}, OutputArtifacts: []OutputArtifact{{Name: "late"}}})
		}, []string{"stages[1].actions[2].actionTypeId.category: source actions are only allowed in the first stage"}},
		{"first stage mixing sources with others", func(p *Pipeline) {
			p.Stages[0].Actions = append(p.Stages[0].Actions, Action{Name: "Early", ActionTypeID: ActionTypeID{Provider: "Noop"}})
		}, []string{"stages[0].actions[1].actionTypeId.category: the first stage holds source actions, so it may hold only source actions, not Build"}},

		// Pipeline settings.
		{"pipeline type", func(p *Pipeline) { p.PipelineType = "V3" }, []string{`pipelineType: unknown pipeline type "V3" (want V1 or V2)`}},
		{"execution mode", func(p *Pipeline) { p.ExecutionMode = "queued" }, []string{
			`executionMode: unknown execution mode "queued" (want SUPERSEDED, QUEUED or PARALLEL)`}},
		{"V1 limits", func(p *Pipeline) { p.PipelineType = "V1"; p.ExecutionMode = Parallel }, []string{
			"executionMode: PARALLEL needs pipelineType V2",
			"variables: pipeline variables need pipelineType V2",
			compile + ".actionTypeId.provider: Commands actions need pipelineType V2",
			pkg + ".actionTypeId.provider: Commands actions need pipelineType V2"}},
		{"V1 superseded", func(p *Pipeline) {
			p.PipelineType = "V1"
			p.ExecutionMode = Superseded
			p.Variables = nil
			p.Stages = p.Stages[:1]
		}, nil},

		// Variables.
		{"variable name", func(p *Pipeline) { p.Variables = append(p.Variables, Variable{Name: "a.b"}) }, []string{
			`variables[1].name: "a.b" is not a valid variable name: use 1 to 128 of A-Z a-z 0-9 @ _ -`}},
		{"variable name length", func(p *Pipeline) { p.Variables = append(p.Variables, Variable{Name: strings.Repeat("v", 129)}) }, []string{
			`variables[1].name: "` + strings.Repeat("v", 129) + `" is not a valid variable name: use 1 to 128 of A-Z a-z 0-9 @ _ -`}},
		{"variable required", func(p *Pipeline) { p.Variables = append(p.Variables, Variable{}) }, []string{"variables[1].name: required"}},
		{"duplicate variable", func(p *Pipeline) { p.Variables = append(p.Variables, Variable{Name: "ENV"}) }, []string{
			`variables[1].name: variable "ENV" is already declared by variables[0]`}},
		{"variable default and description lengths", func(p *Pipeline) {
			p.Variables[0].DefaultValue = strings.Repeat("é", 1001)
			p.Variables[0].Description = strings.Repeat("d", 201)
		}, []string{
			"variables[0].defaultValue: too long: 1001 characters, at most 1000",
			"variables[0].description: too long: 201 characters, at most 200"}},
		{"too many variables", func(p *Pipeline) {
			for i := 0; i < 50; i++ {
				p.Variables = append(p.Variables, Variable{Name: "V" + strconv.Itoa(i)})
			}
		}, []string{"variables: too many variables: 51, at most 50"}},

		// Artifacts.
		{"input never produced", func(p *Pipeline) { act(p, 1, 1).InputArtifacts[0].Name = "bim" }, []string{
			pkg + `.inputArtifacts[0].name: input artifact "bim" is not produced by any action (did you mean "bin"?)`}},
		{"input produced in parallel", func(p *Pipeline) { act(p, 1, 1).RunOrder = 1 }, []string{
			pkg + `.inputArtifacts[0].name: input artifact "bin" is produced by action "Compile" in stage "Build", which does not run before this action`,
			pkg + `.commands[0]: #{build.VERSION} refers to action "Compile" in stage "Build", which does not run before this action`}},
		{"input produced by a later stage", func(p *Pipeline) {
			act(p, 1, 0).InputArtifacts = append(act(p, 1, 0).InputArtifacts, InputArtifact{Name: "later"})
			p.Stages = append(p.Stages, Stage{Name: "Later", Actions: []Action{{Name: "L", ActionTypeID: ActionTypeID{Provider: "Noop"}, OutputArtifacts: []OutputArtifact{{Name: "later"}}}}})
		}, []string{compile + `.inputArtifacts[1].name: input artifact "later" is produced by action "L" in stage "Later", which does not run before this action`}},
		{"input listed twice", func(p *Pipeline) {
			act(p, 1, 1).InputArtifacts = append(act(p, 1, 1).InputArtifacts, InputArtifact{Name: "bin"})
		}, []string{pkg + `.inputArtifacts[1].name: input artifact "bin" is listed twice`}},
		{"input name required", func(p *Pipeline) { act(p, 1, 1).InputArtifacts[0].Name = "" }, []string{pkg + ".inputArtifacts[0].name: required"}},
		{"output produced twice", func(p *Pipeline) {
			act(p, 1, 1).OutputArtifacts = []OutputArtifact{{Name: "src"}}
		}, []string{pkg + `.outputArtifacts[0].name: output artifact "src" is already produced by action "Checkout" in stage "Source"`}},
		{"artifact name characters", func(p *Pipeline) { act(p, 0, 0).OutputArtifacts[0].Name = "my.src" }, []string{
			source + `.outputArtifacts[0].name: "my.src" is not a valid artifact name: use 1 to 100 of A-Z a-z 0-9 _ -`,
			compile + `.inputArtifacts[0].name: input artifact "src" is not produced by any action`}},
		{"output name required", func(p *Pipeline) {
			act(p, 1, 1).OutputArtifacts = []OutputArtifact{{}}
		}, []string{pkg + ".outputArtifacts[0].name: required"}},
		{"files only for Commands", func(p *Pipeline) { act(p, 0, 0).OutputArtifacts[0].Files = []string{"*"} }, []string{
			source + ".outputArtifacts[0].files: only Commands actions take files"}},
		{"too many files", func(p *Pipeline) {
			act(p, 1, 0).OutputArtifacts[0].Files = manyStrings(11, func(i int) string { return "f" + strconv.Itoa(i) })
		}, []string{compile + ".outputArtifacts[0].files: too many files: 11, at most 10"}},
		{"bad file patterns", func(p *Pipeline) {
			act(p, 1, 0).OutputArtifacts[0].Files = []string{"", strings.Repeat("f", 129)}
		}, []string{
			compile + ".outputArtifacts[0].files[0]: empty file pattern",
			compile + ".outputArtifacts[0].files[1]: too long: 129 characters, at most 128"}},

		// Artifact counts from the provider table.
		{"source with inputs", func(p *Pipeline) { act(p, 0, 0).InputArtifacts = []InputArtifact{{Name: "src"}} }, []string{
			source + `.inputArtifacts: provider "Git" takes no input artifacts, not 1`,
			source + `.inputArtifacts[0].name: input artifact "src" is produced by action "Checkout" in stage "Source", which does not run before this action`}},
		{"source without output", func(p *Pipeline) {
			p.Stages = p.Stages[:1]
			act(p, 0, 0).OutputArtifacts = nil
		}, []string{source + `.outputArtifacts: provider "Git" produces exactly 1 output artifact, not 0`}},
		{"deploy without input", func(p *Pipeline) {
			p.Stages = append(p.Stages, Stage{Name: "Deploy", Actions: []Action{{Name: "D", ActionTypeID: ActionTypeID{Provider: "CodeDeploy"},
				Configuration: map[string]string{"ApplicationName": "a", "DeploymentGroupName": "g"}}}})
		}, []string{`stages[2].actions[0].inputArtifacts: provider "CodeDeploy" takes exactly 1 input artifact, not 0`}},
		{"build with too many inputs", func(p *Pipeline) {
			p.Stages = append(p.Stages, Stage{Name: "More", Actions: []Action{{Name: "B", ActionTypeID: ActionTypeID{Provider: "Build"},
				InputArtifacts: []InputArtifact{{Name: "src"}, {Name: "bin"}, {Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}}}}})
			p.Stages[1].Actions = append(p.Stages[1].Actions, Action{Name: "Many", ActionTypeID: ActionTypeID{Provider: "Noop"},
				OutputArtifacts: []OutputArtifact{{Name: "a"}, {Name: "b"}, {Name: "c"}, {Name: "d"}}})
		}, []string{`stages[2].actions[0].inputArtifacts: provider "Build" takes at most 5 input artifacts, not 6`}},
		{"approval with an output", func(p *Pipeline) {
			p.Stages = append(p.Stages, Stage{Name: "Approve", Actions: []Action{{Name: "M", ActionTypeID: ActionTypeID{Provider: "Manual"},
				OutputArtifacts: []OutputArtifact{{Name: "x"}}}}})
		}, []string{`stages[2].actions[0].outputArtifacts: provider "Manual" produces no output artifacts, not 1`}},

		// Action types.
		{"provider required", func(p *Pipeline) { act(p, 1, 1).ActionTypeID.Provider = "" }, []string{
			pkg + ".actionTypeId.provider: required"}},
		{"unknown provider", func(p *Pipeline) { act(p, 1, 1).ActionTypeID.Provider = "Comands" }, []string{
			pkg + `.actionTypeId.provider: unknown provider "Comands" (did you mean "Commands"?)`}},
		{"unknown provider, no suggestion", func(p *Pipeline) { act(p, 1, 1).ActionTypeID.Provider = "Terraform" }, []string{
			pkg + `.actionTypeId.provider: unknown provider "Terraform"`}},
		{"unknown owner", func(p *Pipeline) { act(p, 1, 1).ActionTypeID.Owner = "Amazon" }, []string{
			pkg + `.actionTypeId.owner: unknown owner "Amazon" (want AWS, ThirdParty or Custom)`}},
		{"owner mismatch", func(p *Pipeline) { act(p, 1, 1).ActionTypeID.Owner = OwnerThirdParty }, []string{
			pkg + `.actionTypeId.owner: owner "ThirdParty" does not match provider "Commands" (want "AWS")`}},
		{"unknown category", func(p *Pipeline) { act(p, 1, 1).ActionTypeID.Category = "Buid" }, []string{
			pkg + `.actionTypeId.category: unknown category "Buid" (did you mean "Build"?)`}},
		{"category mismatch", func(p *Pipeline) { act(p, 1, 1).ActionTypeID.Category = CategoryBuild }, []string{
			pkg + `.actionTypeId.category: category "Build" does not match provider "Commands" (want "Compute")`}},
		{"category mismatch with several allowed", func(p *Pipeline) {
			p.Stages = append(p.Stages, Stage{Name: "Test", Actions: []Action{{Name: "T", ActionTypeID: ActionTypeID{Provider: "Build", Category: CategoryDeploy},
				InputArtifacts: []InputArtifact{{Name: "src"}}}}})
		}, []string{`stages[2].actions[0].actionTypeId.category: category "Deploy" does not match provider "Build" (want "Build" or "Test")`}},
		{"second category of a provider", func(p *Pipeline) {
			p.Stages = append(p.Stages, Stage{Name: "Test", Actions: []Action{{Name: "T", ActionTypeID: ActionTypeID{Provider: "Build", Category: CategoryTest},
				InputArtifacts: []InputArtifact{{Name: "src"}}}}})
		}, nil},
		{"version", func(p *Pipeline) { act(p, 1, 1).ActionTypeID.Version = "1.0" }, []string{
			pkg + `.actionTypeId.version: "1.0" is not a valid version: use 1 to 9 of A-Z a-z 0-9 _ -`}},
		{"custom action type", func(p *Pipeline) {
			p.Stages = append(p.Stages, Stage{Name: "Custom", Actions: []Action{{Name: "J", ActionTypeID: ActionTypeID{
				Provider: "Jenkins", Owner: OwnerCustom, Category: CategoryTest}, InputArtifacts: []InputArtifact{{Name: "bin"}}}}})
		}, nil},
		{"custom action type needs a category and a plain name", func(p *Pipeline) {
			p.Stages = append(p.Stages, Stage{Name: "Custom", Actions: []Action{{Name: "J", ActionTypeID: ActionTypeID{
				Provider: "My Jenkins", Owner: OwnerCustom}}}})
		}, []string{
			`stages[2].actions[0].actionTypeId.provider: "My Jenkins" is not a valid provider name: use 1 to 35 of A-Z a-z 0-9 _ -`,
			"stages[2].actions[0].actionTypeId.category: required for a Custom action type"}},
		{"a custom action type may not take a provider of sluice's", func(p *Pipeline) {
			// Its jobs would go to the workers that run that provider.
			p.Stages = append(p.Stages, Stage{Name: "Custom", Actions: []Action{{Name: "J", ActionTypeID: ActionTypeID{
				Provider: "Commands", Owner: OwnerCustom, Category: CategoryBuild}}}})
		}, []string{
			`stages[2].actions[0].actionTypeId.provider: "Commands" is one of sluice's own providers; a Custom action type needs another name`}},

		// Configuration.
		{"noop takes no configuration", func(p *Pipeline) {
			p.Stages = append(p.Stages, Stage{Name: "N", Actions: []Action{{Name: "N", ActionTypeID: ActionTypeID{Provider: "Noop"},
				Configuration: map[string]string{"a": "b"}}}})
		}, []string{`stages[2].actions[0].configuration: provider "Noop" takes no configuration`}},
		{"required configuration", func(p *Pipeline) {
			act(p, 0, 0).ActionTypeID.Provider = "CodeCommit"
			act(p, 0, 0).Configuration = map[string]string{"BranchName": "main"}
		}, []string{source + `.configuration: missing RepositoryName (required by provider "CodeCommit")`}},
		{"configuration sizes", func(p *Pipeline) {
			act(p, 1, 0).Configuration = map[string]string{strings.Repeat("k", 51): "v", "v": strings.Repeat("x", 1001), "": "e"}
		}, []string{
			compile + ".configuration: empty configuration key",
			compile + ".configuration." + strings.Repeat("k", 51) + ": configuration key too long: 51 characters, at most 50",
			compile + ".configuration.v: too long: 1001 characters, at most 1000"}},

		// Commands.
		{"commands required", func(p *Pipeline) { act(p, 1, 1).Commands = nil }, []string{
			pkg + `.commands: required for provider "Commands"`}},
		{"commands only for Commands", func(p *Pipeline) { act(p, 0, 0).Commands = []string{"x"} }, []string{
			source + ".commands: only Commands actions take commands"}},
		{"output variables only for Commands", func(p *Pipeline) { act(p, 0, 0).OutputVariables = []string{"X"} }, []string{
			source + ".outputVariables: only Commands actions declare output variables"}},
		{"too many commands", func(p *Pipeline) {
			act(p, 1, 1).Commands = manyStrings(51, func(int) string { return "x" })
		}, []string{pkg + ".commands: too many commands: 51, at most 50"}},
		{"empty and long commands", func(p *Pipeline) {
			act(p, 1, 1).Commands = []string{" ", strings.Repeat("x", 1001)}
		}, []string{
			pkg + ".commands[0]: empty command",
			pkg + ".commands[1]: too long: 1001 characters, at most 1000"}},
		{"output variables", func(p *Pipeline) {
			act(p, 1, 0).OutputVariables = []string{"VERSION", "a.b", "VERSION", ""}
		}, []string{
			compile + `.outputVariables[1]: "a.b" is not a valid output variable name: use 1 to 128 of A-Z a-z 0-9 @ _ -`,
			compile + `.outputVariables[2]: output variable "VERSION" is already declared by stages[1].actions[0].outputVariables[0]`,
			compile + ".outputVariables[3]: required"}},
		{"too many output variables", func(p *Pipeline) {
			act(p, 1, 0).OutputVariables = manyStrings(16, func(i int) string { return "V" + strconv.Itoa(i) })
		}, []string{
			compile + ".outputVariables: too many output variables: 16, at most 15",
			pkg + `.commands[0]: #{build.VERSION}: action "Compile" in stage "Build" does not declare output variable "VERSION"`}},

		// Namespaces.
		{"duplicate namespace", func(p *Pipeline) { act(p, 1, 1).Namespace = "source" }, []string{
			pkg + `.namespace: namespace "source" is already used by action "Checkout" in stage "Source"`}},
		{"namespace characters", func(p *Pipeline) { act(p, 1, 1).Namespace = "a.b" }, []string{
			pkg + `.namespace: "a.b" is not a valid namespace: use 1 to 100 of A-Z a-z 0-9 @ _ -`}},
		{"reserved namespace", func(p *Pipeline) { act(p, 1, 1).Namespace = "variables" }, []string{
			pkg + `.namespace: namespace "variables" is reserved`}},
		{"namespace named like an artifact", func(p *Pipeline) { act(p, 1, 1).Namespace = "src" }, []string{
			pkg + `.namespace: namespace "src" is also the name of an artifact`}},

		// Variable references.
		{"reference to an unknown namespace", func(p *Pipeline) { act(p, 1, 1).Commands[0] = "echo #{bulid.VERSION}" }, []string{
			pkg + `.commands[0]: #{bulid.VERSION}: unknown namespace "bulid" (did you mean "build"?)`}},
		{"reference to a later action", func(p *Pipeline) {
			act(p, 1, 1).Namespace = "pkg"
			act(p, 1, 0).Configuration = map[string]string{"X": "#{pkg.Y}"}
		}, []string{compile + `.configuration.X: #{pkg.Y} refers to action "Package" in stage "Build", which does not run before this action`}},
		{"reference to itself", func(p *Pipeline) { act(p, 1, 0).Commands[0] = "#{build.VERSION}" }, []string{
			compile + `.commands[0]: #{build.VERSION} refers to action "Compile" in stage "Build", which does not run before this action`}},
		{"undeclared output variable", func(p *Pipeline) { act(p, 1, 1).Commands[0] = "#{build.VERSON}" }, []string{
			pkg + `.commands[0]: #{build.VERSON}: action "Compile" in stage "Build" does not declare output variable "VERSON" (did you mean "VERSION"?)`}},
		{"any output variable of other providers", func(p *Pipeline) { act(p, 1, 1).Commands[0] = "#{source.Anything}" }, nil},
		{"undeclared pipeline variable", func(p *Pipeline) { act(p, 1, 1).Commands[0] = "#{variables.env}" }, []string{
			pkg + `.commands[0]: #{variables.env} refers to undeclared pipeline variable "env" (did you mean "ENV"?)`}},
		{"unknown codepipeline variable", func(p *Pipeline) { act(p, 1, 1).Commands[0] = "#{codepipeline.ExecutionId}" }, []string{
			pkg + `.commands[0]: #{codepipeline.ExecutionId}: the codepipeline namespace holds only PipelineExecutionId and PipelineName`}},
		{"malformed references", func(p *Pipeline) {
			act(p, 1, 1).Commands = []string{"echo #{VERSION} #{ build.VERSION }", `echo "#{build.VERSION"`, "ruby -e 'puts \"#{1 + 1}\"'"}
		}, []string{
			pkg + `.commands[0]: malformed variable reference "#{VERSION}" (want #{namespace.name})`,
			pkg + `.commands[0]: malformed variable reference "#{ build.VERSION }" (want #{namespace.name})`,
			pkg + `.commands[1]: unterminated variable reference "#{build.VERSION" (want #{namespace.name})`}},

		// Other action settings.
		{"timeouts", func(p *Pipeline) {
			act(p, 1, 0).TimeoutInMinutes = 481
			act(p, 1, 1).TimeoutInMinutes = 1
			act(p, 0, 0).TimeoutInMinutes = 4
		}, []string{
			source + `.timeoutInMinutes: 4 is out of range 5 to 86400 for provider "Git"`,
			compile + `.timeoutInMinutes: 481 is out of range 1 to 480 for provider "Commands"`}},
		{"timeout upper bound", func(p *Pipeline) { act(p, 0, 0).TimeoutInMinutes = 86401 }, []string{
			source + `.timeoutInMinutes: 86401 is out of range 5 to 86400 for provider "Git"`}},
		{"timeout bounds that pass", func(p *Pipeline) {
			act(p, 1, 0).TimeoutInMinutes = 480
			act(p, 0, 0).TimeoutInMinutes = 86400
		}, nil},
		{"maxAttempts", func(p *Pipeline) {
			act(p, 1, 0).MaxAttempts = 11
			act(p, 1, 1).MaxAttempts = -1
		}, []string{
			compile + ".maxAttempts: 11 is out of range 0 to 10",
			pkg + ".maxAttempts: -1 is out of range 0 to 10"}},
		{"region", func(p *Pipeline) { act(p, 1, 0).Region = "us" }, []string{
			compile + `.region: "us" is not a valid region: use 4 to 30 characters`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := basePipeline()
			tt.mutate(p)
			var got []string
			for _, e := range p.Validate() {
				if e.File != "" || e.Line != 0 {
					t.Errorf("Validate set a file or line: %#v", e)
				}
				got = append(got, e.Error())
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestValidateReturnsNilWhenValid(t *testing.T) {
	if errs := basePipeline().Validate(); errs != nil {
		t.Fatalf("Validate() = %#v, want nil", errs)
	}
}
