package main_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/internal/testenv"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// TestDiagnoseRealBroker logs in to a real RabbitMQ over web-STOMP and AMQP
// with the login register_queue provisioned and the agent's token.
func TestDiagnoseRealBroker(t *testing.T) {
	ws, err := url.Parse(testenv.WebSTOMPURL(t))
	require.NoError(t, err)
	amqpURL, err := url.Parse(testenv.AMQPURL(t))
	require.NoError(t, err)
	amqpURL.User, amqpURL.Path = nil, "/"
	rmq, err := waldurtest.NewRabbitMQ(waldurtest.RabbitMQConfig{ManagementURL: testenv.RabbitMQAPI(t), STOMPAddr: testenv.STOMPAddr(t)})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, rmq.Close()) })

	fake := waldurtest.NewServer(t, waldurtest.WithQueueProvisioner(rmq), waldurtest.WithEventSink(rmq))
	s := &site{fake: fake, offering: fake.AddOffering(waldurtest.OfferingSpec{Name: "Demo storage"}), volumes: t.TempDir(), dir: t.TempDir()}
	s.register(t)
	cfg := s.config(t, fake.Token(), s.offering, "stomp_enabled: true", "stomp_ws_host: "+ws.Hostname(),
		"stomp_ws_port: "+ws.Port(), "stomp_ws_path: "+ws.Path, "websocket_use_tls: false")

	r := agentWithEnv(t, []string{"WALDUR_EVENTS_MODE=auto", "WALDUR_EVENTS_AMQP_URL=" + amqpURL.String()}, "diagnose", "-config", cfg)
	assert.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Regexp(t, fmt.Sprintf(`✓ broker \(amqp\): %s: logged in as [0-9a-f]{32} to vhost [0-9a-f]{32}`, amqpURL), r.stdout)
	assert.Regexp(t, fmt.Sprintf(`✓ broker \(stomp\): ws://%s%s: logged in as [0-9a-f]{32}`, ws.Host, ws.Path), r.stdout)
}
