package amqpsource_test

import (
	"context"
	"errors"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gsv-platform/waldur-agent-go/internal/broker"
	"github.com/gsv-platform/waldur-agent-go/internal/broker/amqpsource"
	"github.com/gsv-platform/waldur-agent-go/internal/broker/brokertest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The management API client keeps idle keep-alive connections.
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

var transport = brokertest.Transport{Name: "amqp", Dialer: amqpsource.Dialer{}, URL: brokertest.AMQPEndpointURL}

func TestSuite(t *testing.T) { brokertest.RunSuite(t, transport) }

func TestDialClassifiesRefusals(t *testing.T) {
	env := brokertest.NewEnv(t, brokertest.AMQPEndpointURL(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	good, err := env.Credentials(ctx, false)
	require.NoError(t, err)

	tests := []struct {
		name string
		edit func(*broker.Endpoint)
		want error
	}{
		{"wrong password", func(ep *broker.Endpoint) { ep.Password = "wrong" }, broker.ErrAuth},
		{"unknown vhost", func(ep *broker.Endpoint) { ep.VHost = "no-such-vhost" }, broker.ErrAuth},
		{"missing queue", func(ep *broker.Endpoint) { ep.Queue = "no-such-queue" }, broker.ErrQueueNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ep := good
			tt.edit(&ep)
			s, err := amqpsource.Dialer{}.Dial(ctx, ep, 1)
			if s != nil {
				_ = s.Close()
			}
			assert.ErrorIs(t, err, tt.want)
			assert.NotContains(t, err.Error(), good.Password)
		})
	}

	s, err := amqpsource.Dialer{}.Dial(ctx, good, 1)
	require.NoError(t, err)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice")
	_, err = s.Next(ctx)
	assert.Error(t, err, "Next after Close")
}

func TestDialHonoursContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := amqpsource.Dialer{}.Dial(ctx, broker.Endpoint{URL: "amqp://127.0.0.1:5672", Queue: "q"}, 1)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestDialRejectsOtherSchemes(t *testing.T) {
	_, err := amqpsource.Dialer{}.Dial(context.Background(), broker.Endpoint{URL: "ws://host/ws"}, 1)
	assert.ErrorContains(t, err, "scheme")
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want error
	}{
		{amqp.ErrCredentials, broker.ErrAuth},
		{&amqp.Error{Code: amqp.NotAllowed, Reason: "NOT_ALLOWED - vhost x not found", Server: true}, broker.ErrAuth},
		{&amqp.Error{Code: amqp.AccessRefused, Reason: "ACCESS_REFUSED - access to queue 'q' refused", Server: true}, broker.ErrAuth},
		{&amqp.Error{Code: amqp.NotFound, Reason: "NOT_FOUND - no queue 'q' in vhost 'v'", Server: true}, broker.ErrQueueNotFound},
		{&amqp.Error{Code: amqp.ConnectionForced, Reason: "CONNECTION_FORCED", Server: true}, nil},
		{errors.New("dial tcp: connection refused"), nil},
	}
	for _, tt := range tests {
		got := amqpsource.Classify(tt.err)
		assert.ErrorIs(t, got, tt.err, "keeps the cause")
		if tt.want == nil {
			assert.False(t, broker.NeedsRefresh(got), "%v", tt.err)
		} else {
			assert.ErrorIs(t, got, tt.want, "%v", tt.err)
		}
	}
}

func TestMessageConversion(t *testing.T) {
	m := amqpsource.Message(amqp.Delivery{
		Body:        []byte(`{"a":1}`),
		ContentType: "application/json",
		Redelivered: true,
		Headers:     amqp.Table{"x-message-id": "abc", "content-length": int64(7), "raw": []byte("bytes")},
	})
	assert.Equal(t, "abc", m.MessageID)
	assert.Equal(t, "application/json", m.ContentType)
	assert.True(t, m.Redelivered)
	assert.Equal(t, map[string]string{"x-message-id": "abc", "content-length": "7", "raw": "bytes"}, m.Headers)

	fallback := amqpsource.Message(amqp.Delivery{MessageId: "prop-id"})
	assert.Equal(t, "prop-id", fallback.MessageID, "the AMQP property serves when the header is absent")
	assert.Empty(t, amqpsource.Message(amqp.Delivery{}).MessageID)
}

func BenchmarkThroughput(b *testing.B)    { brokertest.BenchThroughput(b, transport, 32) }
func BenchmarkLatency100(b *testing.B)    { brokertest.BenchLatency(b, transport, 100, 500) }
func BenchmarkReconnect(b *testing.B)     { brokertest.BenchReconnect(b, transport) }
func BenchmarkSessionMemory(b *testing.B) { brokertest.BenchSessionMemory(b, transport, 20) }
