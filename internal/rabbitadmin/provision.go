package rabbitadmin

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/google/uuid"
)

// HeaderMessageID is the header carrying Waldur's message id.
const HeaderMessageID = "x-message-id"

// MessageID returns the id Waldur's publisher puts in the x-message-id header:
// the first 32 hex digits of sha256("<vhost>:<topic>:<payload>"). The topic is
// the queue name on the unified (register_queue) path. Equal content sent to
// the same queue gets the same id.
func MessageID(vhost, topic string, payload []byte) string {
	h := sha256.New()
	h.Write([]byte(vhost))
	h.Write([]byte{':'})
	h.Write([]byte(topic))
	h.Write([]byte{':'})
	h.Write(payload)
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// NewHexID returns a random UUID4 as 32 lowercase hex digits, the form Waldur
// uses for RabbitMQ user names, vhosts and queue suffixes.
func NewHexID() string {
	u := uuid.New()
	return hex.EncodeToString(u[:])
}

// ProvisionRequest says what to set up; see Client.Provision.
type ProvisionRequest struct {
	// VHost is the owner's user UUID hex. Empty means a new random one.
	VHost string
	// Username is the RabbitMQ user. Empty means a new random UUID hex, as
	// Waldur does when it (re)creates a consumer.
	Username string
	// Password is the credential the consumer will present: the API token or
	// PAT used for register_queue. Required.
	Password string
	// Queue is the queue name. Empty means consumer_<random UUID hex>.
	Queue string
}

// Registration is the answer of Provision, shaped like Waldur's register_queue
// answer (vhost, rmq_username, queue_name).
type Registration struct {
	VHost    string
	Username string
	Queue    string
}

// Provision sets RabbitMQ up the way Waldur's register_queue does: the vhost,
// the user with the given password and full permissions on the vhost, the
// consumer queue with Waldur's arguments, and the dead-letter queue. Calling it
// again with the same names is idempotent and resets the password, as Waldur's
// "200" path does.
func (c *Client) Provision(ctx context.Context, r ProvisionRequest) (Registration, error) {
	if r.Password == "" {
		return Registration{}, errors.New("rabbitadmin: provision: empty password")
	}
	reg := Registration{VHost: r.VHost, Username: r.Username, Queue: r.Queue}
	if reg.VHost == "" {
		reg.VHost = NewHexID()
	}
	if reg.Username == "" {
		reg.Username = NewHexID()
	}
	if reg.Queue == "" {
		reg.Queue = "consumer_" + NewHexID()
	}
	steps := []struct {
		what string
		do   func() error
	}{
		{"vhost", func() error { return c.CreateVHost(ctx, reg.VHost) }},
		{"user", func() error { return c.PutUser(ctx, reg.Username, r.Password) }},
		{"permissions", func() error { return c.SetPermissions(ctx, reg.VHost, reg.Username, AllPermissions) }},
		{"queue", func() error { return c.DeclareWaldurQueue(ctx, reg.VHost, reg.Queue) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			return Registration{}, fmt.Errorf("rabbitadmin: provision %s: %w", s.what, err)
		}
	}
	return reg, nil
}

// Deprovision removes what Provision created for one consumer: its queue and
// its user. The vhost stays, as it may serve other consumers of the owner;
// DeleteVHost removes it.
func (c *Client) Deprovision(ctx context.Context, reg Registration) error {
	return errors.Join(c.DeleteQueue(ctx, reg.VHost, reg.Queue), c.DeleteUser(ctx, reg.Username))
}
