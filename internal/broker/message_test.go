package broker_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gsv-platform/waldur-agent-go/internal/broker"
)

func TestReject(t *testing.T) {
	cause := errors.New("bad json")
	err := broker.Reject(cause)
	assert.ErrorIs(t, err, broker.ErrReject)
	assert.ErrorIs(t, err, cause)
	assert.True(t, broker.IsReject(fmt.Errorf("handler: %w", err)), "survives wrapping")
	assert.Equal(t, "broker: message rejected: bad json", err.Error())
	assert.True(t, broker.IsReject(broker.Reject(nil)))
	assert.Equal(t, broker.ErrReject.Error(), broker.Reject(nil).Error())
	assert.False(t, broker.IsReject(cause))
	assert.False(t, broker.IsReject(nil))
}

func TestNeedsRefresh(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("dial: %w", broker.ErrAuth), true},
		{fmt.Errorf("subscribe: %w", broker.ErrQueueNotFound), true},
		{errors.New("connection refused"), false},
		{nil, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, broker.NeedsRefresh(tt.err), "%v", tt.err)
	}
}

func TestEndpointNeverShowsPassword(t *testing.T) {
	ep := broker.Endpoint{
		URL:      "amqp://user:urlsecret@rabbit:5672/",
		VHost:    "v",
		Login:    "l",
		Password: "topsecret",
		Queue:    "consumer_1",
	}
	s := ep.String()
	assert.NotContains(t, s, "topsecret")
	assert.NotContains(t, s, "urlsecret")
	assert.Contains(t, s, "consumer_1")

	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "endpoint", ep)
	assert.NotContains(t, buf.String(), "topsecret")
	assert.NotContains(t, buf.String(), "urlsecret")
	assert.Contains(t, buf.String(), "endpoint.login=l")

	assert.NotContains(t, fmt.Sprint(ep), "topsecret", "fmt uses String")
}
