package apikeys_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
)

// syncBuffer is a bytes.Buffer safe for the handler's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Keys are secrets: whatever the package logs, at any level, through issue,
// verify (valid, typo, unknown), rotate, revoke, store failures and the
// middleware, never contains a key or its secret part.
func TestKeysNeverAppearInLogs(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t, func(c *apikeys.Config) { c.Logger = log; c.LastUsedInterval = time.Hour })
	ctx := context.Background()

	a := f.issue(t, nil)
	b, err := f.m.IssueForResource(ctx, f.bind, apikeys.IssueOptions{ClientID: "gw-2", TTL: time.Hour})
	require.NoError(t, err)
	secrets := []string{a.Key.Format(), b.Key.Format()}

	f.verify(t, a.Key.Format())
	f.verify(t, a.Key.Format(), "missing:scope")
	typo := a.Key.Format()[:20] + "0" + a.Key.Format()[21:]
	f.verify(t, typo)
	rot, err := f.m.Rotate(ctx, a.Key.ID, apikeys.RotateOptions{})
	require.NoError(t, err)
	secrets = append(secrets, rot.Key.Format())
	f.verify(t, rot.Key.Format())
	require.NoError(t, f.m.Revoke(ctx, b.Key.ID))
	f.verify(t, b.Key.Format())
	_, err = f.m.RevokeResource(ctx, f.bind.ResourceUUID)
	require.NoError(t, err)

	h := apikeys.Middleware(f.m, apikeys.MiddlewareConfig{Logger: log})(echoIdentity(t))
	f.store.fail.Store(true)
	f.clock.Advance(time.Hour) // expire the cache so the store is asked
	serve(h, "Bearer "+rot.Key.Format())
	_, err = f.m.Verify(ctx, rot.Key.Format())
	require.Error(t, err)
	assert.Error(t, f.m.FlushLastUsed(ctx))
	runCtx, cancel := context.WithCancel(ctx)
	cancel()
	assert.Error(t, f.m.Run(runCtx))

	out := buf.String()
	require.Contains(t, out, "issued key", "the test must see real log output")
	require.Contains(t, out, "rotated key")
	require.Contains(t, out, "revoked key")
	require.Contains(t, out, "lookup failed")
	for _, s := range append(secrets, typo) {
		secretPart := s[strings.LastIndexByte(s, '_')+1:]
		assert.NotContains(t, out, s)
		assert.NotContains(t, out, secretPart[:apikeys.SecretLen])
		assert.NotContains(t, err.Error(), secretPart[:apikeys.SecretLen])
	}
}
