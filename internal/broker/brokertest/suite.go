package brokertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/internal/broker"
	"github.com/gsv-platform/waldur-agent-go/internal/rabbitadmin"
)

// testTimeout bounds each suite test; they normally take well under a second
// to a few seconds.
const testTimeout = 2 * time.Minute

// RunSuite runs the transport conformance suite against tr.
func RunSuite(t *testing.T, tr Transport) {
	tests := []struct {
		name string
		fn   func(t *testing.T, tr Transport)
	}{
		{"DeliversEveryMessageOnce", testDeliversEveryMessageOnce},
		{"AckAfterSuccessRequeueAndReject", testAckAfterSuccess},
		{"PrefetchBoundsConcurrency", testPrefetch},
		{"ForcedClosesLoseNothing", testForcedCloses},
		{"PasswordChangeRefreshesCredentials", testPasswordChange},
		{"DeletedQueueRefreshesCredentials", testDeletedQueue},
		{"ShutdownSettlesAndReturnsUnacked", testShutdown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, tr) })
	}
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// poll waits until cond holds, checking every few milliseconds; it serves
// conditions that only the broker or the consumer's counters can tell.
func poll(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// queueMessages takes (and removes) every ready message of a queue.
func queueMessages(ctx context.Context, t *testing.T, env *Env, queue string) []rabbitadmin.QueuedMessage {
	t.Helper()
	msgs, err := env.Admin.GetMessages(ctx, env.Registration().VHost, queue, 1000, false)
	require.NoError(t, err)
	return msgs
}

// lostSince reports whether the consumer lost the session it had when it had
// made connects connections.
func lostSince(c *Running, connects uint64) func() bool {
	return func() bool { return !c.Connected() || c.Stats().Connects > connects }
}

func testDeliversEveryMessageOnce(t *testing.T, tr Transport) {
	const n = 200
	ctx := testCtx(t)
	env := NewEnv(t, tr.URL(t))
	rec := NewRecorder()
	var mu sync.Mutex
	var wrong []string
	reg := env.Registration()
	c := Start(t, tr.Dialer, TestConfig(env.Credentials, rec.Wrap(func(_ context.Context, m broker.Message) error {
		want := rabbitadmin.MessageID(reg.VHost, reg.Queue, m.Body)
		if m.MessageID != want || m.ContentType != "application/json" || m.Redelivered || m.Attempt != 1 {
			mu.Lock()
			wrong = append(wrong, fmt.Sprintf("%+v", m))
			mu.Unlock()
		}
		return nil
	}), 8))

	ids := env.Publish(ctx, Payloads("once", n)...)
	require.NoError(t, rec.WaitSucceeded(ctx, ids...))
	require.NoError(t, c.Stop())

	for _, id := range ids {
		assert.Equal(t, 1, rec.Calls(id), "message %s", id)
	}
	assert.Empty(t, wrong, "messages not as Waldur publishes them")
	st := c.Stats()
	assert.Equal(t, uint64(n), st.Deliveries)
	assert.Equal(t, uint64(n), st.Acks)
	assert.Zero(t, st.Requeues+st.Rejects+st.SettleErrors)
	assert.Empty(t, queueMessages(ctx, t, env, reg.Queue), "every message acknowledged")
}

func testAckAfterSuccess(t *testing.T, tr Transport) {
	ctx := testCtx(t)
	env := NewEnv(t, tr.URL(t))
	rec := NewRecorder()
	payloads := [][]byte{[]byte(`{"kind":"ok"}`), []byte(`{"kind":"flaky"}`), []byte(`{"kind":"malformed"}`)}
	reg := env.Registration()
	okID, flakyID, badID := rabbitadmin.MessageID(reg.VHost, reg.Queue, payloads[0]),
		rabbitadmin.MessageID(reg.VHost, reg.Queue, payloads[1]), rabbitadmin.MessageID(reg.VHost, reg.Queue, payloads[2])
	var mu sync.Mutex
	var flakySeen []broker.Message
	c := Start(t, tr.Dialer, TestConfig(env.Credentials, rec.Wrap(func(_ context.Context, m broker.Message) error {
		switch m.MessageID {
		case flakyID:
			mu.Lock()
			flakySeen = append(flakySeen, m)
			mu.Unlock()
			if m.Attempt < 3 {
				return errors.New("backend temporarily unavailable")
			}
		case badID:
			return broker.Reject(errors.New("cannot parse"))
		}
		return nil
	}), 4))

	env.Publish(ctx, payloads...)
	require.NoError(t, rec.WaitSucceeded(ctx, okID, flakyID))
	require.NoError(t, rec.WaitFor(ctx, func(r *Recorder) bool { return r.calls[badID] == 1 }))
	// The rejected message must reach the dead-letter queue; it can only get
	// there once the broker has processed the rejection.
	var dead []rabbitadmin.QueuedMessage
	poll(ctx, t, "the rejected message in the dead-letter queue", func() bool {
		dead = append(dead, queueMessages(ctx, t, env, rabbitadmin.DeadLetterQueue)...)
		return len(dead) > 0
	})
	require.NoError(t, c.Stop())

	assert.Equal(t, 1, rec.Calls(okID))
	assert.Equal(t, 3, rec.Calls(flakyID), "two failures, then success")
	assert.Equal(t, 1, rec.Successes(flakyID))
	assert.Equal(t, 1, rec.Calls(badID), "a rejected message is not redelivered")
	mu.Lock()
	require.Len(t, flakySeen, 3)
	for i, m := range flakySeen {
		assert.Equal(t, i+1, m.Attempt)
		assert.Equal(t, i > 0, m.Redelivered, "attempt %d", i+1)
	}
	mu.Unlock()
	require.Len(t, dead, 1)
	assert.Equal(t, badID, dead[0].MessageID())
	assert.Equal(t, string(payloads[2]), dead[0].Payload)
	assert.Empty(t, queueMessages(ctx, t, env, reg.Queue))
	st := c.Stats()
	assert.Equal(t, uint64(2), st.Acks)
	assert.Equal(t, uint64(2), st.Requeues)
	assert.Equal(t, uint64(1), st.Rejects)
}

func testPrefetch(t *testing.T, tr Transport) {
	const prefetch, n = 3, 20
	ctx := testCtx(t)
	env := NewEnv(t, tr.URL(t))
	rec := NewRecorder()
	gate := make(chan struct{})
	c := Start(t, tr.Dialer, TestConfig(env.Credentials, rec.Wrap(func(ctx context.Context, _ broker.Message) error {
		select {
		case <-gate:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}), prefetch))
	ids := env.Publish(ctx, Payloads("prefetch", n)...)

	poll(ctx, t, "handlers to fill the prefetch", func() bool { return rec.Running() == prefetch })
	// With every handler blocked the broker may not send more than the
	// prefetch; its statistics (refreshed every few seconds) must settle on
	// exactly that many unacknowledged messages.
	reg := env.Registration()
	var q rabbitadmin.QueueInfo
	poll(ctx, t, "queue statistics to catch up", func() bool {
		var err error
		q, err = env.Admin.Queue(ctx, reg.VHost, reg.Queue)
		require.NoError(t, err)
		return q.MessagesUnacknowledged > 0 && q.MessagesReady+q.MessagesUnacknowledged == n
	})
	assert.Equal(t, prefetch, q.MessagesUnacknowledged, "unacknowledged messages while handlers are blocked")
	assert.LessOrEqual(t, c.Stats().Deliveries, uint64(prefetch), "deliveries while handlers are blocked")

	close(gate)
	require.NoError(t, rec.WaitSucceeded(ctx, ids...))
	assert.Equal(t, int64(prefetch), rec.Peak(), "handlers running at once")
}

func testForcedCloses(t *testing.T, tr Transport) {
	const closes = 5
	ctx := testCtx(t)
	env := NewEnv(t, tr.URL(t))
	rec := NewRecorder()
	c := Start(t, tr.Dialer, TestConfig(env.Credentials, rec.Wrap(nil), 4))

	// Publish continuously while the connection is closed under the consumer.
	pub := env.Publisher(ctx)
	queue := env.Registration().Queue
	var (
		mu        sync.Mutex
		published []string
	)
	stopPub := make(chan struct{})
	pubDone := make(chan error, 1)
	go func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stopPub:
				pubDone <- pub.Close()
				return
			case <-tick.C:
			}
			id, err := pub.Publish(ctx, queue, fmt.Appendf(nil, `{"object_type":"order","n":%d}`, i))
			if err != nil {
				pubDone <- err
				return
			}
			mu.Lock()
			published = append(published, id)
			mu.Unlock()
		}
	}()
	handledOne := func(after int) func() bool {
		return func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(published) > after && rec.Successes(published[after]) > 0
		}
	}

	var reconnects []time.Duration
	for i := range closes {
		poll(ctx, t, "the consumer to be connected", c.Connected)
		mu.Lock()
		mark := len(published)
		mu.Unlock()
		poll(ctx, t, "messages to flow", handledOne(mark))
		connects := c.Stats().Connects
		require.NoError(t, env.ForceClose(ctx, lostSince(c, connects)))
		poll(ctx, t, fmt.Sprintf("reconnect after forced close %d", i+1), func() bool {
			return c.Stats().Connects > connects
		})
		reconnects = append(reconnects, c.Stats().LastReconnect)
	}
	mu.Lock()
	mark := len(published)
	mu.Unlock()
	poll(ctx, t, "messages to flow after the last reconnect", handledOne(mark))
	close(stopPub)
	require.NoError(t, <-pubDone)

	mu.Lock()
	ids := slices.Clone(published)
	mu.Unlock()
	require.NoError(t, rec.WaitSucceeded(ctx, ids...), "every published message handled")
	require.NoError(t, c.Stop())
	st := c.Stats()
	assert.GreaterOrEqual(t, st.Reconnects, uint64(closes))
	t.Logf("%s: %d messages, %d forced closes, %d duplicates, reconnect times %v (backoff initial 20ms, jittered)",
		tr.Name, len(ids), closes, rec.Duplicates(), reconnects)
}

func testPasswordChange(t *testing.T, tr Transport) {
	ctx := testCtx(t)
	env := NewEnv(t, tr.URL(t))
	rec := NewRecorder()
	c := Start(t, tr.Dialer, TestConfig(env.Credentials, rec.Wrap(nil), 2))
	first := env.Publish(ctx, []byte(`{"n":"before"}`))
	require.NoError(t, rec.WaitSucceeded(ctx, first...))

	require.NoError(t, env.RotateToken(ctx))
	connects := c.Stats().Connects
	require.NoError(t, env.ForceClose(ctx, lostSince(c, connects)))
	poll(ctx, t, "reconnect with refreshed credentials", func() bool { return c.Stats().Connects > connects })

	second := env.Publish(ctx, []byte(`{"n":"after"}`))
	require.NoError(t, rec.WaitSucceeded(ctx, second...))
	st := c.Stats()
	assert.GreaterOrEqual(t, st.ConnectFailures, uint64(1), "the stale password was refused")
	assert.GreaterOrEqual(t, st.Refreshes, uint64(1))
	assert.GreaterOrEqual(t, env.Refreshes.Load(), int32(1))
}

func testDeletedQueue(t *testing.T, tr Transport) {
	ctx := testCtx(t)
	env := NewEnv(t, tr.URL(t))
	rec := NewRecorder()
	c := Start(t, tr.Dialer, TestConfig(env.Credentials, rec.Wrap(nil), 2))
	first := env.Publish(ctx, []byte(`{"n":"before"}`))
	require.NoError(t, rec.WaitSucceeded(ctx, first...))
	oldQueue := env.Registration().Queue

	require.NoError(t, env.DeleteQueue(ctx))
	// The refresh recreates the queue under a new name; Connected turns true
	// again only once the consumer subscribed after that.
	poll(ctx, t, "reconnect to the recreated queue", func() bool {
		return env.Registration().Queue != oldQueue && c.Connected()
	})

	second := env.Publish(ctx, []byte(`{"n":"after"}`))
	require.NoError(t, rec.WaitSucceeded(ctx, second...))
	assert.GreaterOrEqual(t, c.Stats().Refreshes, uint64(1))
}

func testShutdown(t *testing.T, tr Transport) {
	ctx := testCtx(t)
	env := NewEnv(t, tr.URL(t))
	rec := NewRecorder()
	payloads := [][]byte{[]byte(`{"kind":"finishes"}`), []byte(`{"kind":"stuck"}`)}
	reg := env.Registration()
	finishID, stuckID := rabbitadmin.MessageID(reg.VHost, reg.Queue, payloads[0]), rabbitadmin.MessageID(reg.VHost, reg.Queue, payloads[1])
	release := make(chan struct{})
	cfg := TestConfig(env.Credentials, rec.Wrap(func(ctx context.Context, m broker.Message) error {
		if m.MessageID == finishID {
			<-release
			return nil
		}
		<-ctx.Done() // cancelled at the shutdown timeout
		return ctx.Err()
	}), 2)
	cfg.ShutdownTimeout = 300 * time.Millisecond
	c := Start(t, tr.Dialer, cfg)
	env.Publish(ctx, payloads...)
	poll(ctx, t, "both handlers to run", func() bool { return rec.Running() == 2 })

	start := time.Now()
	stopped := make(chan error, 1)
	go func() { stopped <- c.Stop() }()
	close(release)
	select {
	case err := <-stopped:
		require.NoError(t, err)
	case <-ctx.Done():
		t.Fatal("Run did not return")
	}
	t.Logf("%s: Run returned %v after cancel (shutdown timeout 300ms)", tr.Name, time.Since(start).Round(time.Millisecond))

	assert.Equal(t, 1, rec.Successes(finishID), "the handler that finished in time was acknowledged")
	left := queueMessages(ctx, t, env, reg.Queue)
	require.Len(t, left, 1, "the cancelled message went back to the queue")
	assert.Equal(t, stuckID, left[0].MessageID())
	assert.True(t, left[0].Redelivered)
}
