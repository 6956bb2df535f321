package waldur

import (
	"context"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// PeriodicCommandResult is what an agent did with a Slurm periodic usage
// policy's settings for one resource: whether they were applied, and the
// commands that ran.
type PeriodicCommandResult = waldurapi.PeriodicCommandResult

// PeriodicCommandResultModeProduction is the mode of settings applied to a
// real cluster.
const PeriodicCommandResultModeProduction = waldurapi.PeriodicCommandResultModeProduction

// ReportPeriodicResult reports to the periodic usage policy how its
// settings were applied to a resource.
//
// Waldur: POST /api/marketplace-slurm-periodic-usage-policies/{uuid}/report-command-result/
func (s *ResourcesService) ReportPeriodicResult(ctx context.Context, policy UUID, r PeriodicCommandResult) error {
	ctx = WithRetrySafe(ctx) // a report of the same result again says the same
	req, err := waldurapi.NewMarketplaceSlurmPeriodicUsagePoliciesReportCommandResultRequest(s.c.server, policy, r)
	return s.c.action(ctx, req, err)
}
