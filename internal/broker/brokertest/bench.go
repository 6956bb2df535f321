package brokertest

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gsv-platform/waldur-agent-go/internal/backoff"
	"github.com/gsv-platform/waldur-agent-go/internal/broker"
)

// maxBacklog stays below Waldur's x-max-length (10 000), past which the queue
// would reject new messages.
const maxBacklog = 9000

// BenchThroughput measures messages per second through tr with a no-op
// handler and the given concurrency: b.N messages are published first (in
// rounds that fit the queue's length limit), then a consumer drains them; only
// the draining is timed, connection set-up included.
func BenchThroughput(b *testing.B, tr Transport, concurrency int) {
	env := NewEnv(b, tr.URL(b))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b.StopTimer()
	var elapsed time.Duration
	for done := 0; done < b.N; {
		batch := min(b.N-done, maxBacklog)
		env.Publish(ctx, Payloads(fmt.Sprint("bench-", done), batch)...)

		var handled atomic.Int64
		all := make(chan struct{})
		h := func(context.Context, broker.Message) error {
			if handled.Add(1) == int64(batch) {
				close(all)
			}
			return nil
		}
		start := time.Now()
		b.StartTimer()
		c := Start(b, tr.Dialer, TestConfig(env.Credentials, h, concurrency))
		select {
		case <-all:
		case <-ctx.Done():
			b.Fatal("timed out draining the queue")
		}
		b.StopTimer()
		elapsed += time.Since(start)
		if err := c.Stop(); err != nil {
			b.Fatal(err)
		}
		done += batch
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}

// BenchLatency publishes n messages at rate per second, each carrying its
// publish time, and reports the 50th and 99th percentile of the time from
// publishing to the handler seeing it. It does the same work whatever b.N is;
// run it with -benchtime=1x.
func BenchLatency(b *testing.B, tr Transport, rate, n int) {
	env := NewEnv(b, tr.URL(b))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
	)
	all := make(chan struct{})
	h := func(_ context.Context, m broker.Message) error {
		now := time.Now()
		var body struct {
			Sent int64 `json:"sent"`
		}
		if err := json.Unmarshal(m.Body, &body); err != nil {
			return broker.Reject(err)
		}
		mu.Lock()
		defer mu.Unlock()
		latencies = append(latencies, now.Sub(time.Unix(0, body.Sent)))
		if len(latencies) == n {
			close(all)
		}
		return nil
	}
	c := Start(b, tr.Dialer, TestConfig(env.Credentials, h, 4))
	for !c.Connected() {
		time.Sleep(time.Millisecond) // a benchmark's set-up, not a test's synchronisation
	}
	pub := env.Publisher(ctx)
	queue := env.Registration().Queue
	tick := time.NewTicker(time.Second / time.Duration(rate))
	defer tick.Stop()
	b.ResetTimer()
	for i := range n {
		<-tick.C
		body := fmt.Appendf(nil, `{"object_type":"order","i":%d,"sent":%d}`, i, time.Now().UnixNano())
		if _, err := pub.Publish(ctx, queue, body); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-all:
	case <-ctx.Done():
		b.Fatal("timed out")
	}
	b.StopTimer()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(latencies)
	pct := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(latencies[len(latencies)-1].Microseconds())/1000, "max-ms")
}

// BenchReconnect measures the time from force-closing the consumer's
// connection through the management API to the consumer consuming again:
// detection, a 1 ms backoff, dial, login and subscribe.
func BenchReconnect(b *testing.B, tr Transport) {
	env := NewEnv(b, tr.URL(b))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cfg := TestConfig(env.Credentials, func(context.Context, broker.Message) error { return nil }, 1)
	cfg.Reconnect = backoff.Policy{Initial: time.Millisecond, Max: time.Millisecond, Jitter: backoff.NoJitter}
	c := Start(b, tr.Dialer, cfg)
	waitConnects := func(n uint64) {
		for c.Stats().Connects < n || !c.Connected() {
			if ctx.Err() != nil {
				b.Fatal("timed out waiting for the consumer")
			}
			time.Sleep(100 * time.Microsecond) // measuring; a busy loop would steal a core
		}
	}
	waitConnects(1)
	var lastReconnect time.Duration
	b.ResetTimer()
	for i := range b.N {
		if err := env.ForceClose(ctx, lostSince(c, uint64(i)+1)); err != nil {
			b.Fatal(err)
		}
		waitConnects(uint64(i) + 2)
		lastReconnect += c.Stats().LastReconnect
	}
	b.StopTimer()
	b.ReportMetric(float64(lastReconnect.Microseconds())/1000/float64(b.N), "lost-to-consuming-ms")
}

// BenchSessionMemory opens conns sessions on one queue and reports the heap
// and goroutines each one holds.
func BenchSessionMemory(b *testing.B, tr Transport, conns int) {
	env := NewEnv(b, tr.URL(b))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	ep, err := env.Credentials(ctx, false)
	if err != nil {
		b.Fatal(err)
	}
	var heap, goroutines float64
	for range b.N {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		sessions := make([]broker.Session, 0, conns)
		for range conns {
			s, err := tr.Dialer.Dial(ctx, ep, 8)
			if err != nil {
				b.Fatal(err)
			}
			sessions = append(sessions, s)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap += float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(conns)
		goroutines += float64(runtime.NumGoroutine()-g0) / float64(conns)
		for _, s := range sessions {
			_ = s.Close()
		}
	}
	b.ReportMetric(heap/float64(b.N), "heap-B/conn")
	b.ReportMetric(goroutines/float64(b.N), "goroutines/conn")
}
