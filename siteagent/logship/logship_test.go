package logship_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gsv-platform/waldur-agent-go/siteagent/logship"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// run starts s.Run until the test ends.
func run(t *testing.T, s *logship.Shipper) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func TestShipsWarningsToWaldur(t *testing.T) {
	fake := waldurtest.NewServer(t)
	offering := fake.AddOffering(waldurtest.OfferingSpec{})
	c := fake.Client()
	ship := logship.New(logship.Config{Send: c.Agents.SendLogs, Identity: logship.IdentityByName(c, offering, "")})
	run(t, ship)
	log := slog.New(ship).With("offering", "demo")

	log.Info("siteagent: heartbeat") // below the default level
	// Before the agent registers, records wait.
	log.Warn("siteagent: order failed", "order", "1f2e", "error", "quota exceeded")
	require.NoError(t, ship.Flush(t.Context()))
	assert.Empty(t, fake.Logs())

	id, err := c.Agents.CreateIdentity(t.Context(), waldur.AgentIdentityRequest{Name: "agent-" + waldur.Hex(offering), Offering: offering})
	require.NoError(t, err)
	log.WithGroup("backend").Error("disk full", "pool", "ssd")
	require.NoError(t, ship.Flush(t.Context()))

	logs := fake.Logs()
	require.Len(t, logs, 2)
	assert.Equal(t, `siteagent: order failed offering=demo order=1f2e error="quota exceeded"`, logs[0].Message)
	assert.Equal(t, "siteagent", logs[0].Module)
	assert.Equal(t, waldur.LogLevelWARNING, logs[0].Level)
	assert.Equal(t, id.UUID, logs[0].AgentIdentityUUID)
	assert.Equal(t, "disk full offering=demo backend.pool=ssd", logs[1].Message)
	assert.Equal(t, "waldur-agent", logs[1].Module)
	assert.Equal(t, waldur.LogLevelERROR, logs[1].Level)
	assert.EqualValues(t, 2, ship.Sent())
	assert.Zero(t, ship.Dropped())
}

// sink records batches; while blocked is open, Send waits on it.
type sink struct {
	mu      sync.Mutex
	batches [][]waldur.LogEntry
	err     error
}

func (s *sink) send(_ context.Context, e []waldur.LogEntry) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.batches = append(s.batches, append([]waldur.LogEntry(nil), e...))
	return nil
}

func identity(context.Context) (waldur.UUID, error) { return waldur.UUID{1}, nil }

func TestHandleNeverBlocksAndCountsDrops(t *testing.T) {
	var s sink
	// Run is not started: nothing drains the queue.
	ship := logship.New(logship.Config{Send: s.send, Identity: identity, QueueSize: 5, BatchSize: 2})
	log := slog.New(ship)
	for range 8 {
		log.Error("x")
	}
	assert.EqualValues(t, 3, ship.Dropped())

	run(t, ship)
	require.NoError(t, ship.Flush(t.Context()))
	assert.EqualValues(t, 5, ship.Sent())
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Len(t, s.batches, 3) // 2 + 2 + 1
	for _, b := range s.batches {
		assert.LessOrEqual(t, len(b), 2)
	}
}

func TestRefusedBatchIsDroppedAfterItsAttempts(t *testing.T) {
	s := sink{err: errors.New("503")}
	ship := logship.New(logship.Config{Send: s.send, Identity: identity, Attempts: 3})
	run(t, ship)
	slog.New(ship).Error("x")
	for range 2 {
		require.NoError(t, ship.Flush(t.Context()))
	}
	assert.Zero(t, ship.Dropped(), "kept until the last attempt")
	require.NoError(t, ship.Flush(t.Context()))
	assert.EqualValues(t, 1, ship.Dropped())
}

func TestOlderWaldurSwitchesShippingOff(t *testing.T) {
	fake := waldurtest.NewServer(t, waldurtest.WithoutOperations("marketplace_site_agent_logs_create"))
	c := fake.Client()
	ship := logship.New(logship.Config{Send: c.Agents.SendLogs, Identity: identity})
	run(t, ship)
	log := slog.New(ship)
	log.Error("x")
	require.NoError(t, ship.Flush(t.Context()))
	assert.EqualValues(t, 1, ship.Dropped())
	assert.False(t, ship.Enabled(t.Context(), slog.LevelError), "off after the 404")
}
