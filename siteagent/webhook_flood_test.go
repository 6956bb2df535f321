package siteagent_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func TestWebhookRequiresASecretByDefault(t *testing.T) {
	f := newFixture(t)
	a := webhookAgent(t, f, &recorder{})
	body := `{"event_type": "marketplace_order_created"}`
	h := a.WebhookHandler(siteagent.WebhookConfig{})
	assert.Equal(t, http.StatusUnauthorized, post(t, h, "/hook", "application/json", body))
	assert.Equal(t, http.StatusUnauthorized, post(t, h, "/hook?secret=", "application/json", body))
	assert.Equal(t, http.StatusAccepted,
		post(t, a.WebhookHandler(siteagent.WebhookConfig{Insecure: true}), "/hook", "application/json", body))
}

func randomHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// blockingProcessor holds every order until release is closed or its
// context ends.
type blockingProcessor struct {
	started atomic.Int64
	release chan struct{}
}

func (p *blockingProcessor) ProcessOrder(ctx context.Context, _ *siteagent.Order) (siteagent.Result, error) {
	p.started.Add(1)
	select {
	case <-p.release:
		return siteagent.Result{}, nil
	case <-ctx.Done():
		return siteagent.Result{}, ctx.Err()
	}
}

// flood posts n webhook requests with send from workers goroutines: every
// other one forged (wrong secret), the others genuine, for orders Waldur
// does not have, each a different one. It returns the answers by status.
func flood(n, workers int, offering waldur.UUID, send func(secret, body string) int) map[int]int {
	var (
		mu    sync.Mutex
		codes = map[int]int{}
		next  atomic.Int64
		wg    sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			local := map[int]int{}
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				secret := "s3cret"
				if i%2 == 0 {
					secret = "forged"
				}
				local[send(secret, `{"event_type": "marketplace_order_created", "context": {"order_uuid": "`+
					randomHex()+`", "offering_uuid": "`+waldur.Hex(offering)+`"}}`)]++
			}
			mu.Lock()
			for k, v := range local {
				codes[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return codes
}

// floodTarget is a running agent whose every worker slot is held by orders
// that never finish on their own, the worst case for a flood.
type floodTarget struct {
	a      *siteagent.Agent
	hook   http.Handler
	cancel context.CancelFunc
	done   chan error
}

func newFloodTarget(tb testing.TB, f *fixture) *floodTarget {
	tb.Helper()
	p := &blockingProcessor{release: make(chan struct{})}
	cfg := f.config(p)
	cfg.ReconcileInterval = time.Hour
	cfg.SyncInterval = time.Hour
	cfg.Concurrency = 4
	cfg.HeartbeatInterval = 5 * time.Millisecond
	cfg.ShutdownTimeout = 50 * time.Millisecond
	a, err := siteagent.New(cfg)
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	ft := &floodTarget{a: a, hook: a.WebhookHandler(siteagent.WebhookConfig{Secret: "s3cret"}), cancel: cancel, done: make(chan error, 1)}
	tb.Cleanup(cancel)
	go func() { ft.done <- a.Run(ctx) }()
	wait, waitCancel := context.WithTimeout(context.Background(), time.Minute)
	defer waitCancel()
	require.NoError(tb, f.s.WaitFor(wait, func() bool { return !a.Stats().LastReconcile.IsZero() }))
	// Fill the pool: running orders, admitted orders, and some waiting.
	for range 50 {
		id := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering})
		require.Equal(tb, http.StatusAccepted, postTo(tb, ft.hook, "/hook?secret=s3cret", "application/json",
			`{"event_type": "marketplace_order_created", "context": {"order_uuid": "`+waldur.Hex(id)+`"}}`))
	}
	require.NoError(tb, f.s.WaitFor(wait, func() bool { return p.started.Load() == int64(cfg.Concurrency) }))
	return ft
}

// probe calls check until stop is closed and counts the calls and the
// true answers.
func probe(stop <-chan struct{}, check func() bool) (wait func() (probes, ok int64)) {
	var n, good atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			n.Add(1)
			if check() {
				good.Add(1)
			}
			runtime.Gosched()
		}
	})
	return func() (int64, int64) { wg.Wait(); return n.Load(), good.Load() }
}

// TestWebhookFloodKeepsTheAgentResponsive posts 100 000 webhooks, half of
// them forged, while every worker slot is held by orders that never finish:
// the scheduled work stays bounded, /healthz stays live, heartbeats go on,
// and Run still returns within the shutdown timeout once its context ends.
func TestWebhookFloodKeepsTheAgentResponsive(t *testing.T) {
	const posts = 100_000
	f := newFixture(t)
	ft := newFloodTarget(t, f)
	health := ft.a.HealthHandler()
	stopProbes := make(chan struct{})
	probes := probe(stopProbes, func() bool {
		w := httptest.NewRecorder()
		health.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/healthz", nil))
		return w.Code == http.StatusOK
	})
	heartbeats := f.s.CallCount("marketplace_site_agent_services_set_statistics")

	// Posts about one object coalesce into one piece of scheduled work.
	scheduled := ft.a.Stats().WorkScheduled
	same := `{"event_type": "marketplace_order_created", "context": {"order_uuid": "` + randomHex() + `"}}`
	for range 1000 {
		require.Equal(t, http.StatusAccepted, postTo(t, ft.hook, "/hook?secret=s3cret", "application/json", same))
	}
	// (The feeder may still be moving held orders into the pool: at most.)
	assert.LessOrEqual(t, ft.a.Stats().WorkScheduled, scheduled+1, "1000 posts for one order, one scheduled")

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	codes := flood(posts, 8, f.offering, func(secret, body string) int {
		return postTo(t, ft.hook, "/hook?secret="+secret, "application/json", body)
	})
	runtime.GC()
	runtime.ReadMemStats(&after)

	wait, waitCancel := context.WithTimeout(context.Background(), time.Minute)
	defer waitCancel()
	require.NoError(t, f.s.WaitFor(wait, func() bool {
		return f.s.CallCount("marketplace_site_agent_services_set_statistics") >= heartbeats+3
	}), "heartbeats continue while all workers are busy")
	close(stopProbes)
	n, live := probes()

	assert.Equal(t, posts/2, codes[http.StatusUnauthorized], "forged posts refused")
	assert.Equal(t, posts/2, codes[http.StatusAccepted], "genuine posts accepted")
	st := ft.a.Stats()
	assert.LessOrEqual(t, st.WorkScheduled, int64(10_000), "scheduled work is bounded")
	assert.GreaterOrEqual(t, st.WorkDropped, int64(posts/2+1-10_000), "the rest is left to the order pass")
	assert.Positive(t, n)
	assert.Equal(t, n, live, "/healthz answered live throughout")
	t.Logf("posts %d: %v; scheduled %d, dropped %d; heap %d → %d KiB; /healthz %d/%d live",
		posts, codes, st.WorkScheduled, st.WorkDropped, before.HeapInuse>>10, after.HeapInuse>>10, live, n)

	// The held orders never finish on their own: Run must still return,
	// cancelling them after the shutdown timeout.
	ft.cancel()
	select {
	case err := <-ft.done:
		require.NoError(t, err)
	case <-wait.Done():
		t.Fatal("Run did not return after its context ended")
	}
	assert.Zero(t, ft.a.Stats().InFlight)
}

// BenchmarkWebhookFlood posts 100 000 webhooks per op (half forged) from 16
// clients to an agent whose workers are all held, and probes /healthz
// meanwhile: over loopback HTTP, and straight into the handler (the agent's
// own cost). Run it with -benchtime=1x.
func BenchmarkWebhookFlood(b *testing.B) {
	const posts, clients = 100_000, 16
	for _, overHTTP := range []bool{true, false} {
		name := map[bool]string{true: "http", false: "handler"}[overHTTP]
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				f := newFixture(b)
				ft := newFloodTarget(b, f)
				send := floodSender(b, ft, overHTTP, clients)
				var peak atomic.Uint64
				var calls int
				stop := make(chan struct{})
				probes := probe(stop, func() bool {
					if calls++; calls%64 == 1 { // ReadMemStats stops the world
						var m runtime.MemStats
						runtime.ReadMemStats(&m)
						peak.Store(max(peak.Load(), m.HeapInuse))
					}
					return send("/healthz", "") == http.StatusOK
				})
				start := time.Now()
				codes := flood(posts, clients, f.offering, func(secret, body string) int {
					return send("/hook?secret="+secret, body)
				})
				elapsed := time.Since(start)
				close(stop)
				n, live := probes()
				b.ReportMetric(float64(posts)/elapsed.Seconds(), "posts/s")
				b.ReportMetric(float64(codes[http.StatusAccepted])/elapsed.Seconds(), "accepted/s")
				b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
				b.ReportMetric(float64(live), "healthz-live")
				b.ReportMetric(float64(n-live), "healthz-failed")
				b.ReportMetric(float64(ft.a.Stats().WorkScheduled), "scheduled")
				ft.cancel()
				<-ft.done
			}
		})
	}
}

// floodSender returns a function that sends a request to the flood target's
// webhook (with a body) or health handler (without) and returns the status.
func floodSender(b *testing.B, ft *floodTarget, overHTTP bool, clients int) func(path, body string) int {
	mux := http.NewServeMux()
	mux.Handle("/hook", ft.hook)
	mux.Handle("/", ft.a.HealthHandler())
	if !overHTTP {
		return func(path, body string) int {
			w := httptest.NewRecorder()
			r := httptest.NewRequest(http.MethodGet, path, nil)
			if body != "" {
				r = httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
				r.Header.Set("Content-Type", "application/json")
			}
			mux.ServeHTTP(w, r)
			return w.Code
		}
	}
	hs := httptest.NewServer(mux)
	b.Cleanup(hs.Close)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients + 1}}
	b.Cleanup(hc.CloseIdleConnections)
	return func(path, body string) int {
		var r *http.Response
		var err error
		if body == "" {
			r, err = hc.Get(hs.URL + path)
		} else {
			r, err = hc.Post(hs.URL+path, "application/json", strings.NewReader(body))
		}
		if err != nil {
			return 0
		}
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
		return r.StatusCode
	}
}
