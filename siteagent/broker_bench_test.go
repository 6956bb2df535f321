package siteagent_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// Benchmarks against the RabbitMQ of internal/testenv. Run them with
//
//	go test -run '^$' -bench Broker -benchtime 1x ./siteagent/
//
// (BenchmarkBrokerEvents takes larger -benchtime values such as 20000x).

// BenchmarkBrokerEvents measures events per second through each transport
// with nothing to do per event: order events that say the order is done,
// which the agent settles without a REST call, each with its own order. The
// time runs from publishing the first to acknowledging the last, publishing
// included (one STOMP connection, as Waldur publishes), in rounds that fit
// the queue's length limit.
func BenchmarkBrokerEvents(b *testing.B) {
	for _, tr := range brokerTransports() {
		b.Run(tr.name, func(b *testing.B) {
			e := newBrokerEnv(b)
			a := e.startConsuming(b, e.config(&countingProcessor{}, tr.events(b)))
			q := e.s.Queues()[0]
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
			defer cancel()
			bodies := make([][]byte, b.N)
			for i := range bodies {
				bodies[i] = fmt.Appendf(nil, `{"object_type":"order","schema_version":1,"offering_uuid":"%s","order_uuid":"%032x","order_state":"done"}`,
					waldur.Hex(e.offering), i+1)
			}
			base := a.EventSourceStatus().Acks
			b.ResetTimer()
			for sent := 0; sent < b.N; {
				round := min(b.N-sent, 8000)
				for _, body := range bodies[sent : sent+round] {
					if _, err := e.rmq.PublishRaw(ctx, q.Name, body); err != nil {
						b.Fatal(err)
					}
				}
				sent += round
				want := base + uint64(sent)
				if err := e.s.WaitFor(ctx, func() bool { return a.EventSourceStatus().Acks >= want }); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// BenchmarkBrokerLatency offers 100 orders per second through each
// transport and reports the 50th and 99th percentile of the time from
// Waldur publishing the order's event to the order being done (approve,
// the processor, done: three REST calls to the fake Waldur). It does the
// same work whatever b.N is; run it with -benchtime 1x.
func BenchmarkBrokerLatency(b *testing.B) {
	const rate, n = 100, 500
	for _, tr := range brokerTransports() {
		b.Run(tr.name, func(b *testing.B) {
			e := newBrokerEnv(b)
			e.startConsuming(b, e.config(&countingProcessor{}, tr.events(b)))
			var lat []time.Duration
			for i := range b.N {
				allDone := e.expectDone(n * (i + 1))
				ids := make([]waldur.UUID, 0, n)
				tick := time.NewTicker(time.Second / rate)
				for range n {
					<-tick.C
					ids = append(ids, e.s.AddOrder(waldurtest.OrderSpec{Offering: e.offering}))
				}
				tick.Stop()
				select {
				case <-allDone:
				case <-time.After(time.Minute):
					b.Fatal("orders not done in time")
				}
				lat = append(lat, e.latencies(ids)...)
			}
			b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(percentile(lat, 1).Microseconds())/1000, "max-ms")
		})
	}
}

// BenchmarkBrokerMemoryPerConnection reports the heap and the goroutines
// one consumed queue (one broker connection) costs: an agent serving 20
// offerings, each with its own queue, against the same agent polling.
func BenchmarkBrokerMemoryPerConnection(b *testing.B) {
	const offerings = 20
	for _, tr := range brokerTransports() {
		b.Run(tr.name, func(b *testing.B) {
			e := newBrokerEnv(b)
			ids := []string{e.offering.String()}
			for range offerings - 1 {
				ids = append(ids, e.s.AddOffering(waldurtest.OfferingSpec{}).String())
			}
			measure := func(ev siteagent.EventsConfig) (heap uint64, goroutines int) {
				cfg := e.config(&countingProcessor{}, ev)
				cfg.OfferingUUID, cfg.OfferingUUIDs = "", ids
				a, err := siteagent.New(cfg)
				require.NoError(b, err)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- a.Run(ctx) }()
				wctx, wcancel := context.WithTimeout(context.Background(), time.Minute)
				defer wcancel()
				require.NoError(b, e.s.WaitFor(wctx, func() bool {
					st := a.EventSourceStatus()
					return a.Ready() && st.Connected && (ev.Mode == siteagent.EventsPolling || st.Queues == offerings)
				}))
				heap, goroutines = heapInUse(), runtime.NumGoroutine()
				cancel()
				require.NoError(b, <-done)
				return heap, goroutines
			}
			var perConn, perConnG float64
			for range b.N {
				pollHeap, pollG := measure(siteagent.EventsConfig{Mode: siteagent.EventsPolling})
				brokerHeap, brokerG := measure(tr.events(b))
				perConn += (float64(brokerHeap) - float64(pollHeap)) / offerings
				perConnG += float64(brokerG-pollG) / offerings
			}
			b.ReportMetric(perConn/float64(b.N), "B/conn")
			b.ReportMetric(perConnG/float64(b.N), "goroutines/conn")
		})
	}
}

// heapInUse returns the live heap after a collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
