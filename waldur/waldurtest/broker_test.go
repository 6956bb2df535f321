package waldurtest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/internal/rabbitadmin"
	"github.com/gsv-platform/waldur-agent-go/internal/testenv"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// newRabbitMQ returns a RabbitMQ publishing over STOMP or AMQP, removed
// when the test ends.
func newRabbitMQ(t *testing.T, overAMQP bool) *waldurtest.RabbitMQ {
	t.Helper()
	cfg := waldurtest.RabbitMQConfig{ManagementURL: testenv.RabbitMQAPI(t)}
	if overAMQP {
		cfg.AMQPURL = testenv.AMQPURL(t)
	} else {
		cfg.STOMPAddr = testenv.STOMPAddr(t)
	}
	rmq, err := waldurtest.NewRabbitMQ(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, rmq.Close()) })
	return rmq
}

// newAdmin returns a management API client whose connections close when
// the test ends.
func newAdmin(t *testing.T) *rabbitadmin.Client {
	t.Helper()
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	t.Cleanup(hc.CloseIdleConnections)
	admin, err := rabbitadmin.New(testenv.RabbitMQAPI(t), rabbitadmin.WithHTTPClient(hc))
	require.NoError(t, err)
	return admin
}

// consume opens an AMQP consumer on queue as the queue's user.
func consume(t *testing.T, vhost, login, password, queue string) <-chan amqp.Delivery {
	t.Helper()
	u, err := url.Parse(testenv.AMQPURL(t))
	require.NoError(t, err)
	u.User, u.Path = nil, ""
	conn, err := amqp.DialConfig(u.String(), amqp.Config{
		SASL:  []amqp.Authentication{&amqp.PlainAuth{Username: login, Password: password}},
		Vhost: vhost,
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	require.NoError(t, err)
	d, err := ch.Consume(queue, "", false, false, false, false, nil)
	require.NoError(t, err)
	return d
}

func next(t *testing.T, d <-chan amqp.Delivery) amqp.Delivery {
	t.Helper()
	select {
	case m := <-d:
		require.NoError(t, m.Ack(false))
		return m
	case <-time.After(30 * time.Second):
		t.Fatal("no message arrived")
		return amqp.Delivery{}
	}
}

func TestRabbitMQUnifiedQueue(t *testing.T) {
	for _, overAMQP := range []bool{false, true} {
		name := map[bool]string{false: "stomp", true: "amqp"}[overAMQP]
		t.Run(name, func(t *testing.T) {
			rmq := newRabbitMQ(t, overAMQP)
			s := waldurtest.NewServer(t, waldurtest.WithQueueProvisioner(rmq), waldurtest.WithEventSink(rmq))
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			off := s.AddOffering(waldurtest.OfferingSpec{})
			c := s.Client()
			ident, err := c.Agents.CreateIdentity(ctx, waldur.AgentIdentityRequest{Offering: off, Name: "agent"})
			require.NoError(t, err)
			aq, created, err := c.Agents.RegisterQueue(ctx, ident.UUID, []waldur.ObservableObjectType{"order"})
			require.NoError(t, err)
			require.True(t, created)

			admin := newAdmin(t)
			info, err := admin.Queue(ctx, aq.Vhost, aq.QueueName)
			require.NoError(t, err)
			assert.True(t, info.Durable)
			assert.False(t, info.AutoDelete)
			assert.EqualValues(t, 3600000, info.Arguments["x-message-ttl"])
			assert.EqualValues(t, 10000, info.Arguments["x-max-length"])
			assert.Equal(t, "reject-publish-dlx", info.Arguments["x-overflow"])
			assert.Equal(t, "", info.Arguments["x-dead-letter-exchange"])
			assert.Equal(t, "waldur.dlq.messages", info.Arguments["x-dead-letter-routing-key"])
			assert.Equal(t, waldur.Hex(s.ProviderUser()), aq.Vhost)

			// The queue's user logs in with the API token as password.
			d := consume(t, aq.Vhost, aq.RmqUsername, s.Token(), aq.QueueName)
			order := s.AddOrder(waldurtest.OrderSpec{Offering: off})
			s.Emit("resource", off, map[string]any{"resource_uuid": waldur.Hex(order)}) // filtered out
			m := next(t, d)

			assert.Equal(t, "application/json", m.ContentType)
			assert.Equal(t, uint8(amqp.Persistent), m.DeliveryMode)
			assert.Equal(t, rabbitadmin.MessageID(aq.Vhost, aq.QueueName, m.Body), m.Headers["x-message-id"])
			var body map[string]any
			require.NoError(t, json.Unmarshal(m.Body, &body))
			assert.Equal(t, "order", body["object_type"])
			assert.Equal(t, waldur.Hex(order), body["order_uuid"])
			assert.Equal(t, "pending-provider", body["order_state"])
			assert.Equal(t, waldur.Hex(off), body["offering_uuid"])

			// A raw body goes to the same queue with Waldur's id.
			id, err := rmq.PublishRaw(ctx, aq.QueueName, []byte("{not json"))
			require.NoError(t, err)
			m = next(t, d)
			assert.Equal(t, "{not json", string(m.Body))
			assert.Equal(t, id, m.Headers["x-message-id"])
		})
	}
}

func TestRabbitMQLegacyQueue(t *testing.T) {
	rmq := newRabbitMQ(t, false)
	s := waldurtest.NewServer(t, waldurtest.WithLegacyWaldur(),
		waldurtest.WithQueueProvisioner(rmq), waldurtest.WithEventSink(rmq))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	off := s.AddOffering(waldurtest.OfferingSpec{})
	c := s.Client()
	ident, err := c.Agents.CreateIdentity(ctx, waldur.AgentIdentityRequest{Offering: off, Name: "agent"})
	require.NoError(t, err)
	_, _, err = c.Agents.RegisterQueue(ctx, ident.UUID, nil)
	require.True(t, waldur.IsNotFound(err), "an older Waldur has no register_queue: %v", err)
	sub, err := c.Agents.RegisterEventSubscription(ctx, ident.UUID, "order", "test")
	require.NoError(t, err)
	q, err := c.Agents.CreateQueue(ctx, sub.UUID, off, "order")
	require.NoError(t, err)
	assert.Equal(t, "subscription_"+waldur.Hex(sub.UUID)+"_offering_"+waldur.Hex(off)+"_order", q.QueueName)

	d := consume(t, q.Vhost, waldur.Hex(sub.UUID), s.Token(), q.QueueName)
	order := s.AddOrder(waldurtest.OrderSpec{Offering: off})
	m := next(t, d)
	topic := "subscription/" + waldur.Hex(sub.UUID) + "/offering/" + waldur.Hex(off) + "/order"
	assert.Equal(t, rabbitadmin.MessageID(q.Vhost, topic, m.Body), m.Headers["x-message-id"])
	var body map[string]any
	require.NoError(t, json.Unmarshal(m.Body, &body))
	assert.Equal(t, map[string]any{"order_uuid": waldur.Hex(order), "order_state": "pending-provider"}, body,
		"the legacy payload has no envelope and no enrichment")
}

func TestRabbitMQRemovesQueueWithIdentity(t *testing.T) {
	rmq := newRabbitMQ(t, false)
	s := waldurtest.NewServer(t, waldurtest.WithQueueProvisioner(rmq), waldurtest.WithEventSink(rmq))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	off := s.AddOffering(waldurtest.OfferingSpec{})
	c := s.Client()
	ident, err := c.Agents.CreateIdentity(ctx, waldur.AgentIdentityRequest{Offering: off, Name: "agent"})
	require.NoError(t, err)
	aq, _, err := c.Agents.RegisterQueue(ctx, ident.UUID, nil)
	require.NoError(t, err)
	r := call(t, s, "DELETE", "/api/marketplace-site-agent-identities/"+waldur.Hex(ident.UUID)+"/", nil)
	require.Equal(t, 204, r.status)

	_, err = newAdmin(t).Queue(ctx, aq.Vhost, aq.QueueName)
	assert.ErrorIs(t, err, rabbitadmin.ErrNotFound)
	// Events for the offering now go nowhere, without error.
	s.AddOrder(waldurtest.OrderSpec{Offering: off})
}

func TestNewRabbitMQNeedsAPublishingEndpoint(t *testing.T) {
	_, err := waldurtest.NewRabbitMQ(waldurtest.RabbitMQConfig{ManagementURL: "http://guest:guest@127.0.0.1:15672"})
	assert.Error(t, err)
	_, err = waldurtest.NewRabbitMQ(waldurtest.RabbitMQConfig{ManagementURL: "ftp://x", STOMPAddr: "127.0.0.1:61613"})
	assert.Error(t, err)
}
