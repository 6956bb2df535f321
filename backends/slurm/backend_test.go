package slurm_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/backends/slurm"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

func ptr[T any](v T) *T { return &v }

// hpcComponents: CPU hours on a limit (unit_factor 60: minutes), GPU hours
// prepaid, memory on usage with a configured limit of 10 GB-hours.
var hpcComponents = []agentconfig.Component{
	{Type: "cpu", AccountingType: "limit", UnitFactor: 60, MeasuredUnit: "hours", Label: "CPU"},
	{Type: "gpu", AccountingType: "one", UnitFactor: 60, MeasuredUnit: "hours", Label: "GPU"},
	{Type: "mem", AccountingType: "usage", UnitFactor: 61440, MeasuredUnit: "GB-hours", Label: "RAM", Limit: ptr(10.0)},
}

var hpcSettings = slurm.Settings{
	CustomerPrefix: "c_", ProjectPrefix: "p_", AllocationPrefix: "a_",
	QoSPaused: "paused", QoSDownscaled: "limited",
}

func newBackend(t *testing.T, r slurm.Runner, mod ...func(*slurm.Config)) *slurm.Backend {
	t.Helper()
	cfg := slurm.Config{Runner: r, Settings: hpcSettings, Components: hpcComponents, UsageCache: -1,
		TimeZone: time.UTC, PeriodicLimits: agentconfig.PeriodicLimits{Enabled: true, LimitType: "GrpTRESMins"}}
	for _, m := range mod {
		m(&cfg)
	}
	b, err := slurm.New(cfg)
	require.NoError(t, err)
	return b
}

const assocFmt = "format=Account,User,ParentName,GrpTRESMins,QOS,DefaultQOS,Fairshare"

func TestReportUsage(t *testing.T) {
	rec := newRecorded(t)
	rec.strict = true
	now := time.Date(2026, 8, 20, 12, 0, 0, 0, time.UTC)
	rec.on("sacct -P -n -X --allusers --noconvert --truncate --starttime=2026-08-01T00:00:00 --endtime=2026-08-20T12:00:00 "+
		"--format=Account,User,AllocTRES,ElapsedRaw --accounts=a_alloc",
		// Two of alice's jobs, one of bob's: 2 CPUs for 10 min, 1 for 60,
		// 1 GPU and 2 GB for 30.
		"a_alloc|alice|billing=2,cpu=2,mem=2G,node=1|600\n"+
			"a_alloc|alice|cpu=1,mem=512M,node=1|3600\n"+
			"a_alloc|bob|cpu=1,gres/gpu=1,mem=2048M|1800\n")
	b := newBackend(t, rec, func(c *slurm.Config) { c.Now = func() time.Time { return now } })
	aug := siteagent.Period{Start: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}

	u, err := b.ReportUsage(t.Context(), &waldur.Resource{BackendID: "a_alloc"}, aug)
	require.NoError(t, err)
	// cpu: (2×10 + 1×60 + 1×30) minutes / 60 = 110/60 hours.
	assert.InDelta(t, 110.0/60, u.Totals["cpu"], 1e-9)
	assert.InDelta(t, 30.0/60, u.Totals["gpu"], 1e-9)
	// mem: (2048×10 + 512×60 + 2048×30) MB-minutes / 61440.
	assert.InDelta(t, (2048.0*10+512*60+2048*30)/61440, u.Totals["mem"], 1e-9)
	assert.InDelta(t, 80.0/60, u.ByUser["cpu"]["alice"], 1e-9)
	assert.InDelta(t, 30.0/60, u.ByUser["cpu"]["bob"], 1e-9)
	assert.NotContains(t, u.ByUser["gpu"], "alice", "no GPU used")

	nothing, err := b.ReportUsage(t.Context(), &waldur.Resource{}, aug)
	require.NoError(t, err)
	assert.Empty(t, nothing.Totals, "no account yet, nothing to report")
}

// TestReportUsageOneSacctPerMonth: with the cache, every resource of a
// month is served by one sacct over all accounts.
func TestReportUsageOneSacctPerMonth(t *testing.T) {
	rec := newRecorded(t)
	now := time.Date(2026, 8, 20, 12, 0, 0, 0, time.UTC)
	rec.on("sacct -P -n -X --allusers --noconvert --truncate --starttime=2026-08-01T00:00:00 --endtime=2026-08-20T12:00:00 "+
		"--format=Account,User,AllocTRES,ElapsedRaw", "a_one|alice|cpu=1|60\na_two|bob|cpu=2|60\n")
	b := newBackend(t, rec, func(c *slurm.Config) { c.UsageCache = time.Hour; c.Now = func() time.Time { return now } })
	aug := siteagent.Period{Start: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}
	one, err := b.ReportUsage(t.Context(), &waldur.Resource{BackendID: "a_one"}, aug)
	require.NoError(t, err)
	two, err := b.ReportUsage(t.Context(), &waldur.Resource{BackendID: "a_two"}, aug)
	require.NoError(t, err)
	assert.InDelta(t, 1.0/60, one.Totals["cpu"], 1e-9)
	assert.InDelta(t, 2.0/60, two.Totals["cpu"], 1e-9)
	assert.Len(t, rec.commands(), 1)
}

func TestMembership(t *testing.T) {
	rec := newRecorded(t)
	rec.on("sacctmgr -i -P -n show assoc where account=a_alloc "+assocFmt,
		"a_alloc||p_proj|cpu=600|normal|normal|1\na_alloc|bob||||normal|1\na_alloc|alice||||normal|parent\n")
	rec.on("sacctmgr -i -P -n show account where name=a_alloc format=Account,Description,Organization", "a_alloc|x|p_proj\n")
	b := newBackend(t, rec)
	r := &waldur.Resource{BackendID: "a_alloc"}

	members, err := b.ListMembers(t.Context(), r)
	require.NoError(t, err)
	assert.Equal(t, []siteagent.Member{{Username: "alice"}, {Username: "bob"}}, members)
	rec.commands()

	require.NoError(t, b.AddMembers(t.Context(), r, []siteagent.Member{{Username: "carol"}, {Username: "bad name"}}))
	require.NoError(t, b.RemoveMembers(t.Context(), r, []siteagent.Member{{Username: "bob"}, {Username: "x,y"}}))
	assert.Equal(t, []string{
		"sacctmgr -i -P -n show account where name=a_alloc format=Account,Description,Organization",
		"sacctmgr -i -P -n add user carol account=a_alloc defaultaccount=root",
		"sacctmgr -i -P -n remove user bob where account=a_alloc",
	}, rec.commands(), "names Slurm would split are never passed on")

	individual := newBackend(t, rec, func(c *slurm.Config) { c.Settings.DefaultAccountPolicy = "individual" })
	require.NoError(t, individual.AddMembers(t.Context(), r, []siteagent.Member{{Username: "carol"}}))
	assert.Contains(t, rec.commands(), "sacctmgr -i -P -n add user carol account=a_alloc defaultaccount=a_alloc")
	none := newBackend(t, rec, func(c *slurm.Config) { c.Settings.DefaultAccountPolicy = "none" })
	require.NoError(t, none.AddMembers(t.Context(), r, []siteagent.Member{{Username: "carol"}}))
	assert.Contains(t, rec.commands(), "sacctmgr -i -P -n add user carol account=a_alloc")
}

func TestBackendStatusAndQoS(t *testing.T) {
	rec := newRecorded(t)
	rec.on("sacctmgr -i -P -n show assoc where account=a_alloc "+assocFmt,
		"a_alloc||p_proj|cpu=600,gres/gpu=360,mem=614400|paused|paused|1\n")
	rec.on("sacctmgr -i -P -n show account where name=a_alloc format=Account,Description,Organization", "a_alloc|x|p_proj\n")
	b := newBackend(t, rec)
	created := time.Date(2026, 1, 15, 0, 0, 0, 0, time.UTC)
	r := &waldur.Resource{UUID: uuid.New(), BackendID: "a_alloc", Created: created,
		EndDate: &waldur.Date{Time: time.Date(2026, 4, 15, 0, 0, 0, 0, time.UTC)}}

	st, err := b.BackendStatus(t.Context(), r)
	require.NoError(t, err)
	assert.True(t, st.Paused)
	assert.False(t, st.Downscaled)
	// cpu 600/60; gpu 360/60 over a 3-month term; mem is usage-based, not a Waldur limit.
	assert.Equal(t, map[string]int64{"cpu": 10, "gpu": 2}, st.Limits)
	assert.Equal(t, map[string]any{"account": "a_alloc", "parent_account": "p_proj"}, st.Metadata)
	rec.commands()

	show := "sacctmgr -i -P -n show assoc where account=a_alloc " + assocFmt
	for _, step := range []struct {
		qos string
		do  func(context.Context, *waldur.Resource) error
	}{{"normal", b.RestoreResource}, {"limited", b.DownscaleResource}, {"paused", b.PauseResource}} {
		// Slurm shows the new QoS on the account and its user.
		rec.on(show, "a_alloc||p_proj||"+step.qos+"|"+step.qos+"|1\na_alloc|alice|||"+step.qos+"|"+step.qos+"|1\n")
		require.NoError(t, step.do(t.Context(), r))
		assert.Equal(t, []string{
			"sacctmgr -i -P -n show account where name=a_alloc format=Account,Description,Organization",
			"sacctmgr -i -P -n modify user where account=a_alloc set qos=" + step.qos + " defaultqos=" + step.qos,
			"sacctmgr -i -P -n modify account where name=a_alloc set qos=" + step.qos + " defaultqos=" + step.qos,
			show,
		}, rec.commands())
	}

	// sacctmgr refuses some changes with exit status 0; the read-back tells.
	rec.on(show, "a_alloc||p_proj||normal,paused|paused|1\na_alloc|alice|||paused|paused|1\n")
	assert.ErrorContains(t, b.RestoreResource(t.Context(), r), `account a_alloc kept default QoS "paused"`)
	rec.commands()

	noQoS := newBackend(t, rec, func(c *slurm.Config) { c.Settings.QoSPaused = "" })
	err = noQoS.PauseResource(t.Context(), r)
	assert.ErrorContains(t, err, "qos_paused")
	assert.Empty(t, rec.commands(), "nothing runs without the QoS to pause with")
}

func TestApplyPeriodicLimits(t *testing.T) {
	rec := newRecorded(t)
	rec.on("sacctmgr -i -P -n show assoc where account=a_alloc "+assocFmt, "a_alloc||p_proj|cpu=600|normal|normal|100\n")
	b := newBackend(t, rec)
	r := &waldur.Resource{BackendID: "a_alloc"}

	cmds, err := b.ApplyPeriodicLimits(t.Context(), r, &siteagent.PeriodicLimitsEvent{Settings: map[string]any{
		"fairshare": 300.0, "grp_tres_mins": map[string]any{"cpu": 1200.0, "gpu": 60.0}, "reset_raw_usage": true,
	}})
	require.NoError(t, err)
	assert.Equal(t, []string{
		"sacctmgr -i -P -n modify account where name=a_alloc set fairshare=300 GrpTRESMins=cpu=1200,gres/gpu=60",
		"sacctmgr -i -P -n modify account where name=a_alloc set RawUsage=0",
	}, cmds, "only commands that change Slurm are reported")

	cmds, err = b.ApplyPeriodicLimits(t.Context(), r, &siteagent.PeriodicLimitsEvent{Settings: map[string]any{
		"fairshare": 100.0, "grp_tres_mins": map[string]any{"cpu": 600.0},
	}})
	require.NoError(t, err)
	assert.Empty(t, cmds, "settings already in place are not set again")

	_, err = b.ApplyPeriodicLimits(t.Context(), r, &siteagent.PeriodicLimitsEvent{Settings: map[string]any{"fairshare": "lots"}})
	assert.True(t, siteagent.IsPermanent(err), "%v", err)

	off := newBackend(t, rec, func(c *slurm.Config) { c.PeriodicLimits.Enabled = false })
	_, err = off.ApplyPeriodicLimits(t.Context(), r, &siteagent.PeriodicLimitsEvent{})
	assert.True(t, siteagent.IsPermanent(err))
}
