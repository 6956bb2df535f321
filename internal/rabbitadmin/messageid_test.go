package rabbitadmin_test

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gsv-platform/waldur-agent-go/internal/rabbitadmin"
)

func TestMessageID(t *testing.T) {
	// Expected value computed independently: sha256 over "<vhost>:<topic>:<payload>", first 32 hex.
	got := rabbitadmin.MessageID("0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b", "consumer_5d0f0a8c2a7e4b51a1f3c6d7e8f90a12", []byte(`{"order_uuid": "x"}`))
	assert.Equal(t, "6b9cc0ff451a65e9d4311d25de89890c", got)
	assert.NotEqual(t, got, rabbitadmin.MessageID("0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b", "consumer_other", []byte(`{"order_uuid": "x"}`)), "topic is part of the id")
}

func TestNewHexID(t *testing.T) {
	a, b := rabbitadmin.NewHexID(), rabbitadmin.NewHexID()
	assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{32}$`), a)
	assert.NotEqual(t, a, b)
}

func BenchmarkMessageID(b *testing.B) {
	payload := []byte(`{"order_uuid": "5d0f0a8c2a7e4b51a1f3c6d7e8f90a12", "order_state": "pending-provider", "object_type": "order"}`)
	for b.Loop() {
		_ = rabbitadmin.MessageID("0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b", "consumer_5d0f0a8c2a7e4b51a1f3c6d7e8f90a12", payload)
	}
}
