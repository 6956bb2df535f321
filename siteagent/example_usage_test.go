package siteagent_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// The backend's accounting knows CPU hours per allocation, month and user.
// The agent reports them for the previous and the current month; Waldur bills
// them.
func ExampleUsageReporterFunc() {
	now := time.Date(2026, 8, 17, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s := waldurtest.New(waldurtest.WithClock(clock))
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{
		{Type: "cpu_hours", BillingType: "usage", MeasuredUnit: "hours"},
	}})
	s.AddResource(waldurtest.ResourceSpec{Offering: offering, BackendID: "alloc_42"})

	// accounting[backend id][month] = CPU hours by user
	accounting := map[string]map[string]map[string]float64{
		"alloc_42": {
			"2026-07": {"alice01": 120.5, "bob01": 30},
			"2026-08": {"alice01": 12.25},
		},
	}
	usage := siteagent.UsageReporterFunc(func(ctx context.Context, r *waldur.Resource, p siteagent.Period) (siteagent.Usage, error) {
		byUser := accounting[r.BackendID][p.String()]
		total := 0.0
		for _, h := range byUser {
			total += h
		}
		return siteagent.Usage{
			Totals: map[string]float64{"cpu_hours": total},
			ByUser: map[string]map[string]float64{"cpu_hours": byUser},
		}, nil
	})

	runAgent(s, siteagent.Config{OfferingUUID: offering.String(), Usage: usage, Now: clock}, func() bool {
		return len(s.UserUsages()) == 3
	})
	for _, u := range s.ComponentUsages() {
		fmt.Println(u.BillingPeriod, u.Type, waldur.FormatAmount(u.Usage))
	}
	for _, u := range s.UserUsages() {
		fmt.Println(u.Type, u.Username, u.Usage)
	}
	// Unordered output:
	// 2026-07-01 cpu_hours 150.50
	// 2026-08-01 cpu_hours 12.25
	// cpu_hours alice01 120.50
	// cpu_hours bob01 30.00
	// cpu_hours alice01 12.25
}
