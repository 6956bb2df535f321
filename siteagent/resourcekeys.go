package siteagent

import (
	"context"
	"fmt"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Resource API keys (Waldur 8.1) are credentials of a resource's backend —
// an LLM gateway's key, an S3 access key — that Waldur stores encrypted so the
// consumer can reveal them. The agent generates each key and applies it to the
// backend first; Waldur only learns the value afterwards.
//
// A Create order's processor returns the keys it made in Result.APIKeys, and
// the agent reports them with report_created. When the consumer asks for a new
// value, Waldur sets the key Updating and sends a resource_api_key_rotation
// event; the agent hands it to the APIKeyRotator of Config.APIKeys and reports
// the new value with set_key, or set_erred when rotation failed for good.
// Rotations stuck in Updating (a lost event) are picked up by a periodic pass.

// APIKey is a resource API key made by a processor: the backend's public
// identifier and the secret value. The agent sends the value to Waldur only;
// it never logs it.
type APIKey struct {
	// ClientID identifies the key on the backend, unique per resource, e.g.
	// "<backend id>-1" or an S3 access key id.
	ClientID string
	// Secret is the key's value.
	Secret string
}

// String hides the secret, so a key printed by mistake leaks nothing.
func (k APIKey) String() string { return "APIKey{" + k.ClientID + ", <redacted>}" }

// APIKeyRotator applies new values of resource API keys to the backend.
// Setting it in Config.APIKeys subscribes the agent to rotation requests.
//
// RotateAPIKey must make a new value for the key, apply it to the backend and
// return it (with the same or a new ClientID). A permanent error (Permanent)
// marks the key erred in Waldur, so the consumer sees that rotation failed;
// any other error is retried. The old value should keep working until the new
// one is in place, so consumers see no downtime.
type APIKeyRotator interface {
	RotateAPIKey(ctx context.Context, r *APIKeyRotation) (APIKey, error)
}

// APIKeyRotatorFunc adapts a function to APIKeyRotator.
type APIKeyRotatorFunc func(ctx context.Context, r *APIKeyRotation) (APIKey, error)

// RotateAPIKey calls f.
func (f APIKeyRotatorFunc) RotateAPIKey(ctx context.Context, r *APIKeyRotation) (APIKey, error) {
	return f(ctx, r)
}

// APIKeyRotation is a request for a new value of a resource API key.
type APIKeyRotation struct {
	KeyUUID           waldur.UUID
	ResourceUUID      waldur.UUID
	ResourceBackendID string // from the event; "" when found by the periodic pass
	ClientID          string // the key's current client id
	// Key is the key's status as read from Waldur (never its value).
	Key *waldur.ResourceAPIKey
}

// stuckRotationAge is how long a key may stay Updating before the periodic
// pass handles it again, as Waldur's reference agent does.
const stuckRotationAge = 30 * time.Minute

// keyWork is the capability that rotates resource API keys.
type keyWork struct{ a *Agent }

func (w *keyWork) registration() registration {
	return registration{service: serviceOrders, processors: []ProcessorInfo{describe(w.a.cfg.APIKeys)}}
}

func (w *keyWork) objectTypes() []waldur.ObservableObjectType {
	return []waldur.ObservableObjectType{waldur.ObservableObjectTypeResourceAPIKeyRotation}
}

func (w *keyWork) interval() time.Duration { return w.a.cfg.ReconcileInterval }

func keyKey(id waldur.UUID) string { return "apikey:" + waldur.Hex(id) }

func (w *keyWork) handleEvent(ctx context.Context, e Event) error {
	p, ok := e.Payload.(*APIKeyRotationEvent)
	if !ok || (p.Action != "" && p.Action != "rotate") {
		return nil // a revoke is mentioned by Waldur's guide but has no API; nothing to do
	}
	return w.a.doWork(ctx, keyKey(p.APIKeyUUID), func(ctx context.Context) error {
		return w.rotate(ctx, p.APIKeyUUID, p.ResourceBackendID, nil)
	})
}

// reconcile handles keys that have been Updating for long: their event was
// lost or their rotation failed transiently.
func (w *keyWork) reconcile(runCtx, workCtx context.Context) {
	a := w.a
	for _, off := range a.passOfferings() {
		opts := waldur.ListAPIKeysOptions{
			OfferingUUID:   off.id,
			States:         []waldur.ResourceAPIKeyState{waldur.ResourceAPIKeyStateUpdating},
			ModifiedBefore: a.cfg.Now().Add(-stuckRotationAge),
		}
		for k, err := range a.client.APIKeys.List(runCtx, opts) {
			if err != nil {
				if runCtx.Err() == nil && !waldur.IsNotFound(err) { // 404: a Waldur without API keys
					a.noteError(err)
					a.log.Warn("siteagent: listing API keys stuck in rotation failed", "offering", off.id, "error", err)
				}
				break
			}
			a.submit(runCtx, workCtx, keyKey(k.UUID), func(ctx context.Context) error {
				return w.rotate(ctx, k.UUID, "", &k)
			})
		}
	}
}

// rotate asks the rotator for a new value of a key in Updating and reports
// the outcome. A key in another state was handled already: nothing to do.
func (w *keyWork) rotate(ctx context.Context, id waldur.UUID, backendID string, key *waldur.ResourceAPIKey) error {
	a := w.a
	if key == nil {
		var err error
		if key, err = a.client.APIKeys.Get(ctx, id); err != nil {
			if waldur.IsNotFound(err) {
				return nil // deleted with its resource
			}
			return fmt.Errorf("siteagent: read API key %s: %w", id, err)
		}
	}
	if key.State != waldur.ResourceAPIKeyStateUpdating {
		return nil
	}
	req := &APIKeyRotation{KeyUUID: id, ResourceUUID: key.ResourceUUID, ResourceBackendID: backendID, ClientID: key.ClientID, Key: key}
	if req.ResourceBackendID == "" {
		req.ResourceBackendID = key.ResourceBackendID
	}
	nk, err := callUser(ctx, a.cfg.ProcessorTimeout, func(ctx context.Context) (APIKey, error) {
		return a.cfg.APIKeys.RotateAPIKey(ctx, req)
	})
	if err != nil {
		if !IsPermanent(err) {
			return fmt.Errorf("siteagent: rotate API key %s: %w", id, err)
		}
		msg, _ := errorReport(err, false)
		if err := a.client.APIKeys.SetErred(waldur.WithRetrySafe(ctx), id, msg); err != nil && !waldur.IsInvalidState(err) {
			return fmt.Errorf("siteagent: mark API key %s erred: %w", id, err)
		}
		a.noteError(err)
		a.log.Warn("siteagent: API key rotation failed", "key", id, "error", msg)
		return nil
	}
	clientID := nk.ClientID
	if clientID == key.ClientID {
		clientID = "" // unchanged: not sent
	}
	if err := a.client.APIKeys.SetKey(waldur.WithRetrySafe(ctx), id, nk.Secret, clientID); err != nil {
		if waldur.IsInvalidState(err) {
			return nil // set meanwhile (a retried call that landed): the key is OK
		}
		return fmt.Errorf("siteagent: report rotated API key %s: %w", id, err)
	}
	a.log.Info("siteagent: API key rotated", "key", id, "client_id", nk.ClientID)
	return nil
}

// reportKeys reports the keys a Create processor made for resource rid.
func (a *Agent) reportKeys(ctx context.Context, rid waldur.UUID, keys []APIKey) error {
	for _, k := range keys {
		if _, err := a.client.APIKeys.ReportCreated(ctx, rid, k.ClientID, k.Secret); err != nil {
			return fmt.Errorf("siteagent: report API key %s of resource %s: %w", k.ClientID, rid, err)
		}
	}
	return nil
}
