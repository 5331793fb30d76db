package cloudformation

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"github.com/sluice-ci/sluice/internal/awsconn"
	"github.com/sluice-ci/sluice/internal/awsconn/mototest"
	"github.com/sluice-ci/sluice/internal/provider"
)

// countingTransport counts the API calls made through it and the time
// spent waiting for their answers.
type countingTransport struct{ n, wait atomic.Int64 }

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	start := time.Now()
	resp, err := http.DefaultTransport.RoundTrip(r)
	c.wait.Add(int64(time.Since(start)))
	return resp, err
}

func (c *countingTransport) report(b *testing.B) {
	b.ReportMetric(float64(c.n.Load())/float64(b.N), "calls/op")
	b.ReportMetric(float64(c.wait.Load())/1e6/float64(b.N), "api-ms/op")
}

const benchTemplate = `{"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": {"Fn::Sub": "/bench/${AWS::StackName}"}, "Type": "String", "Value": "v"}}},
 "Outputs": {"Name": {"Value": {"Ref": "P"}}}}`

// BenchmarkCreateStack measures what sluice adds to a CloudFormation action:
// "sdk" is the stack operation alone (CreateStack, then DescribeStacks until
// it is done: one call each against moto, which creates stacks
// synchronously); "action" is the CloudFormation provider's CREATE_UPDATE
// run of the same template from an input artifact, with its log, outputs
// and output artifact. The difference per op is sluice's overhead; calls/op
// counts the API calls and api-ms/op the time spent waiting for their
// answers, so that ns/op less api-ms/op is the time spent in sluice's and
// the SDK's own code. (The parameter is named: moto answers 500 for an
// AWS::SSM::Parameter without a Name, which AWS would generate.)
//
//	go test -run '^$' -bench CreateStack -benchtime 200x ./internal/provider/cloudformation/
func BenchmarkCreateStack(b *testing.B) {
	m := startMoto(b)
	counter := &countingTransport{}
	conn := func() *awsconn.Conn {
		c := m.conn()
		c.Config.HTTPClient = &http.Client{Transport: counter}
		return c
	}
	cfn := cloudformation.NewFromConfig(conn().Config, func(o *cloudformation.Options) { o.BaseEndpoint = aws.String(m.endpoint) })
	ctx := context.Background()
	n := 0
	b.Run("sdk", func(b *testing.B) {
		(&mototest.Server{URL: m.endpoint}).Reset(b) // the same number of stacks before each
		counter.n.Store(0)
		counter.wait.Store(0)
		for b.Loop() {
			n++
			name := fmt.Sprintf("sdk-%d-%d", time.Now().UnixNano(), n)
			if _, err := cfn.CreateStack(ctx, &cloudformation.CreateStackInput{StackName: aws.String(name), TemplateBody: aws.String(benchTemplate)}); err != nil {
				b.Fatal(err)
			}
			if st, err := describe(ctx, cfn, name); err != nil || st == nil || !succeeded(st.StackStatus) {
				b.Fatalf("%v %v", st, err)
			}
		}
		counter.report(b)
	})
	b.Run("action", func(b *testing.B) {
		(&mototest.Server{URL: m.endpoint}).Reset(b) // the same number of stacks before each
		counter.n.Store(0)
		counter.wait.Store(0)
		for b.Loop() {
			n++
			b.StopTimer()
			job, _ := m.job(b, map[string]string{"ActionMode": ModeCreateUpdate, "StackName": fmt.Sprintf("act-%d-%d", time.Now().UnixNano(), n),
				"TemplatePath": "src::t.json", "OutputFileName": "out.json"}, []string{"src"}, artifacts{"src": {"t.json": benchTemplate}})
			job.AWS = func(context.Context, string) (*awsconn.Conn, error) { return conn(), nil }
			b.StartTimer()
			if _, err := fast.Run(ctx, job); err != nil {
				b.Fatal(err)
			}
		}
		counter.report(b)
	})
}

var _ provider.Provider = Provider{}
