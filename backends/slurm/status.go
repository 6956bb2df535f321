package slurm

import (
	"context"
	"fmt"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// ListMembers reports the users associated with the resource's account.
// A resource without an account has none.
func (b *Backend) ListMembers(ctx context.Context, r *waldur.Resource) ([]siteagent.Member, error) {
	if r.BackendID == "" {
		return nil, nil
	}
	as, err := b.client.Associations(ctx, r.BackendID)
	if err != nil {
		return nil, err
	}
	var out []siteagent.Member
	for _, a := range as {
		if a.User != "" {
			out = append(out, siteagent.Member{Username: a.User})
		}
	}
	return out, nil
}

// AddMembers associates the members' usernames with the resource's
// account (sacctmgr add user), with the DefaultAccount
// default_account_policy asks for.
func (b *Backend) AddMembers(ctx context.Context, r *waldur.Resource, members []siteagent.Member) error {
	account, err := b.account(ctx, r)
	if err != nil {
		return err
	}
	def := ""
	switch b.settings.DefaultAccountPolicy {
	case "common":
		def = b.settings.DefaultAccount
	case "individual":
		def = account
	}
	for _, m := range members {
		if err := CheckUser(m.Username); err != nil {
			b.log.WarnContext(ctx, "slurm: member not added", "account", account, "error", err)
			continue
		}
		if err := b.client.AddUser(ctx, account, m.Username, def); err != nil {
			return fmt.Errorf("slurm: add %s to %s: %w", m.Username, account, err)
		}
	}
	return nil
}

// RemoveMembers removes the members' associations with the resource's
// account (sacctmgr remove user).
func (b *Backend) RemoveMembers(ctx context.Context, r *waldur.Resource, members []siteagent.Member) error {
	if r.BackendID == "" {
		return nil
	}
	for _, m := range members {
		if CheckUser(m.Username) != nil {
			continue // never added
		}
		if err := b.client.RemoveUser(ctx, r.BackendID, m.Username); err != nil {
			return fmt.Errorf("slurm: remove %s from %s: %w", m.Username, r.BackendID, err)
		}
	}
	return nil
}

// BackendStatus reads the resource's account: paused or downscaled when
// its QoS is qos_paused or qos_downscaled, its GrpTRESMins as Waldur
// limits, and its place in the account tree as metadata.
func (b *Backend) BackendStatus(ctx context.Context, r *waldur.Resource) (siteagent.BackendStatus, error) {
	if r.BackendID == "" {
		return siteagent.BackendStatus{}, fmt.Errorf("slurm: resource %s has no Slurm account yet", r.UUID)
	}
	as, err := b.client.Associations(ctx, r.BackendID)
	if err != nil {
		return siteagent.BackendStatus{}, err
	}
	if len(as) == 0 || as[0].User != "" {
		return siteagent.BackendStatus{}, fmt.Errorf("slurm: account %s of resource %s does not exist", r.BackendID, r.UUID)
	}
	a := as[0]
	qos := a.DefaultQoS
	if qos == "" && len(a.QoS) == 1 {
		qos = a.QoS[0]
	}
	s := b.settings
	st := siteagent.BackendStatus{
		Paused:     s.QoSPaused != "" && qos == s.QoSPaused,
		Downscaled: s.QoSDownscaled != "" && qos == s.QoSDownscaled,
		Limits:     waldurLimits(b.components, a.GrpTRESMin, termMonths(r)),
		Metadata:   map[string]any{"account": a.Account, "parent_account": a.Parent},
	}
	return st, nil
}

// PauseResource switches the resource's account to qos_paused.
func (b *Backend) PauseResource(ctx context.Context, r *waldur.Resource) error {
	return b.switchQoS(ctx, r, b.settings.QoSPaused, "qos_paused")
}

// DownscaleResource switches the resource's account to qos_downscaled.
func (b *Backend) DownscaleResource(ctx context.Context, r *waldur.Resource) error {
	return b.switchQoS(ctx, r, b.settings.QoSDownscaled, "qos_downscaled")
}

// RestoreResource switches the resource's account back to qos_default.
func (b *Backend) RestoreResource(ctx context.Context, r *waldur.Resource) error {
	return b.switchQoS(ctx, r, b.settings.QoSDefault, "qos_default")
}

func (b *Backend) switchQoS(ctx context.Context, r *waldur.Resource, qos, key string) error {
	if qos == "" {
		return fmt.Errorf("%w: set backend_settings.%s", errNoQoS, key)
	}
	account, err := b.account(ctx, r)
	if err != nil {
		return err
	}
	if err := b.client.SetQoS(ctx, account, qos); err != nil {
		return fmt.Errorf("slurm: set QoS of %s to %s: %w", account, qos, err)
	}
	b.log.InfoContext(ctx, "slurm account QoS set", "account", account, "qos", qos)
	return nil
}

// usageEntry is one billing month's sacct answer, by account.
type usageEntry struct {
	at     time.Time
	byAcct map[string][]JobUsage
}

// ReportUsage reports the resource's usage in the period from sacct: per
// component, the sum over the account's job allocations of TRES ×
// run time in minutes, divided by the component's unit_factor; per
// user likewise.
func (b *Backend) ReportUsage(ctx context.Context, r *waldur.Resource, p siteagent.Period) (siteagent.Usage, error) {
	if r.BackendID == "" || len(b.components) == 0 {
		return siteagent.Usage{}, nil
	}
	if err := CheckAccount(r.BackendID); err != nil {
		return siteagent.Usage{}, siteagent.Permanent(err)
	}
	jobs, err := b.jobs(ctx, r.BackendID, p)
	if err != nil {
		return siteagent.Usage{}, err
	}
	u := siteagent.Usage{Totals: map[string]float64{}, ByUser: map[string]map[string]float64{}}
	for _, c := range b.components {
		u.Totals[c.typ] = 0
		for _, j := range jobs {
			v := j.TRESMinutes(c.tres) / c.unitFactor
			u.Totals[c.typ] += v
			if j.User == "" || v == 0 {
				continue
			}
			if u.ByUser[c.typ] == nil {
				u.ByUser[c.typ] = map[string]float64{}
			}
			u.ByUser[c.typ][j.User] += v
		}
	}
	return u, nil
}

// jobs returns the account's job allocations in the period: from one
// sacct over all accounts per month, cached for UsageCache, or from an
// sacct of its own when caching is off.
func (b *Backend) jobs(ctx context.Context, account string, p siteagent.Period) ([]JobUsage, error) {
	end := p.End
	if now := b.now(); now.Before(end) {
		end = now.Truncate(time.Second).Add(time.Second)
	}
	if b.cacheFor < 0 {
		return b.client.Usage(ctx, []string{account}, p.Start, end, b.tz)
	}
	key := p.Start.UTC().Format(time.RFC3339)
	b.mu.Lock()
	defer b.mu.Unlock() // one sacct at a time: the others wait for its answer
	e := b.usage[key]
	if e == nil || b.now().Sub(e.at) > b.cacheFor {
		all, err := b.client.AllUsage(ctx, p.Start, end, b.tz)
		if err != nil {
			return nil, err
		}
		e = &usageEntry{at: b.now(), byAcct: make(map[string][]JobUsage)}
		for _, j := range all {
			e.byAcct[j.Account] = append(e.byAcct[j.Account], j)
		}
		b.usage[key] = e
	}
	return e.byAcct[account], nil
}
