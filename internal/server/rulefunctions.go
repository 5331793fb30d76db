package server

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/sluice-ci/sluice/internal/event"
	"github.com/sluice-ci/sluice/internal/function"
	"github.com/sluice-ci/sluice/internal/provider/lambda"
	"github.com/sluice-ci/sluice/internal/service"
	"github.com/sluice-ci/sluice/internal/worker"
)

// ruleFunctions runs the functions of event rules' targets in the server's
// process, with the Function provider's command and URL invocation: the
// event (or the transformed input) on a command's standard input, or as a
// URL's body. Each command runs in a fresh temporary directory unless its
// function names one.
type ruleFunctions struct {
	provider  lambda.Provider
	serverURL string
	// creds makes a command function's AWS credentials for the endpoint
	// at serverURL (nil: none), region is the server's AWS region.
	creds  functionCredentials
	region string
}

// functionCredentials is what *service.Service does for functions' AWS
// credentials.
type functionCredentials interface {
	FunctionCredentials(ctx context.Context, fn function.Function, jobID string) (*service.FunctionCredentials, func(), error)
}

// awsEnv is the environment that points an AWS SDK or CLI at sluice's
// AWS-compatible endpoint with c.
func awsEnv(serverURL, region, function string, c *service.FunctionCredentials) []string {
	return []string{
		"AWS_LAMBDA_FUNCTION_NAME=" + function,
		"AWS_ENDPOINT_URL=" + serverURL, "AWS_REGION=" + region, "AWS_DEFAULT_REGION=" + region,
		"AWS_ACCESS_KEY_ID=" + c.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey,
		// Nothing else of the host's AWS configuration applies.
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null",
	}
}

var _ event.FunctionInvoker = ruleFunctions{}

// outputTail is how much of a failed command's output its error quotes.
const outputTail = 2 << 10

// InvokeFunction implements event.FunctionInvoker.
func (r ruleFunctions) InvokeFunction(ctx context.Context, fn function.Function, input []byte) error {
	dir, err := os.MkdirTemp("", "sluice-rule-function-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	out := &tail{max: outputTail}
	env := append(worker.DefaultBaseEnv(), "SLUICE_SERVER="+r.serverURL)
	if fn.URL == "" && r.creds != nil {
		c, revoke, err := r.creds.FunctionCredentials(ctx, fn, "")
		if err != nil {
			return fmt.Errorf("function %s: its AWS credentials: %w", fn.Name, err)
		}
		// The key dies with the invocation.
		defer revoke()
		if c != nil {
			env = append(env, awsEnv(r.serverURL, r.region, fn.Name, c)...)
		}
	}
	err = r.provider.Invoke(ctx, &fn, input, lambda.Invocation{
		Dir: dir, ScratchDir: dir, Env: env, Log: out,
		Headers: map[string]string{"X-Sluice-Server": r.serverURL},
	})
	if err != nil {
		if o := strings.TrimSpace(out.String()); o != "" {
			return fmt.Errorf("%w; its output ends: %s", err, o)
		}
	}
	return err
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.ToValidUTF8(string(t.buf), "")
}
