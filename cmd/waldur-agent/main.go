// Command waldur-agent is a Waldur site agent for site operators: it runs
// the agent from a configuration file, checks a deployment, pushes offering
// components, and tries orders out against an embedded fake Waldur.
//
//	go install github.com/gsv-platform/waldur-agent-go/cmd/waldur-agent@latest
//
//	waldur-agent diagnose -config agent.yaml     # ✓/✗ per check, non-zero exit on a failure
//	waldur-agent test-order -config agent.yaml -template order.yaml
//	waldur-agent load-components -config agent.yaml [-apply]
//	waldur-agent run -config agent.yaml [-listen 127.0.0.1:8080]
//	waldur-agent healthz [-url http://127.0.0.1:8080/healthz]
//
// The configuration is the YAML file of Waldur's reference agent
// (waldur-site-agent; see siteagent/agentconfig), with the environment
// variables of agentconfig.FromEnv applied over it. Its backend_type names
// the backend: "slurm" is backends/slurm, with the reference agent's Slurm
// settings; "exec" runs the site's own programs (backends/execbackend),
// configured in backend_settings:
//
//	backend_type: exec
//	backend_settings:
//	  create: ./bin/create.sh          # a program, or a list: [program, arg, ...]
//	  update: ./bin/update.sh
//	  terminate: ./bin/terminate.sh
//	  usage: ./bin/usage.sh            # optional, as are evaluate and
//	  timeout: 2m                      # list_members/add_members/remove_members
//	  env: {POOL: ssd}                 # added to the programs' environment
//
// Relative program paths and dir are taken from the configuration file's
// directory. A file with several offerings needs -offering to pick one:
// run one process per offering.
//
// Exit status: 0 on success, 1 when the work failed (a failed check, an
// erred order), 2 for a wrong command line or configuration. run exits 78
// (EX_CONFIG) for a configuration or a token Waldur rejects, which the
// systemd unit in deploy/ does not restart.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// exitError carries an exit status out of a subcommand.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError is a wrong command line or configuration: exit status 2.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// failed is work that did not succeed: exit status 1, nothing more to say.
var errFailed = &exitError{code: 1, err: errors.New("failed")}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *env, args []string) error
}

var commands = []command{
	{"run", "run the agent", runCommand},
	{"diagnose", "check the configuration, Waldur, the offering, registration and the broker", diagnoseCommand},
	{"load-components", "push the configured components to the offering (dry run unless -apply)", loadComponentsCommand},
	{"test-order", "run an order from a template through the backend against an embedded fake Waldur", testOrderCommand},
	{"healthz", "probe a running agent's /healthz (for container health checks)", healthzCommand},
}

// env is what a subcommand may touch of the process.
type env struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// tty reports whether stderr is a terminal, for progress lines.
	tty bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	e := &env{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, tty: isTerminal(os.Stderr)}
	code := run(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

func run(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(e.stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, e, args[1:])
		if err == nil {
			return 0
		}
		var ee *exitError
		if errors.As(err, &ee) {
			if ee != errFailed {
				fmt.Fprintf(e.stderr, "waldur-agent %s: %v\n", c.name, ee.err)
			}
			return ee.code
		}
		fmt.Fprintf(e.stderr, "waldur-agent %s: %v\n", c.name, err)
		return 1
	}
	fmt.Fprintf(e.stderr, "waldur-agent: unknown command %q\n\n", args[0])
	usage(e.stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: waldur-agent <command> [flags]\n\ncommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun waldur-agent <command> -h for a command's flags.")
}

func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
