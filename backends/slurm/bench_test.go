package slurm_test

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/backends/slurm"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/siteagent/siteagenttest"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// Benchmarks against the real Slurm (.ci/slurm); see BENCHMARKS.md.
//
//	go test -run '^$' -bench . -benchtime 200x ./backends/slurm/    (orders)
//	go test -run '^$' -bench UsagePass -benchtime 3x ./backends/slurm/

// sacctmgrBulk runs sacctmgr -i on names in chunks, for set-up and clean-up
// of many accounts at once (one slurmdbd round trip per chunk).
func sacctmgrBulk(tb testing.TB, names []string, args func(list string) []string) {
	tb.Helper()
	for len(names) > 0 {
		n := min(len(names), 200)
		out, err := exec.Command("sacctmgr", append([]string{"-i"}, args(strings.Join(names[:n], ","))...)...).CombinedOutput()
		if err != nil && !strings.Contains(string(out), "Nothing") {
			tb.Fatalf("sacctmgr: %v: %s", err, out)
		}
		names = names[n:]
	}
}

// BenchmarkOrdersRealSlurm: Create orders through the agent (8 at a time)
// against the fake Waldur and the real Slurm, one project, so each order
// costs two sacctmgr calls.
func BenchmarkOrdersRealSlurm(b *testing.B) {
	backend, prefix := benchCluster(b)
	s := waldurtest.New()
	defer s.Close()
	cust := s.AddCustomer(waldurtest.CustomerSpec{Slug: "bench"})
	prj := s.AddProject(waldurtest.ProjectSpec{Customer: cust, Slug: "bench"})
	off := s.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{{Type: "cpu", BillingType: "limit"}}})
	cfg := siteagenttest.Config(s, off)
	cfg.Orders = backend
	siteagenttest.Start(b, cfg)

	orders := make([]uuid.UUID, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := range orders {
		orders[i] = s.AddOrder(waldurtest.OrderSpec{Offering: off, Project: prj, Limits: map[string]int64{"cpu": 60},
			Attributes: map[string]any{"name": fmt.Sprintf("o%05d", i)}})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	require.NoError(b, s.WaitFor(ctx, func() bool {
		for _, id := range orders {
			if o, _ := s.Order(id); o.State != waldur.OrderStateDone {
				return false
			}
		}
		return true
	}))
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "orders/s")
	names := make([]string, b.N)
	for i := range names {
		names[i] = fmt.Sprintf("%so%05d", prefix, i)
	}
	sacctmgrBulk(b, names, func(l string) []string { return []string{"remove", "account", "where", "name=" + l} })
}

// BenchmarkUsagePass1000: the agent's first usage pass over 1,000
// resources, each a Slurm account, against the fake Waldur: two months,
// one sacct each, and a set_usage per resource and month.
func BenchmarkUsagePass1000(b *testing.B) {
	const n = 1000
	_, prefix := benchCluster(b)
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf("%su%04d", prefix, i)
	}
	sacctmgrBulk(b, []string{prefix + "p"}, func(l string) []string { return []string{"add", "account", l, "parent=root"} })
	sacctmgrBulk(b, names, func(l string) []string { return []string{"add", "account", l, "parent=" + prefix + "p"} })
	b.Cleanup(func() {
		sacctmgrBulk(b, names, func(l string) []string { return []string{"remove", "account", "where", "name=" + l} })
	})

	var total time.Duration
	for b.Loop() {
		s := waldurtest.New()
		off := s.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{{Type: "cpu", BillingType: "usage"}}})
		for _, name := range names {
			s.AddResource(waldurtest.ResourceSpec{Offering: off, BackendID: name})
		}
		backend, err := slurm.New(slurm.Config{Components: []agentconfig.Component{
			{Type: "cpu", AccountingType: "usage", UnitFactor: 60}}})
		require.NoError(b, err)
		cfg := siteagenttest.Config(s, off)
		cfg.Usage = backend
		cfg.UsageInterval, cfg.ReconcileInterval = time.Hour, time.Hour
		start := time.Now()
		agent := siteagenttest.Start(b, cfg)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		require.NoError(b, s.WaitFor(ctx, func() bool { return !agent.Stats().LastUsageReport.IsZero() }))
		cancel()
		total += time.Since(start)
		s.Close()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/pass")
}

// benchCluster is realCluster for benchmarks.
func benchCluster(b *testing.B) (*slurm.Backend, string) {
	b.Helper()
	return realCluster(b, cpuMinutes)
}
