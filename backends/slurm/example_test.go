package slurm_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gsv-platform/waldur-agent-go/backends/slurm"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// A resource's usage from sacct: a Runner that answers as sacct would
// stands in for the cluster, as in tests; slurm.ExecRunner{} runs the real
// programs.
func ExampleBackend_ReportUsage() {
	sacct := slurm.RunnerFunc(func(_ context.Context, name string, args ...string) ([]byte, error) {
		// Account|User|AllocTRES|ElapsedRaw of the month's job allocations.
		return []byte("hpc_alloc|alice|cpu=4,mem=8G,node=1|5400\nhpc_alloc|bob|cpu=2,node=1|1800\n"), nil
	})
	b, err := slurm.New(slurm.Config{
		Runner: sacct,
		Components: []agentconfig.Component{
			// Waldur bills CPU-hours; Slurm counts CPU-minutes.
			{Type: "cpu", AccountingType: "usage", UnitFactor: 60},
		},
	})
	if err != nil {
		panic(err)
	}
	month := siteagent.Period{Start: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}
	u, err := b.ReportUsage(context.Background(), &waldur.Resource{BackendID: "hpc_alloc"}, month)
	if err != nil {
		panic(err)
	}
	fmt.Printf("cpu %.1f hours: alice %.1f, bob %.1f\n", u.Totals["cpu"], u.ByUser["cpu"]["alice"], u.ByUser["cpu"]["bob"])
	// Output: cpu 7.0 hours: alice 6.0, bob 1.0
}

func ExampleAccountName() {
	fmt.Println(slurm.AccountName("hpc_", "Climate-Model 2026"))
	fmt.Println(slurm.CheckUser("alice; rm -rf") != nil)
	// Output:
	// hpc_climate-model_2026
	// true
}
