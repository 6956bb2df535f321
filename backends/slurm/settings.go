package slurm

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
)

// Settings are the Slurm backend's settings: backend_settings of the
// reference agent's Slurm offerings, under the same YAML keys.
type Settings struct {
	// DefaultAccount is default_account: the account users' jobs charge
	// without -A under default_account_policy "common", and the root of
	// the account tree when RootAccount is unset. Default "root".
	DefaultAccount string `yaml:"default_account"`
	// DefaultAccountPolicy is default_account_policy: "common" (default)
	// passes DefaultAccount to sacctmgr add user, "individual" the
	// resource's own account, "none" nothing.
	DefaultAccountPolicy string `yaml:"default_account_policy"`
	// RootAccount is root_account, the parent of customer accounts.
	// Default DefaultAccount.
	RootAccount string `yaml:"root_account"`
	// ParentAccount is parent_account: when set, project accounts go
	// directly under it and no customer accounts are made.
	ParentAccount string `yaml:"parent_account"`
	// ClusterName is cluster_name: every command is scoped to it.
	ClusterName string `yaml:"cluster_name"`
	// CustomerPrefix, ProjectPrefix and AllocationPrefix are
	// customer_prefix, project_prefix and allocation_prefix: account
	// names are prefix + Waldur slug.
	CustomerPrefix   string `yaml:"customer_prefix"`
	ProjectPrefix    string `yaml:"project_prefix"`
	AllocationPrefix string `yaml:"allocation_prefix"`
	// QoSDefault, QoSPaused and QoSDownscaled are qos_default (default
	// "normal"), qos_paused and qos_downscaled: the QoS of a resource's
	// account when it runs normally, is paused, is downscaled. Pausing or
	// downscaling without its QoS is refused.
	QoSDefault    string `yaml:"qos_default"`
	QoSPaused     string `yaml:"qos_paused"`
	QoSDownscaled string `yaml:"qos_downscaled"`
	// BackendIDMaxRetries is backend_id_max_retries: how many names with
	// a numeric suffix Create tries when the account name is taken by
	// another resource. Default 20.
	BackendIDMaxRetries int `yaml:"backend_id_max_retries"`
	// SlurmBinPath is slurm_bin_path, the directory of sacctmgr and sacct.
	SlurmBinPath string `yaml:"slurm_bin_path"`
}

// known lists the backend_settings keys Settings reads, and those read
// elsewhere (periodic_limits, by agentconfig).
var known = []string{
	"default_account", "default_account_policy", "root_account", "parent_account", "cluster_name",
	"customer_prefix", "project_prefix", "allocation_prefix", "qos_default", "qos_paused", "qos_downscaled",
	"backend_id_max_retries", "slurm_bin_path", "periodic_limits",
}

// unsupported are reference agent features this backend does not have,
// with what to do instead.
var unsupported = map[string]string{
	"enable_user_homedir_account_creation": "home directories are not created; make them with the site's user provisioning",
	"default_homedir_umask":                "home directories are not created",
	"homedir_base_path":                    "home directories are not created",
	"homedir_quota":                        "home directory quotas are not set",
	"qos_management":                       "per-account QoS are not created; define QoS with sacctmgr",
	"qos_enforcement_enabled":              "per-association QoS grants are not made",
	"ldap":                                 "LDAP groups are not managed",
	"project_directory":                    "project directories are not created",
	"execution_mode":                       "commands always run through sacctmgr and sacct",
	"rest_api":                             "slurmrestd is not used; commands run through sacctmgr and sacct",
	"default_partition":                    "partitions are not restricted",
	"enforce_offering_partitions":          "partitions are not restricted",
}

// SettingsFromOffering decodes an offering's backend_settings and returns
// the settings, with defaults applied, and one warning per key that is
// not applied. Values of the wrong kind and invalid names are errors.
func SettingsFromOffering(o *agentconfig.Offering) (Settings, []string, error) {
	var s Settings
	if err := o.DecodeBackendSettings(&s); err != nil {
		return s, nil, err
	}
	var warnings []string
	keys := make([]string, 0, len(o.BackendSettings))
	for k := range o.BackendSettings {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		switch {
		case slices.Contains(known, k):
		case unsupported[k] != "":
			if on(o.BackendSettings[k]) {
				warnings = append(warnings, fmt.Sprintf("backend_settings.%s: not applied: %s", k, unsupported[k]))
			}
		default:
			warnings = append(warnings, fmt.Sprintf("backend_settings.%s: unknown to the Slurm backend, ignored", k))
		}
	}
	if mode, _ := o.BackendSettings["execution_mode"].(string); mode != "" && mode != "cli" {
		return s, warnings, fmt.Errorf("slurm: backend_settings.execution_mode %q: only cli (sacctmgr and sacct) is supported", mode)
	}
	s = s.withDefaults()
	return s, warnings, s.Validate()
}

// on reports whether a setting asks for something: true, a non-empty
// value or mapping with enabled: true.
func on(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != "" && !strings.EqualFold(v, "false")
	case map[string]any:
		if e, ok := v["enabled"]; ok {
			return on(e)
		}
		return len(v) > 0
	}
	return true
}

func (s Settings) withDefaults() Settings {
	if s.DefaultAccount == "" {
		s.DefaultAccount = "root"
	}
	if s.DefaultAccountPolicy == "" {
		s.DefaultAccountPolicy = "common"
	}
	if s.RootAccount == "" {
		s.RootAccount = s.DefaultAccount
	}
	if s.QoSDefault == "" {
		s.QoSDefault = "normal"
	}
	if s.BackendIDMaxRetries <= 0 {
		s.BackendIDMaxRetries = 20
	}
	return s
}

// Validate checks the names in s, so that no command is built from a bad
// one.
func (s Settings) Validate() error {
	for _, a := range []struct{ key, v string }{
		{"default_account", s.DefaultAccount}, {"root_account", s.RootAccount}, {"parent_account", s.ParentAccount},
	} {
		if a.v != "" && CheckAccount(a.v) != nil {
			return fmt.Errorf("slurm: backend_settings.%s %q is not a valid account name", a.key, a.v)
		}
	}
	for _, q := range []struct{ key, v string }{
		{"qos_default", s.QoSDefault}, {"qos_paused", s.QoSPaused}, {"qos_downscaled", s.QoSDownscaled},
	} {
		if q.v != "" && CheckQoS(q.v) != nil {
			return fmt.Errorf("slurm: backend_settings.%s %q is not a valid QoS name", q.key, q.v)
		}
	}
	if s.ClusterName != "" && !clusterName.MatchString(s.ClusterName) {
		return fmt.Errorf("slurm: backend_settings.cluster_name %q is not a valid cluster name", s.ClusterName)
	}
	switch s.DefaultAccountPolicy {
	case "common", "individual", "none":
	default:
		return fmt.Errorf("slurm: backend_settings.default_account_policy %q is not one of common, individual, none", s.DefaultAccountPolicy)
	}
	for _, p := range []struct{ key, v string }{
		{"customer_prefix", s.CustomerPrefix}, {"project_prefix", s.ProjectPrefix}, {"allocation_prefix", s.AllocationPrefix},
	} {
		if AccountName(p.v, "") != strings.ToLower(p.v) {
			return fmt.Errorf("slurm: backend_settings.%s %q has characters Slurm account names cannot have", p.key, p.v)
		}
	}
	return nil
}
