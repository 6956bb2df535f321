package apikeys

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
)

// The commands Waldur sends about single resource API keys (newer than
// Waldur 8.1.2) besides rotation. Each acts on the local keys of the
// command's resource that carry its client id: the current key and a
// predecessor still in its rotation grace.

var _ siteagent.APIKeyProcessor = (*Provisioner)(nil)

// CreateAPIKey implements siteagent.APIKeyProcessor: it issues the first
// value of a key that Waldur created (command create), bound as Waldur has
// the resource. Local keys with that client id, issued by an earlier attempt
// whose value Waldur never received, are revoked first.
func (p *Provisioner) CreateAPIKey(ctx context.Context, c *siteagent.APIKeyCommand) (siteagent.APIKey, error) {
	if err := p.revokeClient(ctx, c.ResourceUUID, c.ClientID); err != nil {
		return siteagent.APIKey{}, err
	}
	return p.reissue(ctx, c)
}

// PauseAPIKey implements siteagent.APIKeyProcessor: the keys stop working
// (Manager.Suspend, verified as ReasonSuspended) until a resume. Without a
// local key there is nothing that works, and the pause succeeds.
func (p *Provisioner) PauseAPIKey(ctx context.Context, c *siteagent.APIKeyCommand) error {
	n, err := p.eachClientKey(ctx, c, p.keys.Suspend)
	if err == nil && n == 0 {
		p.log.LogAttrs(ctx, slog.LevelWarn, "apikeys: pause of a key this store does not know",
			slog.String("resource", c.ResourceUUID.String()), slog.String("client_id", c.ClientID))
	}
	return err
}

// ResumeAPIKey implements siteagent.APIKeyProcessor: suspended keys work
// again. Without a local key it fails for good: rotating the key in Waldur
// issues a new one.
func (p *Provisioner) ResumeAPIKey(ctx context.Context, c *siteagent.APIKeyCommand) error {
	n, err := p.eachClientKey(ctx, c, p.keys.Resume)
	if err == nil && n == 0 {
		return siteagent.Permanentf("apikeys: no key %s of resource %s to resume; rotate it to issue one", c.ClientID, c.ResourceUUID)
	}
	return err
}

// UpdateAPIKey implements siteagent.APIKeyProcessor. A Provisioner's key
// carries nothing of Waldur's that an update changes (its scopes, lifetime
// and rate limit come from the ProvisionerConfig), so it only checks that a
// local key backs the client id; without one it fails for good.
func (p *Provisioner) UpdateAPIKey(ctx context.Context, c *siteagent.APIKeyCommand) error {
	n, err := p.eachClientKey(ctx, c, func(context.Context, string) error { return nil })
	if err == nil && n == 0 {
		return siteagent.Permanentf("apikeys: no key %s of resource %s to update; rotate it to issue one", c.ClientID, c.ResourceUUID)
	}
	return err
}

// DeleteAPIKey implements siteagent.APIKeyProcessor: the keys are revoked,
// those in a rotation's grace too.
func (p *Provisioner) DeleteAPIKey(ctx context.Context, c *siteagent.APIKeyCommand) error {
	n, err := p.eachClientKey(ctx, c, p.keys.Revoke)
	if err == nil {
		p.log.LogAttrs(ctx, slog.LevelInfo, "apikeys: deleted a resource key", slog.String("resource", c.ResourceUUID.String()),
			slog.String("client_id", c.ClientID), slog.Int("keys", n))
	}
	return err
}

// eachClientKey calls fn with the id of every live local key of c's
// resource carrying c's client id and returns how many there were.
func (p *Provisioner) eachClientKey(ctx context.Context, c *siteagent.APIKeyCommand, fn func(context.Context, string) error) (int, error) {
	recs, err := p.keys.List(ctx, Filter{ResourceUUID: c.ResourceUUID, ClientID: c.ClientID})
	if err != nil {
		return 0, fmt.Errorf("apikeys: %s key %s of resource %s: %w", c.Action, c.ClientID, c.ResourceUUID, err)
	}
	for _, r := range recs {
		if err := fn(ctx, r.ID); err != nil {
			return 0, fmt.Errorf("apikeys: %s key %s of resource %s: %w", c.Action, c.ClientID, c.ResourceUUID, err)
		}
	}
	return len(recs), nil
}
