package rabbitadmin_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gsv-platform/waldur-agent-go/internal/rabbitadmin"
	"github.com/gsv-platform/waldur-agent-go/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// http.DefaultClient keeps idle keep-alive connections to the management API.
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
	)
}

func TestNewParsesCredentials(t *testing.T) {
	var gotUser, gotPass, gotPath string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUser, gotPass, _ = r.BasicAuth()
		gotPath = r.URL.EscapedPath()
		w.WriteHeader(http.StatusNotFound)
		_, _ = w.Write([]byte(`{"error":"Object Not Found","reason":"Not Found"}`))
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("admin", "s3cret")
	u.Path = "/rabbit"
	c, err := rabbitadmin.New(u.String())
	require.NoError(t, err)

	_, err = c.Queue(context.Background(), "/", "q 1")
	assert.Equal(t, "admin", gotUser)
	assert.Equal(t, "s3cret", gotPass)
	assert.Equal(t, "/rabbit/api/queues/%2F/q%201", gotPath, "segments are escaped, prefix kept")
	assert.ErrorIs(t, err, rabbitadmin.ErrNotFound)
	var apiErr *rabbitadmin.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.Status)
	assert.NotContains(t, err.Error(), "s3cret")

	assert.NoError(t, c.DeleteQueue(context.Background(), "/", "gone"), "deleting what is gone succeeds")
	assert.False(t, rabbitadmin.IsServerError(err))
	assert.True(t, rabbitadmin.IsServerError(fmt.Errorf("wrapped: %w", &rabbitadmin.APIError{Status: 500})))

	_, err = rabbitadmin.New("amqp://host:5672")
	assert.Error(t, err)
}

// admin returns a client for the test broker, or skips.
func admin(t *testing.T) *rabbitadmin.Client {
	t.Helper()
	c, err := rabbitadmin.New(testenv.RabbitMQAPI(t))
	require.NoError(t, err)
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// provision sets up a fresh consumer and removes it after the test.
func provision(t *testing.T, c *rabbitadmin.Client, password string) rabbitadmin.Registration {
	t.Helper()
	reg, err := c.Provision(ctxT(t), rabbitadmin.ProvisionRequest{Password: password})
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		assert.NoError(t, c.DeleteVHost(ctx, reg.VHost))
		assert.NoError(t, c.DeleteUser(ctx, reg.Username))
	})
	return reg
}

// amqpURL returns the test broker's AMQP URL with other credentials.
func amqpURL(t *testing.T, user, pass string) string {
	u, err := url.Parse(testenv.AMQPURL(t))
	require.NoError(t, err)
	u.User = url.UserPassword(user, pass)
	u.Path = "/"
	return u.String()
}

func TestProvisionLikeWaldur(t *testing.T) {
	c := admin(t)
	ctx := ctxT(t)
	reg := provision(t, c, "token-1")
	assert.Regexp(t, `^consumer_[0-9a-f]{32}$`, reg.Queue)
	assert.Regexp(t, `^[0-9a-f]{32}$`, reg.Username)
	assert.Regexp(t, `^[0-9a-f]{32}$`, reg.VHost)

	q, err := c.Queue(ctx, reg.VHost, reg.Queue)
	require.NoError(t, err)
	assert.True(t, q.Durable)
	assert.False(t, q.AutoDelete)
	want := map[string]any{
		"x-message-ttl":             float64(3600000),
		"x-max-length":              float64(10000),
		"x-overflow":                "reject-publish-dlx",
		"x-dead-letter-exchange":    "",
		"x-dead-letter-routing-key": "waldur.dlq.messages",
	}
	assert.Equal(t, want, q.Arguments)
	_, err = c.Queue(ctx, reg.VHost, rabbitadmin.DeadLetterQueue)
	assert.NoError(t, err, "dead-letter queue exists")

	// Redeclaring with other arguments is refused, as consumers must expect.
	err = c.DeclareQueue(ctx, reg.VHost, reg.Queue, rabbitadmin.QueueSpec{Durable: true})
	var apiErr *rabbitadmin.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusBadRequest, apiErr.Status)
	assert.Contains(t, apiErr.Body, "inequivalent arg") // PRECONDITION_FAILED over AMQP

	// The user may log in to the vhost with the password.
	conn, err := amqp.DialConfig(amqpURL(t, reg.Username, "token-1"), amqp.Config{Vhost: reg.VHost})
	require.NoError(t, err)
	require.NoError(t, conn.Close())

	// Provisioning again resets the password, like register_queue.
	again, err := c.Provision(ctx, rabbitadmin.ProvisionRequest{VHost: reg.VHost, Username: reg.Username, Queue: reg.Queue, Password: "token-2"})
	require.NoError(t, err)
	assert.Equal(t, reg, again)
	_, err = amqp.DialConfig(amqpURL(t, reg.Username, "token-1"), amqp.Config{Vhost: reg.VHost})
	var amqpErr *amqp.Error
	require.ErrorAs(t, err, &amqpErr)
	assert.Equal(t, amqp.AccessRefused, amqpErr.Code)

	require.NoError(t, c.Deprovision(ctx, reg))
	_, err = c.Queue(ctx, reg.VHost, reg.Queue)
	assert.ErrorIs(t, err, rabbitadmin.ErrNotFound)
	require.NoError(t, c.Deprovision(ctx, reg), "idempotent")
}

func TestPublishersLikeWaldur(t *testing.T) {
	c := admin(t)
	ctx := ctxT(t)
	reg := provision(t, c, "pw")
	guest, err := url.Parse(testenv.AMQPURL(t))
	require.NoError(t, err)
	pass, _ := guest.User.Password()

	stompPub, err := rabbitadmin.DialSTOMP(ctx, rabbitadmin.STOMPPublisherConfig{
		Addr: testenv.STOMPAddr(t), VHost: reg.VHost, Login: guest.User.Username(), Password: pass,
	})
	require.NoError(t, err)
	amqpPub, err := rabbitadmin.DialAMQP(ctx, testenv.AMQPURL(t), reg.VHost)
	require.NoError(t, err)

	ids := map[string]string{}
	for name, p := range map[string]rabbitadmin.Publisher{"stomp": stompPub, "amqp": amqpPub} {
		body := fmt.Sprintf(`{"object_type":"order","via":%q}`, name)
		id, err := p.Publish(ctx, reg.Queue, []byte(body))
		require.NoError(t, err)
		assert.Equal(t, rabbitadmin.MessageID(reg.VHost, reg.Queue, []byte(body)), id)
		ids[body] = id
		require.NoError(t, p.Close())
	}

	msgs, err := c.GetMessages(ctx, reg.VHost, reg.Queue, 10, false)
	require.NoError(t, err)
	require.Len(t, msgs, 2)
	for _, m := range msgs {
		assert.Equal(t, ids[m.Payload], m.MessageID(), m.Payload)
		assert.Equal(t, "application/json", m.Properties.ContentType)
		assert.Equal(t, 2, m.Properties.DeliveryMode, "persistent")
		assert.Equal(t, reg.Queue, m.RoutingKey, "default exchange, routing key = queue")
		assert.Equal(t, "", m.Exchange)
		var v map[string]any
		assert.NoError(t, json.Unmarshal([]byte(m.Payload), &v))
	}
}

func TestCloseConnection(t *testing.T) {
	c := admin(t)
	ctx := ctxT(t)
	reg := provision(t, c, "pw")
	conn, err := amqp.DialConfig(amqpURL(t, reg.Username, "pw"), amqp.Config{Vhost: reg.VHost})
	require.NoError(t, err)
	defer conn.Close()
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))

	var listed []rabbitadmin.Connection
	// The management database learns of connections asynchronously.
	require.Eventually(t, func() bool {
		listed, err = c.Connections(ctx, rabbitadmin.ConnectionFilter{VHost: reg.VHost, User: reg.Username})
		return err == nil && len(listed) == 1
	}, 30*time.Second, 50*time.Millisecond)
	assert.Equal(t, reg.VHost, listed[0].VHost)
	assert.Contains(t, listed[0].Protocol, "AMQP")

	none, err := c.Connections(ctx, rabbitadmin.ConnectionFilter{User: "nobody-" + reg.Username})
	require.NoError(t, err)
	assert.Empty(t, none)

	require.NoError(t, c.CloseConnection(ctx, listed[0].Name, "test"))
	select {
	case e := <-closed:
		require.NotNil(t, e)
		assert.Equal(t, amqp.ConnectionForced, e.Code)
	case <-ctx.Done():
		t.Fatal("connection not closed")
	}
	assert.NoError(t, c.CloseConnection(ctx, listed[0].Name, "again"), "closing a closed connection succeeds")
}

func TestCloseUserConnections(t *testing.T) {
	c := admin(t)
	ctx := ctxT(t)
	reg := provision(t, c, "pw")
	var closed []chan *amqp.Error
	for range 2 {
		conn, err := amqp.DialConfig(amqpURL(t, reg.Username, "pw"), amqp.Config{Vhost: reg.VHost})
		require.NoError(t, err)
		defer conn.Close()
		closed = append(closed, conn.NotifyClose(make(chan *amqp.Error, 1)))
	}
	// RabbitMQ registers a new connection for tracking asynchronously, so a
	// close right after connecting may miss it: repeat until both are gone.
	retry := time.NewTicker(100 * time.Millisecond)
	defer retry.Stop()
	for _, ch := range closed {
		for done := false; !done; {
			if err := c.CloseUserConnections(ctx, reg.Username, "test"); !rabbitadmin.IsServerError(err) {
				require.NoError(t, err)
			}
			select {
			case e := <-ch:
				require.NotNil(t, e)
				assert.Equal(t, amqp.ConnectionForced, e.Code)
				done = true
			case <-retry.C:
			case <-ctx.Done():
				t.Fatal("connection not closed")
			}
		}
	}
	// With none left the call succeeds; RabbitMQ may still answer 500 while
	// it forgets the connections just closed, so server errors are retried.
	for {
		err := c.CloseUserConnections(ctx, reg.Username, "none left")
		if !rabbitadmin.IsServerError(err) {
			require.NoError(t, err)
			break
		}
		select {
		case <-retry.C:
		case <-ctx.Done():
			t.Fatalf("closing no connections kept failing: %v", err)
		}
	}
}

func TestVHostLifecycle(t *testing.T) {
	c := admin(t)
	ctx := ctxT(t)
	vhost := "test-" + rabbitadmin.NewHexID()
	require.NoError(t, c.CreateVHost(ctx, vhost))
	require.NoError(t, c.CreateVHost(ctx, vhost), "idempotent")
	require.NoError(t, c.DeclareQueue(ctx, vhost, "plain", rabbitadmin.QueueSpec{}))
	require.NoError(t, c.PurgeQueue(ctx, vhost, "plain"))
	require.NoError(t, c.DeleteVHost(ctx, vhost))
	_, err := c.Queue(ctx, vhost, "plain")
	assert.True(t, errors.Is(err, rabbitadmin.ErrNotFound), "%v", err)
	require.NoError(t, c.DeleteVHost(ctx, vhost), "idempotent")
}
