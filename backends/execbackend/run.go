package execbackend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	osexec "os/exec"
	"strings"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
)

// Exit codes with a meaning beyond success and failure.
const (
	// ExitTransient (EX_TEMPFAIL of sysexits.h) asks the agent to retry.
	ExitTransient = 75
)

// stderrTail is how much of a program's standard error goes into an error.
const stderrTail = 4 << 10

// killDelay is how long a timed-out program has between SIGTERM and SIGKILL.
const killDelay = 5 * time.Second

// secretEnv names variables never passed to programs.
var secretEnv = []string{"WALDUR_API_TOKEN", "WALDUR_API_TOKEN_FILE", "WALDUR_OIDC_CLIENT_SECRET"}

// runner starts commands.
type runner struct {
	dir       string
	env       []string // the base environment, secrets removed, Config.Env added
	timeout   time.Duration
	maxOutput int
}

func newRunner(c *Config) *runner {
	env := make([]string, 0, len(os.Environ())+len(c.Env)+1)
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !isSecret(name) {
			env = append(env, kv)
		}
	}
	for k, v := range c.Env {
		env = append(env, k+"="+v)
	}
	return &runner{dir: c.Dir, env: env, timeout: c.Timeout, maxOutput: c.MaxOutput}
}

func isSecret(name string) bool {
	for _, s := range secretEnv {
		if name == s {
			return true
		}
	}
	return false
}

// run starts cmd with req as JSON on standard input and decodes its
// standard output into resp (unless resp is nil or the output is empty).
// The error says whether retrying may help: permanent errors are wrapped
// with siteagent.Permanent.
func (r *runner) run(ctx context.Context, cmd Command, req request, resp any) error {
	in, err := json.Marshal(req)
	if err != nil {
		return siteagent.Permanent(fmt.Errorf("encode request: %w", err))
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	c := osexec.CommandContext(ctx, cmd[0], cmd[1:]...)
	c.Dir = r.dir
	c.Env = append(r.env[:len(r.env):len(r.env)], "WALDUR_ACTION="+req.Action)
	c.Stdin = bytes.NewReader(in)
	stdout := &boundedBuffer{max: r.maxOutput}
	stderr := &tailBuffer{max: stderrTail}
	c.Stdout, c.Stderr = stdout, stderr
	c.WaitDelay = killDelay
	setProcessGroup(c)

	err = c.Run()
	msg := strings.TrimSpace(stderr.String())
	switch {
	case err == nil:
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%s: timed out after %s%s", req.Action, r.timeout, suffix(msg))
	case ctx.Err() != nil:
		return fmt.Errorf("%s: %w%s", req.Action, ctx.Err(), suffix(msg))
	default:
		var exit *osexec.ExitError
		if !errors.As(err, &exit) {
			// Not found, not executable: the deployment is wrong, not the order.
			return fmt.Errorf("%s: start %s: %w", req.Action, cmd[0], err)
		}
		code := exit.ExitCode()
		if code < 0 { // killed by a signal
			return fmt.Errorf("%s: %s%s", req.Action, exit, suffix(msg))
		}
		if msg == "" {
			msg = fmt.Sprintf("exit status %d", code)
		}
		if code == ExitTransient {
			return &ExitError{Action: req.Action, Code: code, Stderr: msg}
		}
		return siteagent.Permanent(&ExitError{Action: req.Action, Code: code, Stderr: msg})
	}
	if stdout.overflow {
		return siteagent.Permanent(fmt.Errorf("%s: answer larger than %d bytes", req.Action, r.maxOutput))
	}
	out := bytes.TrimSpace(stdout.Bytes())
	if resp == nil || len(out) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	if err := dec.Decode(resp); err != nil {
		return siteagent.Permanent(fmt.Errorf("%s: answer is not the expected JSON: %w", req.Action, err))
	}
	if dec.More() {
		return siteagent.Permanent(fmt.Errorf("%s: answer has more than one JSON value", req.Action))
	}
	return nil
}

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

// ExitError is a program's non-zero exit. Its message is the program's
// standard error, which Waldur shows on an erred order.
type ExitError struct {
	Action string // the request's action, e.g. "create"
	Code   int    // the exit status
	Stderr string // the tail of standard error, trimmed; "exit status N" if empty
}

func (e *ExitError) Error() string { return e.Stderr }

// Transient reports whether the exit asked for a retry.
func (e *ExitError) Transient() bool { return e.Code == ExitTransient }

// boundedBuffer keeps up to max bytes and notes whether more came.
type boundedBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.overflow = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil // keep draining so the program does not block
	}
	return b.Buffer.Write(p)
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	buf []byte
	max int
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string { return string(b.buf) }
