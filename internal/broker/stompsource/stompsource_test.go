package stompsource_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gsv-platform/waldur-agent-go/internal/broker"
	"github.com/gsv-platform/waldur-agent-go/internal/broker/brokertest"
	"github.com/gsv-platform/waldur-agent-go/internal/broker/stompsource"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// The management API client keeps idle keep-alive connections.
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

var (
	webSTOMP = brokertest.Transport{Name: "stomp-ws", Dialer: stompsource.Dialer{}, URL: brokertest.WebSTOMPEndpointURL}
	tcpSTOMP = brokertest.Transport{Name: "stomp-tcp", Dialer: stompsource.Dialer{}, URL: brokertest.STOMPEndpointURL}
)

func TestSuiteWebSocket(t *testing.T) { brokertest.RunSuite(t, webSTOMP) }
func TestSuiteTCP(t *testing.T)       { brokertest.RunSuite(t, tcpSTOMP) }

func TestDialClassifiesRefusals(t *testing.T) {
	for _, tr := range []brokertest.Transport{webSTOMP, tcpSTOMP} {
		t.Run(tr.Name, func(t *testing.T) {
			env := brokertest.NewEnv(t, tr.URL(t))
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
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					ep := good
					tt.edit(&ep)
					s, err := tr.Dialer.Dial(ctx, ep, 1)
					if s != nil {
						_ = s.Close()
					}
					assert.ErrorIs(t, err, tt.want)
					assert.NotContains(t, err.Error(), good.Password)
				})
			}

			// Dial confirms the subscription, so a missing queue fails it.
			ep := good
			ep.Queue = "no-such-queue"
			_, err = tr.Dialer.Dial(ctx, ep, 1)
			assert.ErrorIs(t, err, broker.ErrQueueNotFound)

			s, err := tr.Dialer.Dial(ctx, good, 1)
			require.NoError(t, err)
			require.NoError(t, s.Close())
			require.NoError(t, s.Close(), "Close twice")
			_, err = s.Next(ctx)
			assert.Error(t, err, "Next after Close")
		})
	}
}

func TestDialHonoursContext(t *testing.T) {
	url := brokertest.WebSTOMPEndpointURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := stompsource.Dialer{}.Dial(ctx, broker.Endpoint{URL: url, Queue: "q"}, 1)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestDialRejectsOtherSchemes(t *testing.T) {
	_, err := stompsource.Dialer{}.Dial(context.Background(), broker.Endpoint{URL: "amqp://host:5672"}, 1)
	assert.ErrorContains(t, err, "unsupported scheme")
}

func TestDialWebSocketWrongPath(t *testing.T) {
	url := brokertest.WebSTOMPEndpointURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := stompsource.Dialer{}.Dial(ctx, broker.Endpoint{URL: url + "-nothing-here", Queue: "q"}, 1)
	require.Error(t, err)
	assert.False(t, broker.NeedsRefresh(err), "an HTTP failure is no reason to refresh credentials: %v", err)
}

func BenchmarkThroughputWebSocket(b *testing.B)    { brokertest.BenchThroughput(b, webSTOMP, 32) }
func BenchmarkThroughputTCP(b *testing.B)          { brokertest.BenchThroughput(b, tcpSTOMP, 32) }
func BenchmarkLatency100WebSocket(b *testing.B)    { brokertest.BenchLatency(b, webSTOMP, 100, 500) }
func BenchmarkLatency100TCP(b *testing.B)          { brokertest.BenchLatency(b, tcpSTOMP, 100, 500) }
func BenchmarkReconnectWebSocket(b *testing.B)     { brokertest.BenchReconnect(b, webSTOMP) }
func BenchmarkReconnectTCP(b *testing.B)           { brokertest.BenchReconnect(b, tcpSTOMP) }
func BenchmarkSessionMemoryWebSocket(b *testing.B) { brokertest.BenchSessionMemory(b, webSTOMP, 20) }
func BenchmarkSessionMemoryTCP(b *testing.B)       { brokertest.BenchSessionMemory(b, tcpSTOMP, 20) }
