package slurm_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/backends/slurm"
	"github.com/gsv-platform/waldur-agent-go/internal/testenv"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/siteagent/siteagenttest"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// The integration tests run against the cluster .ci/slurm starts: node
// with two CPUs, QoS "paused" (no jobs) and "limited", and the local
// users slurmtest1..3 to submit jobs as. They run one after another:
// concurrent sacctmgr changes from several processes deadlock in
// slurmdbd's database and can lose an account just made (a Backend runs
// its own changes one at a time).

// realCluster returns a backend on the real Slurm whose account names all
// start with a prefix of their own, removed when the test ends.
func realCluster(t testing.TB, components []agentconfig.Component) (*slurm.Backend, string) {
	t.Helper()
	testenv.Slurm(t)
	var buf [3]byte
	_, _ = rand.Read(buf[:])
	prefix := "it" + hex.EncodeToString(buf[:]) + "_"
	b, err := slurm.New(slurm.Config{
		Runner: slurm.ExecRunner{Timeout: 30 * time.Second},
		Settings: slurm.Settings{CustomerPrefix: prefix + "c_", ProjectPrefix: prefix + "p_", AllocationPrefix: prefix,
			QoSPaused: "paused", QoSDownscaled: "limited", DefaultAccountPolicy: "individual"},
		Components: components, UsageCache: -1,
		PeriodicLimits: agentconfig.PeriodicLimits{Enabled: true, LimitType: "GrpTRESMins"},
	})
	require.NoError(t, err)
	t.Cleanup(func() { removeAccounts(t, b, prefix) })
	return b, prefix
}

// removeAccounts removes the test's accounts, children first.
func removeAccounts(t testing.TB, b *slurm.Backend, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "sacctmgr", "-P", "-n", "show", "account", "format=account").Output()
	if err != nil {
		t.Logf("cleanup: %v", err)
		return
	}
	var mine []string
	for _, a := range strings.Fields(string(out)) {
		if strings.HasPrefix(a, prefix) {
			mine = append(mine, a)
		}
	}
	// Allocations, then projects, then customers.
	for _, pass := range []func(string) bool{
		func(a string) bool { return !strings.HasPrefix(a, prefix+"c_") && !strings.HasPrefix(a, prefix+"p_") },
		func(a string) bool { return strings.HasPrefix(a, prefix+"p_") },
		func(a string) bool { return strings.HasPrefix(a, prefix+"c_") },
	} {
		for _, a := range mine {
			if pass(a) {
				_ = b.Client().CancelJobs(ctx, a)
				// Cancelled jobs take a moment to end; until then Slurm
				// refuses to remove their account.
				var err error
				if !assert.Eventually(t, func() bool {
					err = b.Client().RemoveAccount(ctx, a)
					return err == nil
				}, 30*time.Second, 200*time.Millisecond) {
					t.Logf("cleanup: %v", err)
				}
			}
		}
	}
}

var cpuMinutes = []agentconfig.Component{
	// unit_factor 1: Waldur's unit is the CPU-minute, Slurm's own.
	{Type: "cpu", AccountingType: "limit", UnitFactor: 1, MeasuredUnit: "CPU-minutes", Label: "CPU"},
}

// submit runs sbatch as user and returns the job id, or Slurm's refusal.
func submit(t *testing.T, user, account string, minutes int, cmd string) (string, error) {
	t.Helper()
	out, err := exec.CommandContext(t.Context(), "runuser", "-u", user, "--", "sbatch", "--parsable",
		"-A", account, "-n", "1", "-t", strconv.Itoa(minutes), "-o", "/dev/null", "--wrap", cmd).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w: %s", err, strings.TrimSpace(string(out)))
	}
	id := strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("scancel", id).Run() })
	return id, nil
}

// jobState returns squeue's state and reason of a job; "" once it left the queue.
func jobState(t *testing.T, id string) (state, reason string) {
	out, err := exec.CommandContext(t.Context(), "squeue", "-h", "-j", id, "-o", "%T|%r").Output()
	if err != nil {
		return "", "" // squeue errs for a job it no longer knows
	}
	state, reason, _ = strings.Cut(strings.TrimSpace(string(out)), "|")
	return state, reason
}

// eventually waits for cond, as jobs take their time to be scheduled.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 60*time.Second, 100*time.Millisecond, what)
}

// waitPending waits for a job to be held with a reason containing want.
func waitPending(t *testing.T, id, want string) {
	t.Helper()
	var state, reason string
	eventually(t, "job "+id+" held for "+want, func() bool {
		state, reason = jobState(t, id)
		return state == "PENDING" && strings.Contains(strings.ToLower(reason), strings.ToLower(want))
	})
}

// waitDone waits for sacct to show a job completed.
func waitDone(t *testing.T, id string) {
	t.Helper()
	eventually(t, "job "+id+" completed", func() bool {
		out, err := exec.CommandContext(t.Context(), "sacct", "-n", "-P", "-X", "-j", id, "--format=State").Output()
		return err == nil && strings.TrimSpace(string(out)) == "COMPLETED"
	})
}

// TestIntegrationAgent runs the backend in an agent against the fake
// Waldur and the real Slurm: a Create order makes the account with its
// limit, membership adds the team's user, the user's job runs, and the
// usage Waldur receives is what sacct reports.
func TestIntegrationAgent(t *testing.T) {
	b, prefix := realCluster(t, cpuMinutes)
	s := waldurtest.NewServer(t)
	cust := s.AddCustomer(waldurtest.CustomerSpec{Name: "Physics", Slug: "physics"})
	prj := s.AddProject(waldurtest.ProjectSpec{Customer: cust, Name: "Lasers", Slug: "lasers"})
	off := s.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{{Type: "cpu", BillingType: "limit"}}})
	alice := s.AddUser(waldurtest.UserSpec{Username: "alice"})
	s.AddProjectMember(prj, alice, "")
	s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: off, User: alice, Username: "slurmtest1"})
	order := s.AddOrder(waldurtest.OrderSpec{Offering: off, Project: prj, Limits: map[string]int64{"cpu": 600},
		Attributes: map[string]any{"name": "alloc"}})

	cfg := siteagenttest.Config(s, off)
	cfg.Orders, cfg.Membership, cfg.Usage, cfg.ResourceStatus = b, b, b, b
	cfg.SyncInterval, cfg.UsageInterval = 200*time.Millisecond, 200*time.Millisecond
	siteagenttest.Start(t, cfg)

	account := prefix + "alloc"
	eventually(t, "order done", func() bool {
		o, _ := s.Order(order)
		return o.State == waldur.OrderStateDone
	})
	as, err := b.Client().Associations(t.Context(), account)
	require.NoError(t, err)
	require.NotEmpty(t, as)
	assert.Equal(t, prefix+"p_lasers", as[0].Parent)
	assert.Equal(t, map[string]int64{"cpu": 600}, as[0].GrpTRESMin)

	eventually(t, "slurmtest1 added to the account", func() bool {
		ms, err := b.ListMembers(t.Context(), &waldur.Resource{BackendID: account})
		return err == nil && len(ms) == 1 && ms[0].Username == "slurmtest1"
	})
	id, err := submit(t, "slurmtest1", account, 1, "sleep 2")
	require.NoError(t, err)
	waitDone(t, id)

	out, err := exec.CommandContext(t.Context(), "sacct", "-n", "-P", "-X", "-j", id, "--format=AllocCPUS,ElapsedRaw").Output()
	require.NoError(t, err)
	f := strings.Split(strings.TrimSpace(string(out)), "|")
	cpus, _ := strconv.Atoi(f[0])
	secs, _ := strconv.Atoi(f[1])
	want := math.Round(float64(cpus*secs)/60*100) / 100
	res, _ := s.Resource(s.Resources()[0].UUID)
	eventually(t, fmt.Sprintf("usage %.2f reported", want), func() bool {
		for _, u := range s.ComponentUsages() {
			if u.Type == "cpu" && u.Usage == want {
				return true
			}
		}
		return false
	})
	for _, u := range s.UserUsages() {
		if u.Type == "cpu" {
			assert.Equal(t, "slurmtest1", u.Username)
		}
	}
	assert.Equal(t, account, res.BackendID)

	// A job still queued does not stop Terminate: it is cancelled first.
	_, err = submit(t, "slurmtest1", account, 60, "sleep 600")
	require.NoError(t, err)
	terminate := s.AddOrder(waldurtest.OrderSpec{Offering: off, Type: "Terminate", Resource: res.UUID})
	eventually(t, "terminate done", func() bool {
		o, _ := s.Order(terminate)
		return o.State == waldur.OrderStateDone
	})
	info, err := b.Client().Account(t.Context(), account)
	require.NoError(t, err)
	assert.Nil(t, info, "account removed")
}

// TestIntegrationLimitEnforced: a job that would need more CPU-minutes
// than the order's limit leaves is held by Slurm.
func TestIntegrationLimitEnforced(t *testing.T) {
	b, prefix := realCluster(t, cpuMinutes)
	account := newAccount(t, b, prefix, map[string]int64{"cpu": 1})
	require.NoError(t, b.AddMembers(t.Context(), &waldur.Resource{BackendID: account}, []siteagent.Member{{Username: "slurmtest1"}}))

	id, err := submit(t, "slurmtest1", account, 5, "sleep 1")
	require.NoError(t, err)
	waitPending(t, id, "GrpCPUMin")
}

// TestIntegrationPause: a paused account's new jobs wait; restored, they run.
func TestIntegrationPause(t *testing.T) {
	b, prefix := realCluster(t, cpuMinutes)
	account := newAccount(t, b, prefix, nil)
	r := &waldur.Resource{BackendID: account}
	require.NoError(t, b.AddMembers(t.Context(), r, []siteagent.Member{{Username: "slurmtest1"}}))

	require.NoError(t, b.PauseResource(t.Context(), r))
	st, err := b.BackendStatus(t.Context(), r)
	require.NoError(t, err)
	assert.True(t, st.Paused)
	id := submitUnderQoS(t, account, "paused", "sleep 1")
	waitPending(t, id, "QOSGrpJobs")

	require.NoError(t, b.RestoreResource(t.Context(), r))
	st, err = b.BackendStatus(t.Context(), r)
	require.NoError(t, err)
	assert.False(t, st.Paused)
	// A job submitted now runs under the default QoS.
	waitDone(t, submitUnderQoS(t, account, "normal", "true"))
}

// submitUnderQoS submits a job as slurmtest1 once slurmctld gives the
// account's new jobs qos: it learns of a changed association from
// slurmdbd a moment after sacctmgr returns. Jobs that got the old QoS are
// cancelled.
func submitUnderQoS(t *testing.T, account, qos, cmd string) string {
	t.Helper()
	var id string
	eventually(t, "a job under QoS "+qos, func() bool {
		var err error
		if id, err = submit(t, "slurmtest1", account, 1, cmd); err != nil {
			return false
		}
		out, err := exec.CommandContext(t.Context(), "squeue", "-h", "-j", id, "-o", "%q").Output()
		got := strings.TrimSpace(string(out))
		if err == nil && got == qos {
			return true
		}
		if got == "" { // already finished: read its QoS from accounting
			out, _ = exec.CommandContext(t.Context(), "sacct", "-n", "-P", "-X", "-j", id, "--format=QOS").Output()
			if strings.TrimSpace(string(out)) == qos {
				return true
			}
		}
		_ = exec.Command("scancel", id).Run()
		return false
	})
	return id
}

// TestIntegrationMembership: only members may submit under the account.
func TestIntegrationMembership(t *testing.T) {
	b, prefix := realCluster(t, cpuMinutes)
	account := newAccount(t, b, prefix, nil)
	r := &waldur.Resource{BackendID: account}

	_, err := submit(t, "slurmtest2", account, 1, "true")
	require.Error(t, err, "not a member yet")
	assert.Contains(t, err.Error(), "Invalid account")

	// slurmctld learns of association changes from slurmdbd a moment
	// after sacctmgr returns, hence the retries.
	require.NoError(t, b.AddMembers(t.Context(), r, []siteagent.Member{{Username: "slurmtest2"}}))
	var id string
	eventually(t, "slurmtest2 may submit", func() bool {
		id, err = submit(t, "slurmtest2", account, 1, "true")
		return err == nil
	})
	waitDone(t, id)

	require.NoError(t, b.RemoveMembers(t.Context(), r, []siteagent.Member{{Username: "slurmtest2"}}))
	eventually(t, "slurmtest2 refused", func() bool {
		_, err = submit(t, "slurmtest2", account, 1, "true")
		return err != nil
	})
}

// TestIntegrationPeriodicLimits applies a policy's settings with sacctmgr
// and reads them back.
func TestIntegrationPeriodicLimits(t *testing.T) {
	b, prefix := realCluster(t, cpuMinutes)
	account := newAccount(t, b, prefix, map[string]int64{"cpu": 100})
	r := &waldur.Resource{BackendID: account}
	cmds, err := b.ApplyPeriodicLimits(t.Context(), r, &siteagent.PeriodicLimitsEvent{Settings: map[string]any{
		"fairshare": 42.0, "grp_tres_mins": map[string]any{"cpu": 250.0}, "reset_raw_usage": true}})
	require.NoError(t, err)
	assert.Len(t, cmds, 2)
	as, err := b.Client().Associations(t.Context(), account)
	require.NoError(t, err)
	assert.Equal(t, "42", as[0].Fairshare)
	assert.Equal(t, map[string]int64{"cpu": 250}, as[0].GrpTRESMin)

	cmds, err = b.ApplyPeriodicLimits(t.Context(), r, &siteagent.PeriodicLimitsEvent{Settings: map[string]any{
		"fairshare": 42.0, "grp_tres_mins": map[string]any{"cpu": 250.0}}})
	require.NoError(t, err)
	assert.Empty(t, cmds, "nothing to change")
}

// newAccount makes a resource's account directly with the backend's
// account calls, the way a Create order does.
func newAccount(t *testing.T, b *slurm.Backend, prefix string, limits map[string]int64) string {
	t.Helper()
	c := b.Client()
	account := prefix + "alloc"
	_, err := c.AddAccount(t.Context(), prefix+"p_x", "root", "test project", "")
	require.NoError(t, err)
	// Under concurrent sacctmgr writes, slurmdbd may not know a parent made
	// a moment ago yet (the agent retries such an order).
	eventually(t, "allocation account made", func() bool {
		_, err = c.AddAccount(t.Context(), account, prefix+"p_x", "test allocation", "")
		return err == nil
	})
	if len(limits) > 0 {
		require.NoError(t, c.ModifyAccount(t.Context(), account, fmt.Sprintf("GrpTRESMins=cpu=%d", limits["cpu"])))
	}
	return account
}
