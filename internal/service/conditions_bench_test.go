package service_test

import (
	"slices"
	"testing"
	"time"
)

// BenchmarkConditionEntry measures what an entry condition whose rules pass
// at once (a VariableCheck and an always-open DeploymentWindow) adds to
// entering a stage: from the previous stage's last job reported successful
// to the stage's first job claimable, through the service and its SQLite
// transaction, with the condition and without. The difference of the two
// medians is the condition's cost.
func BenchmarkConditionEntry(b *testing.B) {
	for _, tc := range []struct{ name, stage string }{
		{"without", ""},
		{"with", `    beforeEntry:
      conditions:
        - result: FAIL
          rules:
            - name: Target
              ruleTypeId: {category: Rule, owner: AWS, provider: VariableCheck, version: "1"}
              configuration: {Variable: "#{variables.Target}", Operator: MATCHES, Value: "prod|staging"}
            - name: Always
              ruleTypeId: {category: Rule, owner: AWS, provider: DeploymentWindow, version: "1"}
              configuration: {Cron: "0 * * ? * * *"}
`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f := newFixture(b)
			f.apply(`name: p
executionMode: PARALLEL
variables: [{name: Target, defaultValue: prod}]
stages:
  - name: Build
    actions:
      - {name: build, provider: Noop}
  - name: Deploy
    actions:
      - {name: deploy, provider: Noop}
` + tc.stage)
			gaps := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				f.start("p")
				j := f.claim("w")
				b.StartTimer()
				t0 := time.Now()
				f.succeed(j, nil)
				next := f.claim("w")
				gaps = append(gaps, time.Since(t0))
				b.StopTimer()
				f.succeed(next, nil)
				b.StartTimer()
			}
			b.StopTimer()
			slices.Sort(gaps)
			b.ReportMetric(float64(gaps[len(gaps)/2].Microseconds())/1000, "ms-median/entry")
		})
	}
}
