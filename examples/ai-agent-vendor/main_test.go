package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestJourney runs the demo and checks each step's effect in the fake Waldur.
func TestJourney(t *testing.T) {
	broker := newFakeBroker()
	fake := waldurtest.NewServer(t, waldurtest.WithEventSink(broker))
	var out, logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	j, err := run(context.Background(), fake, broker, &out, log, nil)
	require.NoError(t, err, out.String())
	for i := 1; i <= 10; i++ {
		assert.Contains(t, "\n"+out.String(), fmt.Sprintf("\n%d. ", i), "step %d printed", i)
	}

	// Create: approved and done; the resource has its backend id and endpoints.
	assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, fake.Transitions(j.CreateOrder))
	r, ok := fake.Resource(j.Resource)
	require.True(t, ok)
	assert.Equal(t, "agent-1", r.BackendID)
	require.Len(t, r.Endpoints, 2)
	assert.True(t, strings.HasSuffix(r.Endpoints[0].URL, "/mcp"))
	assert.True(t, strings.HasSuffix(r.Endpoints[1].URL, "/v1/chat"))

	// Keys: two reported, one rotated; no secret in the output or the logs.
	keys := keysOf(fake, j.Resource)
	require.Len(t, keys, 2)
	assert.Equal(t, "agent-1-1", keys[0].ClientID)
	assert.Equal(t, "agent-1-2", keys[1].ClientID)
	assert.Equal(t, 2, fake.CallCount("marketplace_resource_api_keys_report_created"))
	assert.Equal(t, 1, fake.CallCount("marketplace_resource_api_keys_set_key"))
	for _, k := range keys {
		secret, _ := fake.APIKeySecret(k.UUID)
		require.NotEmpty(t, secret)
		assert.NotContains(t, out.String(), secret)
		assert.NotContains(t, logs.String(), secret)
	}

	// Usage: every chat call and tool call, and the tokens, in this month.
	assert.Equal(t, 1, j.ToolCalls)
	assert.Equal(t, len(prompts)+2, j.ChatRequests)
	assert.Equal(t, map[string]float64{
		componentRequests: float64(j.ToolCalls + j.ChatRequests),
		offeringKTokens:   math.Round(float64(j.Tokens)/10) / 100,
	}, usageOf(fake, j.Resource))
	month := time.Now().UTC()
	for _, c := range fake.Calls() {
		if c.OperationID != "marketplace_component_usages_set_usage" {
			continue
		}
		var body struct {
			Date   time.Time `json:"date"`
			Usages []struct {
				Amount any `json:"amount"`
			} `json:"usages"`
		}
		require.NoError(t, json.Unmarshal(c.Body, &body))
		assert.Equal(t, time.Date(month.Year(), month.Month(), 1, 12, 0, 0, 0, time.UTC), body.Date.UTC(), "noon UTC on the 1st")
		for _, u := range body.Usages {
			assert.IsType(t, "", u.Amount, "amounts are decimal strings")
		}
	}

	// Widget: the portal's widget showed this month's usage against the
	// ordered limit and the keys' states, as Waldur has them.
	require.Len(t, j.Widget.Resources, 1)
	wr := j.Widget.Resources[0]
	assert.Equal(t, waldur.Hex(j.Resource), wr.UUID)
	assert.Equal(t, "OK", wr.State)
	require.Len(t, wr.Usage, 2)
	assert.Equal(t, componentRequests, wr.Usage[0].Type)
	assert.Equal(t, float64(j.ToolCalls+j.ChatRequests), wr.Usage[0].Usage)
	require.NotNil(t, wr.Usage[0].Limit)
	assert.Equal(t, float64(requestLimit), *wr.Usage[0].Limit)
	assert.Equal(t, offeringKTokens, wr.Usage[1].Type)
	assert.Equal(t, math.Round(float64(j.Tokens)/10)/100, wr.Usage[1].Usage)
	require.Len(t, wr.Keys, 2)
	for i, k := range wr.Keys {
		assert.Equal(t, keys[i].ClientID, k.ClientID)
		assert.Equal(t, "OK", k.State)
	}
	require.NotNil(t, j.Widget.Agent)
	assert.True(t, j.Widget.Agent.Ready)

	// Terminate: done, the resource terminated.
	assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, fake.Transitions(j.Terminate))
	r, _ = fake.Resource(j.Resource)
	assert.Equal(t, waldur.ResourceStateTerminated, r.State)
}
