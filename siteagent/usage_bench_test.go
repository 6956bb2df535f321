package siteagent

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// BenchmarkUsageReport measures one usage pass over 10,000 resources against
// the fake Waldur over loopback HTTP: the first pass (everything is new) and
// an unchanged second pass. Each reports the REST calls per pass by
// operation; the target for the unchanged pass is zero writes and reads paged
// at 300. Two months are reported (the default), two components per resource,
// and with "users" two users' shares of one component.
//
//	go test -run '^$' -bench BenchmarkUsageReport -benchtime 3x ./siteagent/
func BenchmarkUsageReport(b *testing.B) {
	const resources = 10_000
	for _, users := range []bool{false, true} {
		name := "totals"
		if users {
			name = "users"
		}
		b.Run(name+"/first", func(b *testing.B) {
			var calls map[string]int
			for range b.N {
				b.StopTimer()
				f, w := usageBench(b, resources, users)
				b.StartTimer()
				pass(w)
				b.StopTimer()
				calls = callCountsAll(f.s)
			}
			reportCalls(b, calls)
		})
		b.Run(name+"/unchanged", func(b *testing.B) {
			f, w := usageBench(b, resources, users)
			pass(w)
			var calls map[string]int
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				f.s.ResetCalls()
				b.StartTimer()
				pass(w)
				b.StopTimer()
				calls = callCountsAll(f.s)
			}
			reportCalls(b, calls)
			if a := w.a.Stats(); a.UsageFailed > 0 {
				b.Fatalf("%d failures", a.UsageFailed)
			}
		})
	}
}

func usageBench(b *testing.B, n int, users bool) (*usageFixture, *usageWork) {
	f := newUsageFixture(b, mid, waldurtest.WithCallLogLimit(1000))
	for i := range n {
		f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Name: fmt.Sprintf("r%05d", i)})
	}
	for _, name := range []string{"alice", "bob"} {
		u := f.s.AddUser(waldurtest.UserSpec{Username: name})
		f.s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: f.offering, User: u, Username: name + "01"})
	}
	m := UsageReporterFunc(func(_ context.Context, r *waldur.Resource, p Period) (Usage, error) {
		u := Usage{Totals: map[string]float64{"cpu": float64(len(r.Name)) * 1.25, "ram": float64(p.Start.Month())}}
		if users {
			u.ByUser = map[string]map[string]float64{"cpu": {"alice01": 5, "bob01": 1.25}}
		}
		return u, nil
	})
	_, w := f.agent(b, m, func(c *Config) { c.ProcessorTimeout = time.Minute })
	return f, w
}

// callCountsAll counts every call by operation, whatever the log limit kept.
func callCountsAll(s *waldurtest.Server) map[string]int {
	out := map[string]int{}
	for _, op := range []string{
		"marketplace_provider_offerings_retrieve", "marketplace_provider_resources_list",
		"marketplace_component_usages_list", "marketplace_offering_users_list",
		"marketplace_component_usages_set_usage", "marketplace_component_usages_set_user_usages",
	} {
		if n := s.CallCount(op); n > 0 {
			out[op] = n
		}
	}
	return out
}

func reportCalls(b *testing.B, calls map[string]int) {
	total, writes := 0, 0
	ops := make([]string, 0, len(calls))
	for op, n := range calls {
		total += n
		if strings.Contains(op, "_set_") {
			writes += n
		}
		ops = append(ops, op)
	}
	sort.Strings(ops)
	var sb strings.Builder
	for _, op := range ops {
		fmt.Fprintf(&sb, " %s=%d", strings.TrimPrefix(op, "marketplace_"), calls[op])
	}
	b.ReportMetric(float64(total), "calls/pass")
	b.ReportMetric(float64(writes), "writes/pass")
	b.Logf("calls per pass:%s", sb.String())
}
