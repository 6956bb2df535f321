package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// DefaultTimeout bounds one Slurm command when ExecRunner.Timeout is zero.
const DefaultTimeout = time.Minute

// Runner runs one Slurm command: the program name ("sacctmgr", "sacct")
// and its arguments, never through a shell. It returns what the command
// wrote to standard output, or an error; a command that ran and failed is
// a *CommandError. Tests use a recorded Runner; ExecRunner runs the
// programs.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// RunnerFunc adapts a function to Runner.
type RunnerFunc func(ctx context.Context, name string, args ...string) ([]byte, error)

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return f(ctx, name, args...)
}

// ExecRunner runs Slurm's programs as child processes.
type ExecRunner struct {
	// BinDir is the directory of sacctmgr and sacct; "" looks them up in
	// PATH.
	BinDir string
	// Timeout bounds each command; the process is killed when it passes.
	// Default DefaultTimeout.
	Timeout time.Duration
}

// Run implements Runner.
func (r ExecRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	path := name
	if r.BinDir != "" {
		path = filepath.Join(r.BinDir, name)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err == nil {
		return stdout.Bytes(), nil
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("slurm: %s: %w (timeout %s)", commandLine(name, args), ctx.Err(), timeout)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return stdout.Bytes(), &CommandError{Name: name, Args: args, ExitCode: exit.ExitCode(),
			Message: message(stderr.String(), stdout.String())}
	}
	return nil, fmt.Errorf("slurm: %s: %w", commandLine(name, args), err)
}

// CommandError is a Slurm command that ran and exited non-zero. Message
// is what Slurm said (its standard error, or its output when that is
// empty), so errors quote Slurm's own words.
type CommandError struct {
	Name     string
	Args     []string
	ExitCode int
	Message  string
}

func (e *CommandError) Error() string {
	msg := e.Message
	if msg == "" {
		msg = "no message"
	}
	return fmt.Sprintf("slurm: %s: exit status %d: %s", commandLine(e.Name, e.Args), e.ExitCode, msg)
}

// nothingDone reports whether err is sacctmgr's exit status 1 for a
// change that was already in place ("Nothing modified", "Nothing
// deleted", "Nothing new added"): for an idempotent step that is success.
func nothingDone(err error) bool {
	var ce *CommandError
	return errors.As(err, &ce) && strings.HasPrefix(ce.Message, "Nothing ")
}

// message condenses Slurm's output to one line.
func message(stderr, stdout string) string {
	s := strings.TrimSpace(stderr)
	if s == "" {
		s = strings.TrimSpace(stdout)
	}
	s = strings.Join(strings.Fields(s), " ")
	s = strings.TrimPrefix(s, "sacctmgr: ")
	s = strings.TrimPrefix(s, "sacct: ")
	const max = 500
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

func commandLine(name string, args []string) string {
	return name + " " + strings.Join(args, " ")
}
