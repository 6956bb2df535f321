package brokertest

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/internal/broker"
	"github.com/gsv-platform/waldur-agent-go/internal/rabbitadmin"
	"github.com/gsv-platform/waldur-agent-go/internal/testenv"
)

// Transport is a transport under test.
type Transport struct {
	Name   string
	Dialer broker.Dialer
	// URL returns the endpoint URL of the test broker for this transport,
	// or skips tb.
	URL func(tb testing.TB) string
}

// AMQPEndpointURL is the test broker's AMQP URL without credentials or vhost.
func AMQPEndpointURL(tb testing.TB) string {
	u, err := url.Parse(testenv.AMQPURL(tb))
	require.NoError(tb, err)
	u.User = nil
	u.Path = ""
	return u.String()
}

// WebSTOMPEndpointURL is the test broker's web-STOMP URL (ws://host:15674/ws).
func WebSTOMPEndpointURL(tb testing.TB) string { return testenv.WebSTOMPURL(tb) }

// STOMPEndpointURL is the test broker's STOMP-over-TCP URL (stomp://host:61613).
func STOMPEndpointURL(tb testing.TB) string { return "stomp://" + testenv.STOMPAddr(tb) }

// Env is one consumer's share of the test broker: a vhost, a user and a
// queue, plus a fake of the Waldur side of credentials. Its Credentials
// answers the cached endpoint, and on refresh does what register_queue does:
// it sets the RabbitMQ password to the current token and recreates a missing
// queue under a new name.
type Env struct {
	tb    testing.TB
	Admin *rabbitadmin.Client
	URL   string
	// Refreshes counts Credentials calls with refresh=true.
	Refreshes atomic.Int32

	adminLogin, adminPassword string
	stompAddr                 string

	mu     sync.Mutex
	reg    rabbitadmin.Registration
	token  string
	cached broker.Endpoint
}

// NewEnv provisions a fresh vhost, user and queue for a consumer connecting
// to url, and removes them when tb ends.
func NewEnv(tb testing.TB, url string) *Env {
	tb.Helper()
	admin, err := rabbitadmin.New(testenv.RabbitMQAPI(tb))
	require.NoError(tb, err)
	e := &Env{tb: tb, Admin: admin, URL: url, token: "token-" + rabbitadmin.NewHexID()}
	e.adminLogin, e.adminPassword = adminCredentials(tb)
	e.stompAddr = testenv.STOMPAddr(tb)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e.reg, err = admin.Provision(ctx, rabbitadmin.ProvisionRequest{Password: e.token})
	require.NoError(tb, err)
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := errors.Join(admin.DeleteVHost(ctx, e.reg.VHost), admin.DeleteUser(ctx, e.reg.Username)); err != nil {
			tb.Errorf("brokertest: cleanup: %v", err)
		}
	})
	e.cached = e.endpointLocked()
	return e
}

// adminCredentials takes the broker admin login from the AMQP test URL:
// Waldur publishes with the broker's admin account.
func adminCredentials(tb testing.TB) (string, string) {
	u, err := url.Parse(testenv.AMQPURL(tb))
	require.NoError(tb, err)
	if u.User == nil {
		return "guest", "guest"
	}
	p, _ := u.User.Password()
	return u.User.Username(), p
}

func (e *Env) endpointLocked() broker.Endpoint {
	return broker.Endpoint{URL: e.URL, VHost: e.reg.VHost, Login: e.reg.Username, Password: e.token, Queue: e.reg.Queue}
}

// Registration returns the current vhost, user and queue.
func (e *Env) Registration() rabbitadmin.Registration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.reg
}

// Credentials is a broker.Credentials backed by the fake register_queue.
func (e *Env) Credentials(ctx context.Context, refresh bool) (broker.Endpoint, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !refresh {
		return e.cached, nil
	}
	e.Refreshes.Add(1)
	req := rabbitadmin.ProvisionRequest{VHost: e.reg.VHost, Username: e.reg.Username, Password: e.token, Queue: e.reg.Queue}
	if _, err := e.Admin.Queue(ctx, e.reg.VHost, e.reg.Queue); errors.Is(err, rabbitadmin.ErrNotFound) {
		req.Queue = "" // Waldur may recreate the queue under a new name
	} else if err != nil {
		return broker.Endpoint{}, err
	}
	reg, err := e.Admin.Provision(ctx, req)
	if err != nil {
		return broker.Endpoint{}, err
	}
	e.reg = reg
	e.cached = e.endpointLocked()
	return e.cached, nil
}

// RotateToken simulates a register_queue call made with a new API token
// elsewhere: the RabbitMQ password changes while the consumer still holds
// the old one, until it refreshes.
func (e *Env) RotateToken(ctx context.Context) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.token = "token-" + rabbitadmin.NewHexID()
	return e.Admin.PutUser(ctx, e.reg.Username, e.token)
}

// DeleteQueue deletes the consumer's queue, as Waldur's cleanup tasks may.
func (e *Env) DeleteQueue(ctx context.Context) error {
	reg := e.Registration()
	return e.Admin.DeleteQueue(ctx, reg.VHost, reg.Queue)
}

// ForceClose closes every connection of the consumer's user through the
// management API, repeating until lost reports the consumer noticed: RabbitMQ
// registers connections for tracking asynchronously, so a close right after
// a connection opened can miss it.
func (e *Env) ForceClose(ctx context.Context, lost func() bool) error {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		if i%20 == 0 { // close (again) every 100 ms
			err := e.Admin.CloseUserConnections(ctx, e.Registration().Username, "brokertest: forced close")
			if err != nil && !rabbitadmin.IsServerError(err) { // a 500 is retried
				return err
			}
		}
		if lost() {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Publisher returns a STOMP publisher that publishes to the env's vhost as
// Waldur does (admin account, /amq/queue/<queue>); it is closed when tb ends.
func (e *Env) Publisher(ctx context.Context) *rabbitadmin.STOMPPublisher {
	e.tb.Helper()
	p, err := rabbitadmin.DialSTOMP(ctx, rabbitadmin.STOMPPublisherConfig{
		Addr: e.stompAddr, VHost: e.Registration().VHost, Login: e.adminLogin, Password: e.adminPassword,
	})
	require.NoError(e.tb, err)
	e.tb.Cleanup(func() { _ = p.Close() })
	return p
}

// Publish publishes the payloads to the current queue and returns their
// message ids once the broker has them all.
func (e *Env) Publish(ctx context.Context, payloads ...[]byte) []string {
	e.tb.Helper()
	p := e.Publisher(ctx)
	queue := e.Registration().Queue
	ids := make([]string, len(payloads))
	for i, body := range payloads {
		id, err := p.Publish(ctx, queue, body)
		require.NoError(e.tb, err)
		ids[i] = id
	}
	require.NoError(e.tb, p.Close(), "the DISCONNECT receipt confirms every message")
	return ids
}

// Payloads returns n distinct order-event payloads tagged with prefix.
func Payloads(prefix string, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = fmt.Appendf(nil, `{"object_type":"order","order_uuid":"%s-%d","order_state":"pending-provider","schema_version":1}`, prefix, i)
	}
	return out
}
