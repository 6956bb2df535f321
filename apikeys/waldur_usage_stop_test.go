package apikeys_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// A graceful stop must report every request the Meter counted: the agent
// flushes the Meter before its final usage pass, whether the Meter stops
// with it (its own last flush racing the agent's) or after it. Each round
// is a process that counts one more request and stops; Waldur must hold
// the round's number afterwards.
func TestGracefulStopReportsEveryMeteredRequest(t *testing.T) {
	f := newFixture(t, nil)
	k := newKitFrom(t, f, waldurtest.WithClock(f.clock.Now))
	rid := k.s.AddResource(waldurtest.ResourceSpec{Offering: k.offering, BackendID: "gw-stop"})
	is, err := k.m.IssueForResource(context.Background(), apikeys.Binding{OfferingUUID: k.offering, ResourceUUID: rid},
		apikeys.IssueOptions{ClientID: "gw-stop-1", TTL: time.Hour})
	require.NoError(t, err)
	res := k.verify(t, is.Key.Format())
	require.True(t, res.Valid())

	const rounds = 500
	for round := 1; round <= rounds; round++ {
		usage, err := apikeys.NewWaldurUsage(apikeys.WaldurUsageConfig{Client: k.s.Client()})
		require.NoError(t, err)
		meter, err := usage.NewMeter(apikeys.MeterConfig{Now: f.clock.Now, Interval: time.Hour})
		require.NoError(t, err)
		cfg := k.config()
		cfg.Usage = usage
		cfg.UsageInterval = time.Hour
		cfg.Now = f.clock.Now
		cfg.Events = siteagent.EventsConfig{Mode: siteagent.EventsPolling}
		a, err := siteagent.New(cfg)
		require.NoError(t, err)

		agentCtx, stopAgent := context.WithCancel(context.Background())
		meterCtx, stopMeter := agentCtx, stopAgent // odd rounds: one context for both
		if round%2 == 0 {
			meterCtx, stopMeter = context.WithCancel(context.Background()) // even: the meter outlives the agent
		}
		agentDone, meterDone := make(chan error, 1), make(chan error, 1)
		go func() { agentDone <- a.Run(agentCtx) }()
		go func() { meterDone <- meter.Run(meterCtx) }()
		k.wait(t, "the first usage pass", func() bool { return !a.Stats().LastUsageReport.IsZero() })

		meter.Add(res.Identity, "requests", 1)
		stopAgent()
		require.NoError(t, <-agentDone)
		got := k.s.ComponentUsages()
		stopMeter()
		require.NoError(t, <-meterDone)

		var amount float64
		for _, u := range got {
			if u.ResourceUUID == rid && u.Type == "requests" {
				amount = u.Usage
			}
		}
		require.Equal(t, float64(round), amount, "round %d: the request counted before the stop is reported", round)
	}
}
