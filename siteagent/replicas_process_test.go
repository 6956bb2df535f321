package siteagent_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// Replica tests run the agent as separate processes (internal/replicaagent)
// against the fake Waldur and the test broker, so that a replica can be
// killed for real.

// replicaSet is a fake Waldur on the test broker with agent processes.
type replicaSet struct {
	*brokerEnv
	bin, callLog, logs string

	mu     sync.Mutex
	procs  map[string]*exec.Cmd
	exited map[int]chan struct{} // pid → closed when the process has exited
	killed map[int]bool          // pids killed with SIGKILL
}

func newReplicaSet(tb testing.TB) *replicaSet {
	tb.Helper()
	e := newBrokerEnv(tb, waldurtest.WithCallLogLimit(0))
	dir := tb.TempDir()
	rs := &replicaSet{
		brokerEnv: e, bin: filepath.Join(dir, "replicaagent"), callLog: filepath.Join(dir, "calls.log"),
		logs:  filepath.Join(dir, "replicas.log"),
		procs: map[string]*exec.Cmd{}, exited: map[int]chan struct{}{}, killed: map[int]bool{},
	}
	build := exec.Command("go", "build", "-o", rs.bin, "./internal/replicaagent")
	out, err := build.CombinedOutput()
	require.NoError(tb, err, "go build: %s", out)
	tb.Cleanup(func() {
		rs.stopAll()
		if tb.Failed() {
			if b, err := os.ReadFile(rs.logs); err == nil {
				tb.Logf("the replicas' logs:\n%s", b[max(0, len(b)-20_000):])
			}
		}
	})
	return rs
}

// start starts replica id as a new process.
func (rs *replicaSet) start(tb testing.TB, id string) {
	tb.Helper()
	cmd := exec.Command(rs.bin)
	cmd.Env = append(os.Environ(),
		"WALDUR_API_URL="+rs.s.URL(), "WALDUR_API_TOKEN="+rs.s.Token(),
		"WALDUR_OFFERING_UUID="+rs.offering.String(), "WALDUR_AMQP_URL="+amqpEndpoint(tb),
		"REPLICA_ID="+id, "REPLICA_CALL_LOG="+rs.callLog)
	logs, err := os.OpenFile(rs.logs, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	require.NoError(tb, err)
	defer logs.Close() // the child has its own copy
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(tb, cmd.Start())
	ch := make(chan struct{})
	go func() { _ = cmd.Wait(); close(ch) }()
	rs.mu.Lock()
	rs.procs[id] = cmd
	rs.exited[cmd.Process.Pid] = ch
	rs.mu.Unlock()
}

// kill kills replica id with SIGKILL and waits until it is gone.
func (rs *replicaSet) kill(tb testing.TB, id string) {
	tb.Helper()
	rs.mu.Lock()
	cmd := rs.procs[id]
	pid := cmd.Process.Pid
	rs.killed[pid] = true
	ch := rs.exited[pid]
	rs.mu.Unlock()
	require.NoError(tb, cmd.Process.Kill())
	<-ch
}

// stopAll stops every replica with SIGTERM, as an orchestrator would.
func (rs *replicaSet) stopAll() {
	rs.mu.Lock()
	var waits []chan struct{}
	for _, cmd := range rs.procs {
		if ch := rs.exited[cmd.Process.Pid]; ch != nil {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			waits = append(waits, ch)
		}
	}
	rs.mu.Unlock()
	for _, ch := range waits {
		<-ch
	}
}

// calls reads the processors' call log: order → the pids that processed it,
// in order.
func (rs *replicaSet) calls(tb testing.TB) map[waldur.UUID][]int {
	tb.Helper()
	f, err := os.Open(rs.callLog)
	require.NoError(tb, err)
	defer f.Close()
	out := map[waldur.UUID][]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		require.Len(tb, fields, 3, "call log line %q", sc.Text())
		id, err := waldur.ParseUUID(fields[0])
		require.NoError(tb, err)
		pid, err := strconv.Atoi(fields[2])
		require.NoError(tb, err)
		out[id] = append(out[id], pid)
	}
	require.NoError(tb, sc.Err())
	return out
}

// addOrders adds n Create orders pending the provider.
func (rs *replicaSet) addOrders(n int) []waldur.UUID {
	ids := make([]waldur.UUID, n)
	for i := range ids {
		ids[i] = rs.s.AddOrder(waldurtest.OrderSpec{Offering: rs.offering})
	}
	return ids
}

// waitProcessors waits until every named replica registered its processor.
func (rs *replicaSet) waitProcessors(tb testing.TB, ids ...string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(tb, rs.s.WaitFor(ctx, func() bool {
		for _, id := range ids {
			if !slices.ContainsFunc(rs.s.Processors(), func(p waldur.AgentProcessor) bool {
				return strings.HasSuffix(p.Name, "@"+id)
			}) {
				return false
			}
		}
		return true
	}), "the replicas registered")
}

// replicaOrders is how many orders the replica acceptance run uses: 2 000,
// or 500 with -short; WALDUR_TEST_REPLICA_ORDERS overrides both.
func replicaOrders(tb testing.TB) int {
	if s := os.Getenv("WALDUR_TEST_REPLICA_ORDERS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(tb, err, "WALDUR_TEST_REPLICA_ORDERS")
		return n
	}
	if testing.Short() {
		return 500
	}
	return 2000
}

// Three agent processes share an offering's orders while one of them is
// killed with SIGKILL and restarted three times and the broker drops every
// consumer connection three times: no order is lost, no order is processed
// twice but where a killed process had started it, and no transition fails
// because two replicas raced for it.
func TestReplicaProcessesLoseNoOrderAndRunEachOnce(t *testing.T) {
	rs := newReplicaSet(t)
	replicas := []string{"r1", "r2", "r3"}
	for _, id := range replicas {
		rs.start(t, id)
	}
	rs.waitProcessors(t, replicas...)

	total := replicaOrders(t)
	const batches = 20
	var ids []waldur.UUID
	type kill struct {
		at      time.Time
		pid     int
		started map[waldur.UUID]bool // orders its processor had been called for
	}
	var kills []kill
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for b := range batches {
		ids = append(ids, rs.addOrders(total/batches)...)
		// Keep the run going while chaos strikes: wait until most orders so
		// far are done.
		select {
		case <-rs.expectDone(len(ids) - total/batches/2):
		case <-ctx.Done():
			t.Fatalf("orders stopped getting done at batch %d", b)
		}
		switch b {
		case 3, 9, 15: // kill a replica mid-stream and start it again
			id := replicas[(b/6)%len(replicas)]
			rs.mu.Lock()
			pid := rs.procs[id].Process.Pid
			rs.mu.Unlock()
			rs.kill(t, id)
			started := map[waldur.UUID]bool{}
			for o, pids := range rs.calls(t) {
				if slices.Contains(pids, pid) {
					started[o] = true
				}
			}
			kills = append(kills, kill{at: time.Now(), pid: pid, started: started})
			rs.start(t, id)
		case 6, 12, 18: // the broker drops every consumer connection
			if err := rs.rmq.CloseConsumerConnections(ctx); err != nil {
				t.Logf("closing the consumers' connections: %v", err)
			}
		}
	}
	waitOrders(t, rs.s, ids, waldur.OrderStateDone)

	// Each order was processed once, or more often only after a kill.
	calls := rs.calls(t)
	rs.mu.Lock()
	killed := rs.killed
	rs.mu.Unlock()
	again := 0
	for _, id := range ids {
		pids := calls[id]
		require.NotEmpty(t, pids, "order %s done without its processor", id)
		for i := range len(pids) - 1 {
			assert.True(t, killed[pids[i]], "order %s processed by %v, twice without a kill", id, pids)
		}
		again += len(pids) - 1
	}
	// No transition failed because two replicas raced for it; only
	// approve_by_provider, the claim itself, may be refused.
	refusedApprovals := 0
	for _, c := range rs.s.Calls() {
		if c.Status != 409 && c.Status != 400 {
			continue
		}
		if c.OperationID == "marketplace_orders_approve_by_provider" {
			refusedApprovals++
			continue
		}
		t.Errorf("refused: %s %s %d", c.Method, c.Path, c.Status)
	}

	// Takeover: how long after each kill the orders its process had been
	// working on were done.
	var takeovers []time.Duration
	rs.mu.Lock()
	for _, k := range kills {
		last := k.at
		for o := range k.started {
			if d, ok := rs.done[o]; ok && d.After(last) {
				last = d
			}
		}
		takeovers = append(takeovers, last.Sub(k.at).Round(time.Millisecond))
	}
	rs.mu.Unlock()
	lat := rs.latencies(ids)
	slices.Sort(lat)
	t.Logf("%d orders by 3 replicas, 3 kills, 3 connection drops: processed again after a kill %d, "+
		"approvals refused to a competing replica %d, takeover after each kill %v (0: nothing of it in flight), p50 %v, p99 %v",
		len(ids), again, refusedApprovals, takeovers, lat[len(lat)/2].Round(time.Millisecond),
		lat[len(lat)*99/100].Round(time.Millisecond))
}

// BenchmarkReplicaProcesses measures orders/s and p99 event-to-done with 1,
// 2 and 3 agent processes; each iteration is one order. Run it with a fixed
// count, for example -benchtime=2000x.
func BenchmarkReplicaProcesses(b *testing.B) {
	for _, n := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("replicas=%d", n), func(b *testing.B) {
			rs := newReplicaSet(b)
			var names []string
			for i := range n {
				names = append(names, fmt.Sprintf("r%d", i+1))
				rs.start(b, names[i])
			}
			rs.waitProcessors(b, names...)
			b.ResetTimer()
			ids := rs.addOrders(b.N)
			<-rs.expectDone(b.N)
			b.StopTimer()
			lat := rs.latencies(ids)
			slices.Sort(lat)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
			b.ReportMetric(float64(lat[len(lat)*99/100].Milliseconds()), "p99-ms")
		})
	}
}
