package siteagent_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// gateway keeps the keys of an LLM gateway; it carries out every command
// Waldur sends about them.
type gateway struct{ paused atomic.Bool }

func (g *gateway) CreateAPIKey(_ context.Context, c *siteagent.APIKeyCommand) (siteagent.APIKey, error) {
	return siteagent.APIKey{ClientID: c.ClientID, Secret: "sk-first"}, nil
}

func (g *gateway) RotateAPIKey(_ context.Context, c *siteagent.APIKeyCommand) (siteagent.APIKey, error) {
	return siteagent.APIKey{ClientID: c.ClientID, Secret: "sk-next"}, nil
}

func (g *gateway) PauseAPIKey(context.Context, *siteagent.APIKeyCommand) error {
	g.paused.Store(true)
	return nil
}

func (g *gateway) ResumeAPIKey(context.Context, *siteagent.APIKeyCommand) error {
	g.paused.Store(false)
	return nil
}

func (g *gateway) UpdateAPIKey(context.Context, *siteagent.APIKeyCommand) error { return nil }

func (g *gateway) DeleteAPIKey(context.Context, *siteagent.APIKeyCommand) error { return nil }

// The consumer paused a key of an LLM gateway and the event got lost: the
// agent's periodic pass finds the key waiting for its pending action, pauses
// it on the gateway and acknowledges with set_paused.
func ExampleAPIKeyProcessor() {
	var clock atomic.Int64
	clock.Store(time.Now().Add(-time.Hour).UnixNano())
	s := waldurtest.New(waldurtest.WithClock(func() time.Time { return time.Unix(0, clock.Load()) }))
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{Name: "LLM gateway"})
	resource := s.AddResource(waldurtest.ResourceSpec{Offering: offering, BackendID: "gw-1"})
	key := s.AddAPIKey(waldurtest.APIKeySpec{Resource: resource, ClientID: "gw-1-1"})
	_ = s.CommandAPIKey(key, "pause") // an hour ago
	clock.Store(time.Now().UnixNano())

	g := &gateway{}
	cfg := siteagent.Config{OfferingUUID: offering.String(), APIKeys: g}
	runAgent(s, cfg, func() bool {
		k, _ := s.APIKey(key)
		return k.State == waldur.ResourceAPIKeyStatePaused
	})

	k, _ := s.APIKey(key)
	fmt.Println(k.State, g.paused.Load(), s.CallCount("marketplace_resource_api_keys_set_paused"))
	// Output:
	// Paused true 1
}
