package execbackend

import (
	"context"
	"fmt"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Membership returns the membership processor of the ListMembers,
// AddMembers and RemoveMembers commands, or nil when they are not set.
func (b *Backend) Membership() siteagent.MembershipProcessor {
	if b.cfg.ListMembers == nil {
		return nil
	}
	return membership{b}
}

type membership struct{ b *Backend }

func (m membership) ProcessorInfo() siteagent.ProcessorInfo { return m.b.ProcessorInfo() }

func (m membership) ListMembers(ctx context.Context, r *waldur.Resource) ([]siteagent.Member, error) {
	var ans membersAnswer
	req := request{Protocol: Protocol, Action: "list_members", Resource: newResourceInfo(r)}
	if err := m.b.run.run(ctx, m.b.cfg.ListMembers, req, &ans); err != nil {
		return nil, fmt.Errorf("execbackend: resource %s: %w", hex(r.UUID), err)
	}
	out := make([]siteagent.Member, 0, len(ans.Members))
	for _, mi := range ans.Members {
		if mi.Username == "" {
			return nil, siteagent.Permanentf("execbackend: resource %s: list_members: a member without a username", hex(r.UUID))
		}
		out = append(out, mi.member())
	}
	return out, nil
}

func (m membership) AddMembers(ctx context.Context, r *waldur.Resource, ms []siteagent.Member) error {
	return m.change(ctx, m.b.cfg.AddMembers, "add_members", r, ms)
}

func (m membership) RemoveMembers(ctx context.Context, r *waldur.Resource, ms []siteagent.Member) error {
	return m.change(ctx, m.b.cfg.RemoveMembers, "remove_members", r, ms)
}

func (m membership) change(ctx context.Context, cmd Command, action string, r *waldur.Resource, ms []siteagent.Member) error {
	req := request{Protocol: Protocol, Action: action, Resource: newResourceInfo(r), Members: newMemberInfos(ms)}
	if err := m.b.run.run(ctx, cmd, req, nil); err != nil {
		return fmt.Errorf("execbackend: resource %s: %w", hex(r.UUID), err)
	}
	return nil
}

// Usage returns the usage reporter of the Usage command, or nil when it is
// not set.
func (b *Backend) Usage() siteagent.UsageReporter {
	if b.cfg.Usage == nil {
		return nil
	}
	return usage{b}
}

type usage struct{ b *Backend }

func (u usage) ProcessorInfo() siteagent.ProcessorInfo { return u.b.ProcessorInfo() }

func (u usage) ReportUsage(ctx context.Context, r *waldur.Resource, p siteagent.Period) (siteagent.Usage, error) {
	var ans usageAnswer
	req := request{Protocol: Protocol, Action: "usage", Resource: newResourceInfo(r),
		Period: &periodInfo{Month: p.String(), Start: p.Start, End: p.End}}
	if err := u.b.run.run(ctx, u.b.cfg.Usage, req, &ans); err != nil {
		return siteagent.Usage{}, fmt.Errorf("execbackend: usage of resource %s in %s: %w", hex(r.UUID), p, err)
	}
	return siteagent.Usage{Totals: ans.Totals, ByUser: ans.ByUser}, nil
}
