package slurm_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/backends/slurm"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
)

func TestFromOfferingReferenceConfig(t *testing.T) {
	f, err := agentconfig.LoadSiteAgentFile("testdata/site-agent-slurm.yaml")
	require.NoError(t, err)
	o := &f.Offerings[0]
	rec := newRecorded(t)
	b, warnings, err := slurm.FromOffering(o, rec, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"backend_settings.default_homedir_umask: not applied: home directories are not created",
		"backend_settings.enable_user_homedir_account_creation: not applied: home directories are not created; make them with the site's user provisioning",
		"backend_settings.frobnicate: unknown to the Slurm backend, ignored",
		"backend_settings.ldap: not applied: LDAP groups are not managed",
	}, warnings, "every setting not applied is named")

	s, _, err := slurm.SettingsFromOffering(o)
	require.NoError(t, err)
	assert.Equal(t, slurm.Settings{DefaultAccount: "root", DefaultAccountPolicy: "none", RootAccount: "root",
		CustomerPrefix: "hpc_", ProjectPrefix: "hpc_p_", AllocationPrefix: "hpc_a_", QoSDefault: "normal",
		QoSPaused: "paused", QoSDownscaled: "limited", BackendIDMaxRetries: 5}, s)

	var cfg siteagent.Config
	b.Configure(&cfg, o)
	assert.Same(t, b, cfg.Orders)
	assert.Same(t, b, cfg.Membership)
	assert.Same(t, b, cfg.Usage)
	assert.Same(t, b, cfg.ResourceStatus)
	assert.Same(t, b, cfg.PeriodicLimits, "periodic_limits.enabled")

	o.ReportingBackend = "other"
	o.PeriodicLimits.Enabled = false
	b2, _, err := slurm.FromOffering(o, rec, nil)
	require.NoError(t, err)
	var cfg2 siteagent.Config
	b2.Configure(&cfg2, o)
	assert.Nil(t, cfg2.Usage)
	assert.Nil(t, cfg2.PeriodicLimits, "not subscribed unless enabled")
}

func TestSettingsRefused(t *testing.T) {
	for _, tt := range []struct{ name, settings, want string }{
		{"account name", "default_account: \"root; rm\"", "default_account"},
		{"QoS name", "qos_paused: \"pa used\"", "qos_paused"},
		{"policy", "default_account_policy: sometimes", "default_account_policy"},
		{"prefix", "allocation_prefix: \"a b\"", "allocation_prefix"},
		{"REST mode", "execution_mode: rest", "execution_mode"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := "offerings:\n  - waldur_api_url: http://127.0.0.1/api/\n    waldur_api_token: t0ken\n" +
				"    waldur_offering_uuid: 7d3c1b2a4e5f46a7b8c9d0e1f2a3b4c5\n    backend_type: slurm\n" +
				"    backend_settings:\n      " + tt.settings + "\n"
			f, err := agentconfig.LoadSiteAgentYAML(strings.NewReader(in))
			require.NoError(t, err)
			_, _, err = slurm.FromOffering(&f.Offerings[0], newRecorded(t), nil)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestNames(t *testing.T) {
	assert.Equal(t, "hpc_my-project_2024", slurm.AccountName("hpc_", "My-Project 2024"))
	assert.Equal(t, "_x", slurm.AccountName("", "-x"))
	assert.Len(t, slurm.AccountName("p_", strings.Repeat("a", 100)), 64)
	for _, bad := range []string{"", "a b", "a,b", "a=b", "a|b", "a\"b", "a\nb", "UPPER"} {
		assert.Error(t, slurm.CheckAccount(bad), "%q", bad)
	}
	for _, bad := range []string{"", "a b", "a,b", "x=y", "-flag"} {
		assert.Error(t, slurm.CheckUser(bad), "%q", bad)
	}
	assert.NoError(t, slurm.CheckUser("Jane.Doe@example.org"))

	rec := newRecorded(t)
	c := &slurm.Client{Runner: rec}
	assert.Error(t, c.AddUser(t.Context(), "acct", "x where name=root", ""))
	assert.Error(t, c.ModifyAccount(t.Context(), "root,other", "fairshare=1"))
	assert.Empty(t, rec.commands(), "a bad name runs nothing")
}

// fakeSlurm writes a program standing in for sacctmgr into a directory.
func fakeSlurm(t *testing.T, script string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "sacctmgr"), []byte("#!/bin/sh\n"+script), 0o755))
	return dir
}

func TestExecRunner(t *testing.T) {
	dir := fakeSlurm(t, `if [ "$4" = fail ]; then echo " Nothing modified" ; echo "sacctmgr: error: it broke" >&2; exit 1; fi
if [ "$4" = hang ]; then exec sleep 60; fi
printf '%s|' "$@"`)
	r := slurm.ExecRunner{BinDir: dir}
	out, err := r.Run(t.Context(), "sacctmgr", "-i", "-P", "show", "a b")
	require.NoError(t, err)
	assert.Equal(t, "-i|-P|show|a b|", string(out), "arguments arrive as they are, no shell")

	_, err = r.Run(t.Context(), "sacctmgr", "-i", "-P", "x", "fail")
	var ce *slurm.CommandError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, 1, ce.ExitCode)
	assert.Equal(t, "error: it broke", ce.Message, "Slurm's message from standard error")

	quick := slurm.ExecRunner{BinDir: dir, Timeout: 50 * time.Millisecond}
	_, err = quick.Run(context.Background(), "sacctmgr", "-i", "-P", "x", "hang")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
}
