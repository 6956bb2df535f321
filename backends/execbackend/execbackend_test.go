package execbackend_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/backends/execbackend"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// script writes an executable shell script and returns its command.
func script(t *testing.T, body string) execbackend.Command {
	t.Helper()
	p := filepath.Join(t.TempDir(), "backend.sh")
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755))
	return execbackend.Command{p}
}

func mustUUID(s string) waldur.UUID {
	id, err := waldur.ParseUUID(s)
	if err != nil {
		panic(err)
	}
	return id
}

func newBackend(t *testing.T, cfg execbackend.Config) *execbackend.Backend {
	t.Helper()
	b, err := execbackend.New(cfg)
	require.NoError(t, err)
	return b
}

func createOrder(name string) *siteagent.Order {
	return &siteagent.Order{
		UUID: mustUUID("0b3c6a4e9f1d4c2ab8e7d6c5b4a39281"), Type: waldur.OrderTypeCreate,
		State: waldur.OrderStateExecuting, ResourceName: name, Attempt: 1,
		Limits: map[string]int64{"storage": 100}, Attributes: map[string]any{"name": name},
	}
}

func TestCreateReadsTheRequestAndReturnsTheAnswer(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "request.json")
	// The fixed argument names the file the script copies its stdin to.
	b := newBackend(t, execbackend.Config{Create: append(script(t, `cat > "$1"
echo '{"backend_id": "vol-1", "backend_metadata": {"pool": "ssd"}, "endpoints": [{"name": "NFS", "url": "nfs://filer/vol-1"}], "limits": {"storage": 128}}'`), in)})

	res, err := b.ProcessOrder(context.Background(), createOrder("results"))
	require.NoError(t, err)
	assert.Equal(t, siteagent.Result{
		BackendID: "vol-1", BackendMetadata: map[string]any{"pool": "ssd"},
		Endpoints: []siteagent.Endpoint{{Name: "NFS", URL: "nfs://filer/vol-1"}},
		Limits:    map[string]int64{"storage": 128},
	}, res)

	var req map[string]any
	data, err := os.ReadFile(in)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &req))
	assert.EqualValues(t, 1, req["protocol"])
	assert.Equal(t, "create", req["action"])
	order := req["order"].(map[string]any)
	assert.Equal(t, "0b3c6a4e9f1d4c2ab8e7d6c5b4a39281", order["uuid"])
	assert.Equal(t, "results", order["resource_name"])
	assert.Equal(t, map[string]any{"storage": float64(100)}, order["limits"])
}

func TestExitCodesDecideTransientOrPermanent(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      string
		permanent bool
		message   string
	}{
		{"exit 75 is transient", `echo "filer busy" >&2; exit 75`, false, "filer busy"},
		{"other exits are permanent", `echo "quota of 10 TB exceeded" >&2; exit 3`, true, "quota of 10 TB exceeded"},
		{"silent failure names the status", `exit 4`, true, "exit status 4"},
		{"unreadable answer is permanent", `echo 'not json'`, true, "answer is not the expected JSON"},
		{"two answers are permanent", `echo '{}'; echo '{}'`, true, "more than one JSON value"},
		{"stderr of a success is ignored", `echo "warning" >&2; echo '{"backend_id": "x"}'`, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t, execbackend.Config{Create: script(t, tc.body)})
			_, err := b.ProcessOrder(context.Background(), createOrder("x"))
			if tc.message == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, tc.permanent, siteagent.IsPermanent(err), "%v", err)
			assert.Contains(t, err.Error(), tc.message)
		})
	}
}

func TestStderrInTheErrorIsTheTail(t *testing.T) {
	b := newBackend(t, execbackend.Config{Create: script(t, `i=0; while [ $i -lt 2000 ]; do echo "line $i" >&2; i=$((i+1)); done; exit 2`)})
	_, err := b.ProcessOrder(context.Background(), createOrder("x"))
	var exit *execbackend.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 2, exit.Code)
	assert.LessOrEqual(t, len(exit.Stderr), 4<<10)
	assert.Contains(t, exit.Stderr, "line 1999")
	assert.NotContains(t, exit.Stderr, "line 1\n")
}

func TestTimeoutKillsTheProgramAndIsTransient(t *testing.T) {
	// A background child keeps standard output open; the run still ends
	// because the program's whole process group is stopped.
	b := newBackend(t, execbackend.Config{
		Create:  script(t, `sleep 60 & sleep 60`),
		Timeout: 50 * time.Millisecond,
	})
	_, err := b.ProcessOrder(context.Background(), createOrder("x"))
	require.Error(t, err)
	assert.False(t, siteagent.IsPermanent(err))
	assert.Contains(t, err.Error(), "timed out after 50ms")
}

func TestMissingProgramIsTransient(t *testing.T) {
	b := newBackend(t, execbackend.Config{Create: execbackend.Command{filepath.Join(t.TempDir(), "missing")}})
	_, err := b.ProcessOrder(context.Background(), createOrder("x"))
	require.Error(t, err)
	assert.False(t, siteagent.IsPermanent(err))
	assert.Contains(t, err.Error(), "start")
}

func TestNoShellInterpolation(t *testing.T) {
	dir := t.TempDir()
	evil := `$(touch ` + dir + `/pwned); touch ` + dir + `/pwned2`
	// The script echoes the name it was given back as the backend id.
	b := newBackend(t, execbackend.Config{Create: script(t, `name=$(sed -n 's/.*"resource_name":"\([^"]*\)".*/\1/p')
printf '{"backend_id": "%s"}' "$name"`)})
	res, err := b.ProcessOrder(context.Background(), createOrder(evil))
	require.NoError(t, err)
	assert.Equal(t, evil, res.BackendID)
	assert.NoFileExists(t, filepath.Join(dir, "pwned"))
	assert.NoFileExists(t, filepath.Join(dir, "pwned2"))
}

func TestEnvironmentWithoutCredentials(t *testing.T) {
	t.Setenv("WALDUR_API_TOKEN", "secret-token")
	t.Setenv("SITE_POOL", "ssd")
	b := newBackend(t, execbackend.Config{
		Create: script(t, `printf '{"backend_id": "%s|%s|%s|%s"}' "$WALDUR_API_TOKEN" "$SITE_POOL" "$EXTRA" "$WALDUR_ACTION"`),
		Env:    map[string]string{"EXTRA": "x"},
	})
	res, err := b.ProcessOrder(context.Background(), createOrder("x"))
	require.NoError(t, err)
	assert.Equal(t, "|ssd|x|create", res.BackendID)
}

func TestInProgress(t *testing.T) {
	b := newBackend(t, execbackend.Config{Create: script(t, `echo '{"in_progress": "job-42"}'`)})
	res, err := b.ProcessOrder(context.Background(), createOrder("x"))
	require.NoError(t, err)
	assert.True(t, res.IsInProgress())
}

func TestOrderTypeWithoutCommandIsErred(t *testing.T) {
	b := newBackend(t, execbackend.Config{Create: script(t, `exit 0`)})
	o := createOrder("x")
	o.Type = waldur.OrderTypeTerminate
	_, err := b.ProcessOrder(context.Background(), o)
	assert.True(t, siteagent.IsPermanent(err))
	assert.ErrorIs(t, err, siteagent.ErrUnsupportedOrderType)
}

func TestEvaluate(t *testing.T) {
	for _, tc := range []struct{ body, want string }{
		{`echo '{"decision": "reject", "reason": "no capacity"}'`, "reject"},
		{`echo '{"decision": "keep"}'`, "keep pending"},
		{`echo '{"decision": "accept"}'`, "accept"},
	} {
		b := newBackend(t, execbackend.Config{Create: script(t, `exit 0`), Evaluate: script(t, tc.body)})
		d, err := b.EvaluateOrder(context.Background(), createOrder("x"))
		require.NoError(t, err)
		assert.Equal(t, tc.want, d.String())
	}
	// Evaluation failures are transient even for a permanent exit code.
	b := newBackend(t, execbackend.Config{Create: script(t, `exit 0`), Evaluate: script(t, `echo nope >&2; exit 1`)})
	_, err := b.EvaluateOrder(context.Background(), createOrder("x"))
	require.Error(t, err)
	assert.False(t, siteagent.IsPermanent(err))
	assert.Contains(t, err.Error(), "nope")
}

func TestMembershipAndUsage(t *testing.T) {
	dir := t.TempDir()
	b := newBackend(t, execbackend.Config{
		ListMembers:   script(t, `echo '{"members": [{"username": "alice"}, {"username": "svc", "kind": "service_account"}]}'`),
		AddMembers:    append(script(t, `cat > "$1"`), filepath.Join(dir, "add.json")),
		RemoveMembers: script(t, `exit 0`),
		Usage:         script(t, `echo '{"totals": {"cpu": 12.5}, "by_user": {"cpu": {"alice": 12.5}}}'`),
	})
	assert.Nil(t, b.Orders())
	r := &waldur.Resource{UUID: mustUUID("9b3c6a4e9f1d4c2ab8e7d6c5b4a39281"), BackendID: "acc-1"}
	ms, err := b.Membership().ListMembers(context.Background(), r)
	require.NoError(t, err)
	assert.Equal(t, []siteagent.Member{{Username: "alice"}, {Username: "svc", Kind: siteagent.MemberServiceAccount}}, ms)

	require.NoError(t, b.Membership().AddMembers(context.Background(), r, []siteagent.Member{{Username: "bob", Role: "PROJECT.MEMBER"}}))
	data, err := os.ReadFile(filepath.Join(dir, "add.json"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"protocol": 1, "action": "add_members",
		"resource": {"uuid": "9b3c6a4e9f1d4c2ab8e7d6c5b4a39281", "backend_id": "acc-1", "paused": false, "downscaled": false},
		"members": [{"username": "bob", "kind": "user", "role": "PROJECT.MEMBER"}]}`, string(data))

	start := time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)
	u, err := b.Usage().ReportUsage(context.Background(), r, siteagent.Period{Start: start, End: start.AddDate(0, 1, 0)})
	require.NoError(t, err)
	assert.Equal(t, siteagent.Usage{Totals: map[string]float64{"cpu": 12.5}, ByUser: map[string]map[string]float64{"cpu": {"alice": 12.5}}}, u)
}

func TestNewRejectsIncompleteConfigs(t *testing.T) {
	for name, cfg := range map[string]execbackend.Config{
		"nothing":            {},
		"empty command":      {Create: execbackend.Command{}},
		"partial membership": {ListMembers: execbackend.Command{"ls"}},
		"negative timeout":   {Create: execbackend.Command{"true"}, Timeout: -1},
	} {
		_, err := execbackend.New(cfg)
		assert.Error(t, err, name)
	}
}

func TestCheckFindsMissingPrograms(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "plain.sh")
	require.NoError(t, os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644))
	b := newBackend(t, execbackend.Config{
		Create:    script(t, "exit 0"),
		Terminate: execbackend.Command{filepath.Join(dir, "missing.sh")},
		Usage:     execbackend.Command{notExec},
	})
	err := b.Check()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "terminate: ")
	assert.Contains(t, err.Error(), "usage: ")
	assert.NotContains(t, err.Error(), "create: ")
	assert.NoError(t, newBackend(t, execbackend.Config{Create: execbackend.Command{"sh", "-c", "true"}}).Check(), "looked up in PATH")
}
