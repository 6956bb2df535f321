package slurm

import (
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
)

// Configure sets b as the processor of the work the offering gives the
// Slurm backend, as the reference agent runs its plugins:
// order_processing_backend sets Orders, membership_sync_backend
// Membership and ResourceStatus (pausing and downscaling are part of its
// membership sync), reporting_backend Usage, and enabled periodic_limits
// PeriodicLimits. An offering that names no backend for any work gets
// them all.
func (b *Backend) Configure(cfg *siteagent.Config, o *agentconfig.Offering) {
	orders := o.OrderProcessingBackend == "slurm"
	members := o.MembershipSyncBackend == "slurm"
	usage := o.ReportingBackend == "slurm"
	if o.OrderProcessingBackend == "" && o.MembershipSyncBackend == "" && o.ReportingBackend == "" {
		orders, members, usage = true, true, true
	}
	if orders {
		cfg.Orders = b
	}
	if members {
		cfg.Membership = b
		cfg.ResourceStatus = b
	}
	if usage {
		cfg.Usage = b
	}
	if b.periodic.Enabled {
		cfg.PeriodicLimits = b
	}
}
