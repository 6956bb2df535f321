package main_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// binary is the command, built once for all tests as a user would build it.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "waldur-agent")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "waldur-agent")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

// agent runs the binary to completion, with no WALDUR_ variables from the
// test's environment.
func agent(t *testing.T, args ...string) result {
	t.Helper()
	return agentWithEnv(t, nil, args...)
}

// agentWithEnv is agent with these variables added to the environment.
func agentWithEnv(t *testing.T, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %v: %v", args, err)
	}
	return result{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
}

func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "WALDUR_") {
			env = append(env, kv)
		}
	}
	return env
}

// site is a fake Waldur with an offering and a configuration file for it.
type site struct {
	fake     *waldurtest.Server
	offering waldur.UUID
	volumes  string
	dir      string
}

func newSite(t *testing.T, spec waldurtest.OfferingSpec) *site {
	fake := waldurtest.NewServer(t)
	spec.Name = "Demo storage"
	spec.Components = []waldurtest.ComponentSpec{{Type: "storage", Name: "Storage", MeasuredUnit: "GB", BillingType: "limit"}}
	return &site{fake: fake, offering: fake.AddOffering(spec), volumes: t.TempDir(), dir: t.TempDir()}
}

// config writes agent.yaml with the example's shell-script backend; extra
// lines go into the offering's entry.
func (s *site) config(t *testing.T, token string, offering waldur.UUID, extra ...string) string {
	t.Helper()
	bin, err := filepath.Abs("../../examples/exec-backend/bin")
	require.NoError(t, err)
	yaml := fmt.Sprintf(`offerings:
  - name: Demo storage
    waldur_api_url: %s/api/
    waldur_api_token: %s
    waldur_offering_uuid: %s
    backend_type: exec
    backend_settings:
      create: %s/create.sh
      update: %s/update.sh
      terminate: %s/terminate.sh
      usage: %s/usage.sh
      env: {VOLUMES_DIR: %s}
    backend_components:
      storage: {measured_unit: GB, accounting_type: limit, label: Storage}
`, s.fake.URL(), token, waldur.Hex(offering), bin, bin, bin, bin, s.volumes)
	for _, l := range extra {
		yaml += "    " + l + "\n"
	}
	path := filepath.Join(s.dir, "agent.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	return path
}

// register makes the agent's identity and a service, as a run would.
func (s *site) register(t *testing.T) {
	c := s.fake.Client()
	id, err := c.Agents.CreateIdentity(t.Context(), waldur.AgentIdentityRequest{Name: "agent-" + waldur.Hex(s.offering), Offering: s.offering})
	require.NoError(t, err)
	_, _, err = c.Agents.RegisterService(t.Context(), id.UUID, "order_process", "order_process")
	require.NoError(t, err)
}

func TestCommandLine(t *testing.T) {
	r := agent(t)
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "usage: waldur-agent <command>")
	r = agent(t, "frobnicate")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `unknown command "frobnicate"`)
	r = agent(t, "help")
	assert.Equal(t, 0, r.code)
	for _, c := range []string{"run", "diagnose", "load-components", "test-order", "healthz"} {
		assert.Contains(t, r.stderr, "  "+c+" ")
	}
	r = agent(t, "diagnose", "-h")
	assert.Equal(t, 0, r.code)
	assert.Contains(t, r.stderr, "-config")
	r = agent(t, "run")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "-config is required")
	r = agent(t, "run", "-config", filepath.Join(t.TempDir(), "missing.yaml"))
	assert.Equal(t, 78, r.code, "EX_CONFIG: systemd does not restart")
	assert.Contains(t, r.stderr, "no such file")
}

func TestRunWithAWrongTokenStopsWithExConfig(t *testing.T) {
	s := newSite(t, waldurtest.OfferingSpec{})
	r := agent(t, "run", "-listen", "", "-config", s.config(t, "0123456789abcdef0123456789abcdef01234567", s.offering))
	assert.Equal(t, 78, r.code, r.stderr)
	assert.Contains(t, r.stderr, "Waldur rejected the agent's credentials")
	assert.Contains(t, r.stderr, "(run waldur-agent diagnose)")
}

func TestMissingProgramIsAConfigurationError(t *testing.T) {
	s := newSite(t, waldurtest.OfferingSpec{})
	cfg := s.config(t, s.fake.Token(), s.offering)
	data, err := os.ReadFile(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg, bytes.Replace(data, []byte("terminate.sh"), []byte("missing.sh"), 1), 0o600))

	r := agent(t, "diagnose", "-config", cfg)
	assert.Equal(t, 1, r.code)
	assert.Regexp(t, `✗ backend: .*terminate: .*missing\.sh`, r.stdout)
	r = agent(t, "test-order", "-config", cfg, "-template", writeTemplate(t, "name: x\n"))
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "missing.sh")
}

func TestDiagnoseHealthySite(t *testing.T) {
	s := newSite(t, waldurtest.OfferingSpec{})
	s.register(t)
	s.fake.AddOrder(waldurtest.OrderSpec{Offering: s.offering})
	r := agent(t, "diagnose", "-config", s.config(t, s.fake.Token(), s.offering))
	assert.Equal(t, 0, r.code, r.stdout+r.stderr)
	for _, want := range []string{
		"✓ configuration: ",
		"✓ Waldur: " + s.fake.URL() + "/api/ answers",
		"✓ token: user ",
		`✓ offering: "Demo storage", type Marketplace.Slurm, state Active, 1 components`,
		"✓ identity agent-" + waldur.Hex(s.offering),
		"✓ register_queue: queue consumer_",
		"- broker: polling configured",
		"✓ orders: 1 pending the provider, 0 executing, none stuck",
		"✓ clock: within 30s",
		"0 failed, 0 warnings",
	} {
		assert.Contains(t, r.stdout, want)
	}
}

func TestDiagnoseWrongToken(t *testing.T) {
	s := newSite(t, waldurtest.OfferingSpec{})
	r := agent(t, "diagnose", "-config", s.config(t, "0123456789abcdef0123456789abcdef01234567", s.offering))
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "✗ token: refused by Waldur (401: Invalid token.)")
	assert.NotContains(t, r.stdout+r.stderr, "0123456789abcdef0123456789abcdef01234567", "the token is never printed")
	assert.Contains(t, r.stdout, "1 failed")
}

func TestDiagnoseMissingOffering(t *testing.T) {
	s := newSite(t, waldurtest.OfferingSpec{})
	missing := waldur.UUID{0x7f, 0x3e, 0x5d, 0x1c}
	r := agent(t, "diagnose", "-config", s.config(t, s.fake.Token(), missing))
	assert.Equal(t, 1, r.code)
	assert.Regexp(t, `✗ offering 7f3e5d1c0{24}: not found, or user \S+ cannot see it`, r.stdout)
	assert.NotContains(t, r.stdout, "register_queue", "checks that need the offering are not run")
}

func TestDiagnoseUnreachableBrokerAndOfferingType(t *testing.T) {
	s := newSite(t, waldurtest.OfferingSpec{Type: "Marketplace.Basic"})
	s.register(t)
	port := closedPort(t)
	cfg := s.config(t, s.fake.Token(), s.offering, "stomp_enabled: true", "stomp_ws_host: 127.0.0.1",
		fmt.Sprintf("stomp_ws_port: %d", port), "websocket_use_tls: false")
	r := agent(t, "diagnose", "-config", cfg)
	assert.Equal(t, 1, r.code, r.stdout)
	assert.Contains(t, r.stdout, "! offering type Marketplace.Basic: Waldur refuses set_state_executing and set_state_erred")
	assert.Contains(t, r.stdout, "✓ register_queue: ")
	assert.Regexp(t, fmt.Sprintf(`✗ broker \(stomp\): ws://127\.0\.0\.1:%d/rmqws-stomp: .*refused`, port), r.stdout)
	assert.Contains(t, r.stdout, "1 failed, 1 warnings")
}

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := ln.Addr().(*net.TCPAddr).Port
	require.NoError(t, ln.Close())
	return port
}

func writeTemplate(t *testing.T, body string) string {
	p := filepath.Join(t.TempDir(), "order.yaml")
	require.NoError(t, os.WriteFile(p, []byte(body), 0o600))
	return p
}

func TestTestOrder(t *testing.T) {
	s := newSite(t, waldurtest.OfferingSpec{})
	cfg := s.config(t, s.fake.Token(), s.offering)

	r := agent(t, "test-order", "-config", cfg, "-template", writeTemplate(t, "type: Create\nname: results\nlimits: {storage: 100}\n"))
	assert.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Regexp(t, `(?s)Create order [0-9a-f]{8} for "results" against an embedded fake Waldur\n.*approve_by_provider\n.*set_state_done\norder done\nresource "results": state OK, backend_id vol-[0-9a-f]{8}, endpoint NFS export nfs://`, r.stdout)
	assert.Empty(t, s.fake.Orders(), "the configured Waldur is not touched")

	r = agent(t, "test-order", "-config", cfg, "-template", writeTemplate(t, "type: Create\nname: everything\nlimits: {storage: 50000}\n"))
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "set_state_erred\norder erred: 50000 GB is more than one volume holds\n")

	r = agent(t, "test-order", "-config", cfg, "-template", writeTemplate(t, "type: Update\nname: archive\nlimits: {storage: 800}\nresource: {backend_id: vol-archive, limits: {storage: 500}}\n"))
	assert.Equal(t, 0, r.code, r.stdout+r.stderr)
	data, err := os.ReadFile(filepath.Join(s.volumes, "vol-archive"))
	require.NoError(t, err)
	assert.Equal(t, "800\n", string(data))

	r = agent(t, "test-order", "-config", cfg, "-template", writeTemplate(t, "type: Delete\n"))
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, `type "Delete" is not Create, Update, Terminate or Restore`)
}

func TestRunAndHealthz(t *testing.T) {
	s := newSite(t, waldurtest.OfferingSpec{})
	order := s.fake.AddOrder(waldurtest.OrderSpec{Offering: s.offering, Attributes: map[string]any{"name": "results"}, Limits: map[string]int64{"storage": 100}})
	cfg := s.config(t, s.fake.Token(), s.offering)
	data, err := os.ReadFile(cfg)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cfg, append([]byte("log_shipping:\n  enabled: true\n  level: INFO\n"), data...), 0o600))

	cmd := exec.Command(binary, "run", "-config", cfg, "-listen", "127.0.0.1:0")
	cmd.Env = cleanEnv()
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill() })

	// The agent logs where it listens; the rest of its log is kept.
	lines := bufio.NewScanner(stderr)
	var base string
	var log strings.Builder
	re := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)`)
	for base == "" && lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if m := re.FindStringSubmatch(lines.Text()); m != nil {
			base = m[1]
		}
	}
	require.NotEmpty(t, base, log.String())
	logged := make(chan string)
	go func() {
		for lines.Scan() {
			log.WriteString(lines.Text() + "\n")
		}
		logged <- log.String()
	}()

	require.NoError(t, s.fake.WaitFor(t.Context(), func() bool {
		o, _ := s.fake.Order(order)
		return o.State == waldur.OrderStateDone
	}))
	r := agent(t, "healthz", "-url", base+"/healthz")
	assert.Equal(t, 0, r.code, r.stdout)
	assert.Contains(t, r.stdout, `ok {"status":"ok"`)

	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), `waldur_agent_orders_total{outcome="done"} 1`)
	assert.Contains(t, string(body), `waldur_agent_rest_requests_total{code="200",method="GET"}`)

	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	out := <-logged
	require.NoError(t, cmd.Wait(), out)
	assert.Equal(t, 0, cmd.ProcessState.ExitCode())
	assert.Contains(t, out, "waldur-agent: running")
	assert.NotContains(t, out, "\r", "no progress line when stderr is not a terminal")
	assert.NotContains(t, out, s.fake.Token(), "the token is never logged")
	var shipped []string
	for _, l := range s.fake.Logs() {
		shipped = append(shipped, l.Message)
	}
	assert.Contains(t, strings.Join(shipped, "\n"), "waldur-agent: running", "log_shipping sends the agent's log to Waldur")

	r = agent(t, "healthz", "-url", base+"/healthz")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "unavailable: ")
}
