package pipeline

// SetDefaults fills in what a declaration may leave out: pipelineType V2,
// executionMode SUPERSEDED, runOrder 1, and the action type's owner, version
// and category from the provider table. Parse calls it; code that builds a
// Pipeline by hand may too.
func (p *Pipeline) SetDefaults() {
	if p.PipelineType == "" {
		p.PipelineType = "V2"
	}
	if p.ExecutionMode == "" {
		p.ExecutionMode = Superseded
	}
	for si := range p.Stages {
		setRuleDefaults(&p.Stages[si])
		for ai := range p.Stages[si].Actions {
			a := &p.Stages[si].Actions[ai]
			if a.RunOrder == 0 {
				a.RunOrder = 1
			}
			id := &a.ActionTypeID
			info, known := providers[id.Provider]
			if id.Owner == "" {
				id.Owner = OwnerAWS
				if known {
					id.Owner = info.Owner
				}
			}
			if id.Version == "" {
				id.Version = "1"
			}
			if id.Category == "" && known && id.Owner == info.Owner {
				id.Category = info.Category
			}
		}
	}
}
