package slurm_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/gsv-platform/waldur-agent-go/backends/slurm"
)

// recorded is a Runner that answers commands with recorded output, keyed
// by the command line, and notes every command it is asked to run. A
// command it has no answer for fails the test and answers "" (so that a
// command that only changes Slurm needs no answer unless its output
// matters, use want).
type recorded struct {
	t       testing.TB
	mu      sync.Mutex
	answers map[string]answer
	calls   []string
	strict  bool // unknown commands fail the test
}

type answer struct {
	out string
	err error
}

func newRecorded(t testing.TB) *recorded {
	return &recorded{t: t, answers: map[string]answer{}}
}

// on records the output of a command line.
func (r *recorded) on(cmd, out string) *recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.answers[cmd] = answer{out: out}
	return r
}

// fail makes a command line exit 1 with Slurm's message.
func (r *recorded) fail(cmd, msg string) *recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	name, rest, _ := strings.Cut(cmd, " ")
	r.answers[cmd] = answer{err: &slurm.CommandError{Name: name, Args: strings.Fields(rest), ExitCode: 1, Message: msg}}
	return r
}

func (r *recorded) Run(_ context.Context, name string, args ...string) ([]byte, error) {
	cmd := name + " " + strings.Join(args, " ")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, cmd)
	a, ok := r.answers[cmd]
	if !ok && r.strict {
		r.t.Errorf("unexpected command: %s", cmd)
		return nil, fmt.Errorf("unexpected command %q", cmd)
	}
	return []byte(a.out), a.err
}

// commands returns the commands run so far, and forgets them.
func (r *recorded) commands() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.calls
	r.calls = nil
	return out
}
