package apikeys_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/siteagenttest"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// secretLog collects every key value handed to Waldur.
type secretLog struct {
	mu      sync.Mutex
	secrets []string
}

func (l *secretLog) add(keys ...siteagent.APIKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, k := range keys {
		l.secrets = append(l.secrets, k.Secret)
	}
}

func (l *secretLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.secrets...)
}

// The whole lifecycle — a create whose first report fails, a rotation,
// metered requests, usage reporting, a termination — logs at debug level
// through the Manager, the Provisioner, the meter, the usage reporter, the
// middleware, the agent and its Waldur client, and no key value appears.
func TestResourceKeysNeverAppearInLogs(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f := newFixture(t, func(c *apikeys.Config) { c.Logger = log })
	k := newKitFrom(t, f, waldurtest.WithClock(f.clock.Now))
	ctx := context.Background()
	client := k.s.Client(waldur.WithLogger(log))

	p := k.provisioner(t, func(c *apikeys.ProvisionerConfig) { c.Next = &gateway{}; c.Logger = log; c.Client = client })
	usage, err := apikeys.NewWaldurUsage(apikeys.WaldurUsageConfig{Client: client, Components: tokens, Logger: log})
	require.NoError(t, err)
	meter, err := apikeys.NewMeter(apikeys.MeterConfig{Sink: usage.Sink(), Now: k.clock.Now, Logger: log})
	require.NoError(t, err)

	var handed secretLog
	cfg := k.config()
	cfg.Client, cfg.Logger, cfg.Now = client, log, k.clock.Now
	cfg.Usage, cfg.UsageInterval = usage, 10*time.Millisecond
	cfg.Orders = siteagent.OrderProcessorFunc(func(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
		res, err := p.ProcessOrder(ctx, o)
		handed.add(res.APIKeys...)
		return res, err
	})
	cfg.APIKeys = siteagent.APIKeyRotatorFunc(func(ctx context.Context, r *siteagent.APIKeyRotation) (siteagent.APIKey, error) {
		key, err := p.RotateAPIKey(ctx, r)
		handed.add(key)
		return key, err
	})
	k.s.FailNext("marketplace_resource_api_keys_report_created", 400, 1)
	siteagenttest.Start(t, cfg)
	<-k.src.ready

	o := k.waitOrder(t, k.s.AddOrder(waldurtest.OrderSpec{Offering: k.offering}))
	rid := o.MarketplaceResourceUUID
	keys, secrets := k.keysOf(rid)
	require.Len(t, keys, 2)
	require.NoError(t, k.s.RotateAPIKey(keys[1].UUID))
	require.NoError(t, k.deliver(t, "resource_api_key_rotation"))
	rotated, _ := k.s.APIKeySecret(keys[1].UUID)

	api := apikeys.Middleware(k.m, apikeys.MiddlewareConfig{Meter: meter, Logger: log})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		meter.AddContext(r.Context(), "tokens", 2000)
	}))
	call := func(key string) int {
		req := httptest.NewRequest(http.MethodPost, "/v1/chat", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, req)
		return rec.Code
	}
	assert.Equal(t, http.StatusOK, call(secrets[0]))
	assert.Equal(t, http.StatusOK, call(rotated))
	require.NoError(t, meter.Flush(ctx))
	k.wait(t, "usage in Waldur", func() bool {
		n := 0
		for _, c := range k.s.ComponentUsages() {
			if c.ResourceUUID == rid {
				n++
			}
		}
		return n == 2
	})

	k.waitOrder(t, k.s.AddOrder(waldurtest.OrderSpec{Offering: k.offering, Type: "Terminate", Resource: rid}))
	assert.Equal(t, http.StatusUnauthorized, call(rotated))

	all := handed.all()
	require.Len(t, all, 2+2+1, "two attempts of two keys, one rotation")
	all = append(all, secrets...)
	out := buf.String()
	require.Contains(t, out, "apikeys: issued resource keys")
	require.Contains(t, out, "apikeys: revoked a key Waldur never received")
	for _, s := range all {
		require.NotEmpty(t, s)
		assert.NotContains(t, out, s)
		secretPart := s[strings.LastIndexByte(s, '_')+1:]
		assert.NotContains(t, out, secretPart, "the secret part alone")
	}
}
