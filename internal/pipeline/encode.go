package pipeline

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"
)

// Canonical returns p as JSON with defaults filled in, byte for byte the same
// for any two declarations that mean the same pipeline, however they were
// written (YAML or JSON, shortcuts or long form, defaults given or left out).
// Comparing it is how an apply decides whether anything changed.
func (p *Pipeline) Canonical() []byte {
	c := p.clone()
	c.SetDefaults()
	if c.Stages == nil {
		c.Stages = []Stage{}
	}
	for i := range c.Stages {
		if c.Stages[i].Actions == nil {
			c.Stages[i].Actions = []Action{}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	// encoding/json writes struct fields in declaration order and map keys
	// sorted, which is what makes the output canonical.
	if err := enc.Encode(c); err != nil {
		// Pipeline holds only strings, ints, slices and string maps,
		// which always encode.
		panic("pipeline: encoding a pipeline as JSON failed: " + err.Error())
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// clone copies p deeply enough that SetDefaults on the copy leaves p alone.
func (p *Pipeline) clone() *Pipeline {
	c := *p
	c.Variables = append([]Variable(nil), p.Variables...)
	if p.Stages != nil {
		c.Stages = make([]Stage, len(p.Stages))
		for i, st := range p.Stages {
			c.Stages[i] = st
			if st.Actions != nil {
				c.Stages[i].Actions = append([]Action(nil), st.Actions...)
			}
			c.Stages[i].BeforeEntry, c.Stages[i].OnSuccess, c.Stages[i].OnFailure = st.cloneConditions()
		}
	}
	return &c
}

// MarshalYAML writes p in sluice's native YAML form, which Parse reads back
// to an equal pipeline. Action types are written in the long form
// (actionTypeId) so the output also reads as CodePipeline's structure;
// artifacts without files are written as plain names.
//
// It is a function rather than a method because a method of that name would
// make Pipeline a yaml.Marshaler with a different signature.
func MarshalYAML(p *Pipeline) ([]byte, error) {
	root := mapNode()
	addStr(root, "name", p.Name, true)
	addStr(root, "pipelineType", p.PipelineType, false)
	addStr(root, "executionMode", string(p.ExecutionMode), false)
	addStr(root, "lock", p.Lock, false)
	addStr(root, "role", p.Role, false)
	if p.ForkSecrets {
		add(root, "forkSecrets", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"})
	}
	if cs := p.CommitStatus; cs != nil {
		m := mapNode()
		if cs.Report != nil {
			add(m, "report", &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(*cs.Report)})
		}
		addStr(m, "context", cs.Context, false)
		add(root, "commitStatus", m)
	}
	if len(p.ArtifactStores) > 0 {
		m := mapNode()
		for _, region := range slices.Sorted(maps.Keys(p.ArtifactStores)) {
			st := mapNode()
			addStr(st, "type", p.ArtifactStores[region].Type, true)
			addStr(st, "location", p.ArtifactStores[region].Location, true)
			add(m, region, st)
		}
		add(root, "artifactStores", m)
	}
	if len(p.Variables) > 0 {
		vars := seqNode()
		for _, v := range p.Variables {
			m := mapNode()
			addStr(m, "name", v.Name, true)
			addStr(m, "defaultValue", v.DefaultValue, false)
			addStr(m, "description", v.Description, false)
			vars.Content = append(vars.Content, m)
		}
		add(root, "variables", vars)
	}
	stages := seqNode()
	for _, st := range p.Stages {
		m := mapNode()
		addStr(m, "name", st.Name, true)
		addStr(m, "lock", st.Lock, false)
		actions := seqNode()
		for i := range st.Actions {
			actions.Content = append(actions.Content, actionNode(&st.Actions[i]))
		}
		add(m, "actions", actions)
		if st.BeforeEntry != nil {
			add(m, "beforeEntry", conditionsNode(st.BeforeEntry))
		}
		if st.OnSuccess != nil {
			add(m, "onSuccess", conditionsNode(st.OnSuccess))
		}
		if st.OnFailure != nil {
			add(m, "onFailure", conditionsNode(st.OnFailure))
		}
		stages.Content = append(stages.Content, m)
	}
	add(root, "stages", stages)
	if len(p.Triggers) > 0 {
		add(root, "triggers", triggersNode(p.Triggers))
	}

	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func actionNode(a *Action) *yaml.Node {
	m := mapNode()
	addStr(m, "name", a.Name, true)
	id := mapNode()
	addStr(id, "category", a.ActionTypeID.Category, false)
	addStr(id, "owner", a.ActionTypeID.Owner, false)
	addStr(id, "provider", a.ActionTypeID.Provider, true)
	addStr(id, "version", a.ActionTypeID.Version, false)
	add(m, "actionTypeId", id)
	addInt(m, "runOrder", a.RunOrder)
	if len(a.Configuration) > 0 {
		c := mapNode()
		for _, k := range sortedKeys(a.Configuration) {
			add(c, k, strNode(a.Configuration[k]))
		}
		add(m, "configuration", c)
	}
	addStrs(m, "commands", a.Commands)
	if len(a.InputArtifacts) > 0 {
		in := seqNode()
		for _, ia := range a.InputArtifacts {
			in.Content = append(in.Content, strNode(ia.Name))
		}
		add(m, "inputArtifacts", in)
	}
	if len(a.OutputArtifacts) > 0 {
		out := seqNode()
		for _, oa := range a.OutputArtifacts {
			if len(oa.Files) == 0 {
				out.Content = append(out.Content, strNode(oa.Name))
				continue
			}
			o := mapNode()
			addStr(o, "name", oa.Name, true)
			addStrs(o, "files", oa.Files)
			out.Content = append(out.Content, o)
		}
		add(m, "outputArtifacts", out)
	}
	addStrs(m, "outputVariables", a.OutputVariables)
	addStr(m, "namespace", a.Namespace, false)
	addStr(m, "region", a.Region, false)
	addInt(m, "timeoutInMinutes", a.TimeoutInMinutes)
	addInt(m, "maxAttempts", a.MaxAttempts)
	return m
}

func mapNode() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }
func seqNode() *yaml.Node { return &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"} }

// strNode makes a string scalar. yaml.v3 quotes strings that would otherwise
// read back as another type, except "<<", which it writes bare and which
// would then read back as a merge key.
func strNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if s == "<<" {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}

func add(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, strNode(key), v)
}

func addStr(m *yaml.Node, key, value string, always bool) {
	if value != "" || always {
		add(m, key, strNode(value))
	}
}

func addInt(m *yaml.Node, key string, value int) {
	if value != 0 {
		add(m, key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.Itoa(value)})
	}
}

func addStrs(m *yaml.Node, key string, values []string) {
	if len(values) == 0 {
		return
	}
	s := seqNode()
	for _, v := range values {
		s.Content = append(s.Content, strNode(v))
	}
	add(m, key, s)
}
