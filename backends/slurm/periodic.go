package slurm

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// ApplyPeriodicLimits applies a periodic usage policy's settings to the
// resource's account: fairshare, the limits under grp_tres_mins (or
// max_tres_mins) as the policy's limit_type (GrpTRESMins, MaxTRESMins or
// GrpTRES; default the periodic_limits.limit_type setting) and, with
// reset_raw_usage, RawUsage=0. Values already in place are not set again.
// It returns the sacctmgr commands it ran. Settings it cannot apply
// (an unknown account, a malformed value) are permanent errors.
func (b *Backend) ApplyPeriodicLimits(ctx context.Context, r *waldur.Resource, e *siteagent.PeriodicLimitsEvent) ([]string, error) {
	if !b.periodic.Enabled {
		return nil, siteagent.Permanentf("slurm: periodic limits are not enabled (backend_settings.periodic_limits.enabled)")
	}
	account := r.BackendID
	if account == "" {
		account = e.BackendID
	}
	if err := CheckAccount(account); err != nil {
		return nil, siteagent.Permanent(err)
	}
	rec := &recorder{Runner: b.client.Runner}
	c := &Client{Runner: rec, Cluster: b.client.Cluster, serial: b.client.serial}
	as, err := c.Associations(ctx, account)
	if err != nil {
		return rec.commands(), err
	}
	if len(as) == 0 || as[0].User != "" {
		return rec.commands(), siteagent.Permanentf("slurm: account %s does not exist", account)
	}
	cur := as[0]
	set, err := b.periodicChanges(cur, e.Settings)
	if err != nil {
		return rec.commands(), siteagent.Permanent(err)
	}
	if len(set) > 0 {
		if err := c.ModifyAccount(ctx, account, set...); err != nil {
			return rec.commands(), err
		}
	}
	// A command of its own: with RawUsage, sacctmgr resets the usage and
	// silently ignores every other setting.
	if reset, _ := e.Settings["reset_raw_usage"].(bool); reset {
		if err := c.ModifyAccount(ctx, account, "RawUsage=0"); err != nil {
			return rec.commands(), err
		}
	}
	return rec.commands(), nil
}

// periodicChanges returns the sacctmgr settings that make the account
// match the policy settings.
func (b *Backend) periodicChanges(cur Association, s map[string]any) ([]string, error) {
	var set []string
	if v, ok := s["fairshare"]; ok && v != nil {
		n, err := whole(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("slurm: periodic settings: fairshare %v is not a whole number", v)
		}
		if strconv.FormatInt(n, 10) != cur.Fairshare {
			set = append(set, "fairshare="+strconv.FormatInt(n, 10))
		}
	}
	limits, _ := s["grp_tres_mins"].(map[string]any)
	if limits == nil {
		limits, _ = s["max_tres_mins"].(map[string]any)
	}
	if len(limits) > 0 {
		limitType := b.periodic.LimitType
		if lt, _ := s["limit_type"].(string); lt != "" {
			limitType = lt
		}
		switch limitType {
		case "GrpTRESMins", "MaxTRESMins", "GrpTRES":
		case "":
			limitType = "GrpTRESMins"
		default:
			return nil, fmt.Errorf("slurm: periodic settings: limit_type %q is not one of GrpTRESMins, MaxTRESMins, GrpTRES", limitType)
		}
		want := make(map[string]int64, len(limits))
		changed := limitType != "GrpTRESMins" // only GrpTRESMins is read back
		for k, v := range limits {
			tres := TRESName(k)
			if !tresName.MatchString(tres) {
				return nil, fmt.Errorf("slurm: periodic settings: %q is not a TRES name", k)
			}
			n, err := whole(v)
			if err != nil {
				return nil, fmt.Errorf("slurm: periodic settings: %s=%v is not a whole number", k, v)
			}
			want[tres] = n
			if have, ok := cur.GrpTRESMin[tres]; !ok || have != n {
				changed = true
			}
		}
		if changed {
			set = append(set, limitType+"="+tresArg(want))
		}
	}
	return set, nil
}

func whole(v any) (int64, error) {
	switch v := v.(type) {
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return int64(v), nil
		}
	case int:
		return int64(v), nil
	case int64:
		return v, nil
	case string:
		return strconv.ParseInt(v, 10, 64)
	}
	return 0, fmt.Errorf("not a whole number")
}

// recorder is a Runner that notes the commands that change Slurm, for
// the report to Waldur.
type recorder struct {
	Runner
	mu  sync.Mutex
	ran []string
}

func (r *recorder) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	out, err := r.Runner.Run(ctx, name, args...)
	if name == "sacctmgr" && !isRead(args) {
		r.mu.Lock()
		r.ran = append(r.ran, commandLine(name, args))
		r.mu.Unlock()
	}
	return out, err
}

func (r *recorder) commands() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ran...)
}

// isRead reports whether sacctmgr args only read (show, list).
func isRead(args []string) bool {
	for _, a := range args {
		if !strings.HasPrefix(a, "-") {
			return a == "show" || a == "list"
		}
	}
	return true
}
