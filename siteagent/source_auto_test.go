package siteagent_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// logBuffer collects an agent's log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) count(s string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Count(b.buf.String(), s)
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func TestAutoModeWithoutBrokerSaysSoOnceAndPolls(t *testing.T) {
	f := newFixture(t)
	logs := &logBuffer{}
	cfg := f.config(&recorder{})
	cfg.Logger = logs.logger()
	// Auto mode tries the web-STOMP URL derived from the Waldur URL, which
	// the fake does not serve.
	cfg.Events = siteagent.EventsConfig{RetryInterval: time.Millisecond}
	a := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool {
		return logs.count("event broker still not reachable") >= 3
	}), "the broker is tried again")
	assert.Equal(t, 1, logs.count("no event broker reachable"), "said once")
	assert.Contains(t, func() string { logs.mu.Lock(); defer logs.mu.Unlock(); return logs.buf.String() }(),
		"ws://"+strings.TrimPrefix(f.s.URL(), "http://")+"/rmqws-stomp")

	st := a.EventSourceStatus()
	assert.Equal(t, "polling", st.Name)
	assert.True(t, st.Connected)
	require.NoError(t, f.s.WaitFor(ctx, a.Ready), "polling alone is ready")
	assert.Positive(t, f.s.CallCount("marketplace_site_agent_identities_register_queue"))

	id := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering})
	waitOrders(t, f.s, []waldur.UUID{id}, waldur.OrderStateDone)
}

func TestExplicitBrokerModeIsNotReadyWithoutBroker(t *testing.T) {
	f := newFixture(t)
	cfg := f.config(&recorder{})
	cfg.Events = siteagent.EventsConfig{Mode: siteagent.EventsSTOMP, STOMPURL: "ws://127.0.0.1:1/ws"}
	a := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return a.EventSourceStatus().ConnectFailures > 0 }))
	st := a.EventSourceStatus()
	assert.Equal(t, "stomp", st.Name)
	assert.False(t, st.Connected)
	assert.False(t, a.Ready())
	// Reconciliation still does the work.
	id := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering})
	waitOrders(t, f.s, []waldur.UUID{id}, waldur.OrderStateDone)
}

func TestEventsConfigValidation(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name  string
		ev    siteagent.EventsConfig
		field string
	}{
		{"AMQP without URL", siteagent.EventsConfig{Mode: siteagent.EventsAMQP}, "Events.AMQPURL"},
		{"AMQP URL of another scheme", siteagent.EventsConfig{AMQPURL: "http://rabbit:5672"}, "Events.AMQPURL"},
		{"STOMP URL of another scheme", siteagent.EventsConfig{STOMPURL: "https://waldur/rmqws-stomp"}, "Events.STOMPURL"},
		{"unknown mode", siteagent.EventsConfig{Mode: 42}, "Events.Mode"},
		{"negative retry", siteagent.EventsConfig{RetryInterval: -time.Second}, "Events.RetryInterval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := f.config(&recorder{})
			cfg.Events = tt.ev
			_, err := siteagent.New(cfg)
			require.ErrorIs(t, err, siteagent.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.field)
		})
	}
}

func TestBrokerNeedsTheToken(t *testing.T) {
	f := newFixture(t)
	logs := &logBuffer{}
	cfg := f.config(&recorder{})
	cfg.Client, cfg.Token, cfg.WaldurURL = f.s.Client(), "", ""
	cfg.Logger = logs.logger()
	cfg.Events = siteagent.EventsConfig{}
	a := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, a.Ready))
	assert.Equal(t, "polling", a.EventSourceStatus().Name)
	assert.Equal(t, 1, logs.count("Config.Token is not set"))
}

// TestOIDCTokenAgentPollsAndSaysWhy: REST takes an OIDC token, but Waldur
// sets the broker password to the user's DRF token for such a caller, which
// the agent does not have; it must say so and poll rather than be refused by
// the broker over and over.
func TestOIDCTokenAgentPollsAndSaysWhy(t *testing.T) {
	f := newFixture(t)
	logs := &logBuffer{}
	cfg := f.config(&recorder{})
	cfg.Token, cfg.TokenKind = f.s.OIDCToken(), waldur.TokenOIDC
	cfg.Logger = logs.logger()
	cfg.Events = siteagent.EventsConfig{}
	a := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, a.Ready), "Waldur accepts the OIDC token as a bearer")
	assert.Equal(t, "polling", a.EventSourceStatus().Name)
	assert.Equal(t, 1, logs.count("OIDC access token"))
	assert.Zero(t, f.s.CallCount("marketplace_site_agent_identities_register_queue"))
}

// TestCleartextBrokerURLToAnotherHostIsWarnedAbout: the broker password is
// the Waldur token, so an unencrypted URL to another machine sends it in
// clear; loopback and TLS URLs are fine.
func TestCleartextBrokerURLToAnotherHostIsWarnedAbout(t *testing.T) {
	tests := []struct {
		events siteagent.EventsConfig
		warn   bool
	}{
		{siteagent.EventsConfig{Mode: siteagent.EventsAMQP, AMQPURL: "amqp://rabbit.example.invalid:5672"}, true},
		{siteagent.EventsConfig{Mode: siteagent.EventsSTOMP, STOMPURL: "ws://waldur.example.invalid/rmqws-stomp"}, true},
		{siteagent.EventsConfig{Mode: siteagent.EventsSTOMP, STOMPURL: "stomp://10.0.0.7:61613"}, true},
		{siteagent.EventsConfig{Mode: siteagent.EventsAMQP, AMQPURL: "amqps://rabbit.example.invalid:5671"}, false},
		{siteagent.EventsConfig{Mode: siteagent.EventsSTOMP, STOMPURL: "wss://waldur.example.invalid/rmqws-stomp"}, false},
		{siteagent.EventsConfig{Mode: siteagent.EventsAMQP, AMQPURL: "amqp://127.0.0.1:5672"}, false},
		{siteagent.EventsConfig{Mode: siteagent.EventsSTOMP, STOMPURL: "ws://localhost:15674/ws"}, false},
		{siteagent.EventsConfig{Mode: siteagent.EventsAMQP, AMQPURL: "amqp://[::1]:5672"}, false},
	}
	for _, tt := range tests {
		name := tt.events.AMQPURL + tt.events.STOMPURL
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			logs := &logBuffer{}
			cfg := f.config(&recorder{})
			cfg.Logger = logs.logger()
			cfg.Events = tt.events
			cfg.Events.RetryInterval = time.Hour
			a := start(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			require.NoError(t, f.s.WaitFor(ctx, func() bool { return a.EventSourceStatus().Name != "" }))
			if tt.warn {
				assert.Equal(t, 1, logs.count("travels in clear"))
			} else {
				assert.Zero(t, logs.count("travels in clear"))
			}
		})
	}
}
