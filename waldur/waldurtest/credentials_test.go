package waldurtest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// brokerPassword returns the RabbitMQ password of the queue named name.
func brokerPassword(t *testing.T, s *waldurtest.Server, name string) string {
	t.Helper()
	for _, q := range s.Queues() {
		if q.Name == name {
			return q.Password
		}
	}
	t.Fatalf("no queue %s", name)
	return ""
}

// As in Waldur: a legacy subscription's password is the user's DRF token
// when it was created, whatever credential the call used, and registering
// it again does not change it.
func TestLegacySubscriptionPasswordIsTheDRFTokenAtCreation(t *testing.T) {
	ctx := context.Background()
	s := waldurtest.NewServer(t, waldurtest.WithLegacyWaldur())
	off := s.AddOffering(waldurtest.OfferingSpec{})
	pat := s.Client(waldur.WithCredential(waldur.TokenPAT, s.PAT()))
	id, err := pat.Agents.CreateIdentity(ctx, waldur.AgentIdentityRequest{Offering: off, Name: "agent"})
	require.NoError(t, err)

	sub, err := pat.Agents.RegisterEventSubscription(ctx, id.UUID, waldur.ObservableObjectTypeOrder, "")
	require.NoError(t, err)
	q, err := pat.Agents.CreateQueue(ctx, sub.UUID, off, waldur.ObservableObjectTypeOrder)
	require.NoError(t, err)
	assert.Equal(t, s.Token(), brokerPassword(t, s, q.QueueName), "the DRF token, not the PAT of the call")

	old := s.Token()
	fresh := s.RotateToken(s.ProviderUser())
	c := s.Client(waldur.WithToken(fresh))
	again, err := c.Agents.RegisterEventSubscription(ctx, id.UUID, waldur.ObservableObjectTypeOrder, "")
	require.NoError(t, err)
	assert.Equal(t, sub.UUID, again.UUID, "reused")
	_, err = c.Agents.CreateQueue(ctx, sub.UUID, off, waldur.ObservableObjectTypeOrder)
	require.NoError(t, err)
	assert.Equal(t, old, brokerPassword(t, s, q.QueueName), "a reused subscription keeps the old password")

	require.NoError(t, c.Agents.DeleteEventSubscription(ctx, sub.UUID))
	sub, err = c.Agents.RegisterEventSubscription(ctx, id.UUID, waldur.ObservableObjectTypeOrder, "")
	require.NoError(t, err)
	q, err = c.Agents.CreateQueue(ctx, sub.UUID, off, waldur.ObservableObjectTypeOrder)
	require.NoError(t, err)
	assert.Equal(t, fresh, brokerPassword(t, s, q.QueueName), "created again: the current token")

	_, err = s.Client(waldur.WithToken(old)).Users.Me(ctx)
	assert.True(t, waldur.IsUnauthorized(err), "the rotated token is refused")
}

// register_queue sets the password to the PAT or DRF token of the call;
// for an OIDC-authenticated call, to the user's DRF token.
func TestRegisterQueuePasswordFollowsTheCredential(t *testing.T) {
	ctx := context.Background()
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	id, err := s.Client().Agents.CreateIdentity(ctx, waldur.AgentIdentityRequest{Offering: off, Name: "agent"})
	require.NoError(t, err)
	for _, tt := range []struct {
		kind       waldur.TokenKind
		token      string
		wantPasswd string
	}{
		{waldur.TokenPAT, s.PAT(), s.PAT()},
		{waldur.TokenDRF, s.Token(), s.Token()},
		{waldur.TokenOIDC, s.OIDCToken(), s.Token()},
	} {
		q, _, err := s.Client(waldur.WithCredential(tt.kind, tt.token)).Agents.RegisterQueue(ctx, id.UUID, nil)
		require.NoError(t, err, tt.kind)
		assert.Equal(t, tt.wantPasswd, brokerPassword(t, s, q.QueueName), tt.kind)
	}
}
