package siteagent_test

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// benchAgent returns an agent that is never run: event handling works without
// Run, which is what the dispatch benchmarks measure.
func benchAgent(b *testing.B) (*siteagent.Agent, waldur.UUID) {
	b.Helper()
	off := waldur.UUID{0x0e, 0x4b}
	a, err := siteagent.New(siteagent.Config{
		WaldurURL: "http://127.0.0.1:1", Token: "t", OfferingUUID: off.String(), Orders: &recorder{},
	})
	require.NoError(b, err)
	return a, off
}

// BenchmarkDispatchEvent measures the agent's own cost per event: routing to
// the order capability, the keyed pool and the state check, for an event that
// needs no REST call (the order is finished).
func BenchmarkDispatchEvent(b *testing.B) {
	a, off := benchAgent(b)
	e := orderEvent(off, waldur.UUID{1}, waldur.OrderStateDone)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := a.HandleEvent(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeAndDispatchEvent adds decoding a unified order payload.
func BenchmarkDecodeAndDispatchEvent(b *testing.B) {
	a, off := benchAgent(b)
	body := []byte(`{"order_uuid": "5d0f0a8c2a7e4b51a1f3c6d7e8f90a12", "order_state": "done",
		"offering_uuid": "` + waldur.Hex(off) + `", "object_type": "order", "schema_version": 1,
		"order_type": "Create", "resource_uuid": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "resource_backend_id": "",
		"resource_name": "alloc-42", "project_uuid": "77aa88bb99cc00dd11ee22ff33445566", "project_name": "Climate modelling",
		"attributes": {"name": "alloc-42"}, "limits": {"cpu": 1000, "gpu": 10}, "plan_uuid": "9f8e7d6c5b4a39281706f5e4d3c2b1a0"}`)
	ctx := context.Background()
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		e, err := siteagent.DecodeEvent(body, "")
		if err != nil {
			b.Fatal(err)
		}
		if err := a.HandleEvent(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOrdersEndToEnd pushes Create orders through a running agent against
// the fake Waldur over loopback HTTP, as events would bring them (16 at a
// time, the agent's concurrency), and reports orders per second. Each order
// costs four REST calls (read, approve, set_backend_id, set_state_done).
func BenchmarkOrdersEndToEnd(b *testing.B) {
	s := waldurtest.NewServer(b, waldurtest.WithCallLogLimit(1000))
	off := s.AddOffering(waldurtest.OfferingSpec{})
	a, err := siteagent.New(siteagent.Config{
		Client: s.Client(), OfferingUUID: off.String(), Orders: &recorder{},
		Concurrency: 16, ReconcileInterval: time.Hour, Events: siteagent.EventsConfig{Mode: siteagent.EventsPolling},
	})
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	require.NoError(b, s.WaitFor(wctx, func() bool { return !a.Stats().LastReconcile.IsZero() }))

	ids := make([]waldur.UUID, b.N)
	for i := range ids {
		ids[i] = s.AddOrder(waldurtest.OrderSpec{Offering: off})
	}
	work := make(chan waldur.UUID)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for id := range work {
				if err := a.HandleEvent(ctx, orderEvent(off, id, waldur.OrderStatePendingProvider)); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for _, id := range ids {
		work <- id
	}
	close(work)
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "orders/s")
	b.StopTimer()
	if got := a.Stats().OrdersDone; got != int64(b.N) {
		b.Fatalf("%d of %d orders done", got, b.N)
	}
}

// BenchmarkStartToReady measures Run from its call until the agent is ready:
// credentials checked, offering read, identity, service and processor
// registered, first reconciliation started.
func BenchmarkStartToReady(b *testing.B) {
	s := waldurtest.NewServer(b, waldurtest.WithCallLogLimit(1000))
	off := s.AddOffering(waldurtest.OfferingSpec{})
	client := s.Client()
	for b.Loop() {
		a, err := siteagent.New(siteagent.Config{
			Client: client, OfferingUUID: off.String(), Orders: &recorder{},
			Events: siteagent.EventsConfig{Mode: siteagent.EventsPolling},
		})
		require.NoError(b, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		for !a.Ready() {
			select {
			case err := <-done:
				b.Fatalf("Run returned early: %v", err)
			default:
			}
		}
		b.StopTimer()
		cancel()
		require.NoError(b, <-done)
		b.StartTimer()
	}
}

// BenchmarkIdleAgentRSS builds the quickstart example, runs it against the
// fake Waldur as a separate process, and reports its resident memory once it
// is registered and idle.
func BenchmarkIdleAgentRSS(b *testing.B) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		b.Skip("needs /proc to read the resident set size")
	}
	bin := filepath.Join(b.TempDir(), "quickstart")
	build := exec.Command("go", "build", "-o", bin, "../examples/quickstart")
	out, err := build.CombinedOutput()
	require.NoError(b, err, string(out))
	for b.Loop() {
		s := waldurtest.NewServer(b)
		off := s.AddOffering(waldurtest.OfferingSpec{})
		cmd := exec.Command(bin)
		cmd.Env = append(os.Environ(), "WALDUR_API_URL="+s.URL(), "WALDUR_API_TOKEN="+s.Token(), "WALDUR_OFFERING_UUID="+waldur.Hex(off))
		require.NoError(b, cmd.Start())
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := s.WaitFor(ctx, func() bool { return s.CallCount("marketplace_orders_list") > 0 })
		cancel()
		require.NoError(b, err)
		rss := residentKB(b, cmd.Process.Pid)
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		b.ReportMetric(float64(rss)/1024, "RSS-MB")
	}
}

func residentKB(b *testing.B, pid int) int {
	f, err := os.Open(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	require.NoError(b, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			require.NoError(b, err)
			return kb
		}
	}
	b.Fatal("no VmRSS in /proc status")
	return 0
}
