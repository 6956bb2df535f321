package apikeys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Waldur's resource API keys (Waldur 8.1) let the consumer of a resource
// reveal the keys the provider issued for it, and ask for new values. The
// provider's agent generates each key, applies it to its service, and reports
// it; Waldur never generates keys. Provisioner is that agent side for services
// that check keys with a Manager.

// Defaults of ProvisionerConfig.
const (
	// DefaultKeysPerResource gives each resource two keys, as Waldur's
	// reference agent does, so a consumer can rotate one while clients use
	// the other.
	DefaultKeysPerResource = 2
	// DefaultResourceKeyTTL is the lifetime of a resource key. Waldur has no
	// notion of expiry: a key that expired stays OK there until the consumer
	// rotates it, which issues a key with a fresh lifetime.
	DefaultResourceKeyTTL = 365 * 24 * time.Hour
)

// ProvisionerConfig configures a Provisioner. Keys and Client are required;
// every other zero value has the documented default.
type ProvisionerConfig struct {
	// Keys issues, rotates and revokes the keys. Required.
	Keys *Manager
	// Client reads the keys Waldur already holds for a resource, so that a
	// retried order never hands Waldur a second value for a client id, and
	// reads a resource whose key must be rotated. Use the agent's client.
	// Required.
	Client *waldur.Client
	// Next carries out the orders on the backend: the Provisioner issues keys
	// after Next created a resource and revokes them before Next terminates
	// one. Nil means there is no backend work besides the keys.
	Next siteagent.OrderProcessor

	// KeysPerResource is how many keys each resource gets. Default
	// DefaultKeysPerResource (2).
	KeysPerResource int
	// Scopes are granted by every key; see ScopeGrants. Default: none.
	Scopes []string
	// TTL is each key's lifetime, counted from its issue or rotation.
	// Default DefaultResourceKeyTTL; negative issues keys that never expire,
	// which the Manager must allow (Config.AllowNoExpiry).
	TTL time.Duration
	// RotationGrace is how long a key keeps working after a rotation
	// replaced it, so clients can switch without downtime. Default: the
	// Manager's Config.RotationGrace (24h); negative ends the old key at once.
	RotationGrace time.Duration
	// RateLimit of each key. Default: the Manager's DefaultRateLimit.
	RateLimit RateLimit

	// Info names the processor in Waldur's agent registry. Default: Next's
	// name when Next describes itself, else "Provisioner".
	Info siteagent.ProcessorInfo
	// Logger receives what was issued, rotated and revoked (public ids and
	// client ids, never secrets). Default: discard.
	Logger *slog.Logger
}

// Provisioner gives every resource of an offering its API keys, bound to the
// resource's customer, project and offering, and keeps them in step with
// Waldur's resource API keys. It is both the agent's order processor,
// wrapping the backend's (ProvisionerConfig.Next), and its key processor:
//
//	p, err := apikeys.NewProvisioner(apikeys.ProvisionerConfig{
//		Keys: keys, Client: client, Next: backend, Scopes: []string{"chat:write"},
//	})
//	agent, err := siteagent.New(siteagent.Config{Client: client, ..., Orders: p, APIKeys: p})
//
// On a Create or Restore order, after Next succeeded, it issues
// KeysPerResource keys with client ids "<backend id>-1", "<backend id>-2", ...
// (the resource's UUID in hex when it has no backend id) and returns them in
// Result.APIKeys, which the agent reports with report_created.
//
// Such an order may be processed again after a crash or a lost response.
// Waldur's report_created is idempotent per client id (a second report does
// not replace the value), and the Manager keeps only hashes, so an issued key
// cannot be handed out twice. The Provisioner
// therefore reads the resource's keys in Waldur first: a client id Waldur
// holds is left alone; for one it lacks, any local key with that client id
// (issued by an attempt that never reported it, so known to nobody) is
// revoked and a new key is issued and returned. When Waldur holds a client id
// whose key this Manager does not know (a lost store), the Provisioner logs a
// warning: the consumer gets a working key by rotating it.
//
// On a Terminate order it revokes every key of the resource, those in a
// rotation's grace period included, and then calls Next. Waldur deletes its
// key records itself when the resource is terminated.
//
// As the agent's key processor (siteagent.Config.APIKeys, a
// siteagent.APIKeyProcessor) it carries out Waldur's commands on single keys.
// It answers a rotation with a successor of the key with that client id; the
// old value keeps working for RotationGrace. When no live key has that client
// id it issues a new one, bound as Waldur has the resource, as it does for a
// create. A pause suspends the keys of the client id (Manager.Suspend), a
// resume resumes them, a delete revokes them; see the methods.
type Provisioner struct {
	keys   *Manager
	client *waldur.Client
	next   siteagent.OrderProcessor
	n      int
	scopes []string
	ttl    time.Duration
	grace  time.Duration
	limit  RateLimit
	info   siteagent.ProcessorInfo
	log    *slog.Logger
}

// NewProvisioner validates cfg and returns a Provisioner.
func NewProvisioner(cfg ProvisionerConfig) (*Provisioner, error) {
	switch {
	case cfg.Keys == nil:
		return nil, errors.New("apikeys: ProvisionerConfig.Keys is required")
	case cfg.Client == nil:
		return nil, errors.New("apikeys: ProvisionerConfig.Client is required")
	case cfg.KeysPerResource < 0:
		return nil, errors.New("apikeys: ProvisionerConfig.KeysPerResource is negative")
	case cfg.TTL < 0 && !cfg.Keys.allowNoExpiry:
		return nil, fmt.Errorf("apikeys: ProvisionerConfig.TTL is negative: %w", ErrExpiryRequired)
	case !validLimit(cfg.RateLimit):
		return nil, errors.New("apikeys: invalid ProvisionerConfig.RateLimit")
	}
	for _, s := range cfg.Scopes {
		if !ValidateScope(s) {
			return nil, fmt.Errorf("apikeys: invalid scope %q in ProvisionerConfig.Scopes", s)
		}
	}
	p := &Provisioner{
		keys:   cfg.Keys,
		client: cfg.Client,
		next:   cfg.Next,
		n:      orDefault(cfg.KeysPerResource, DefaultKeysPerResource),
		scopes: append([]string(nil), cfg.Scopes...),
		ttl:    cfg.TTL,
		grace:  cfg.RotationGrace,
		limit:  cfg.RateLimit,
		info:   cfg.Info,
		log:    cfg.Logger,
	}
	if p.ttl == 0 {
		p.ttl = DefaultResourceKeyTTL
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.info.Name == "" {
		if d, ok := p.next.(siteagent.Describer); ok {
			p.info = d.ProcessorInfo()
		}
	}
	if p.info.Name == "" {
		p.info.Name = "Provisioner"
	}
	return p, nil
}

// ProcessOrder implements siteagent.OrderProcessor; see Provisioner.
func (p *Provisioner) ProcessOrder(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
	switch o.Type {
	case waldur.OrderTypeTerminate:
		// Revoke first: access ends even if the backend's teardown fails.
		if o.ResourceUUID != uuid.Nil {
			n, err := p.keys.RevokeResource(ctx, o.ResourceUUID)
			if err != nil {
				return siteagent.Result{}, fmt.Errorf("apikeys: revoke keys of resource %s: %w", o.ResourceUUID, err)
			}
			if n > 0 {
				p.log.LogAttrs(ctx, slog.LevelInfo, "apikeys: revoked the keys of a terminated resource",
					slog.String("resource", o.ResourceUUID.String()), slog.Int("keys", n))
			}
		}
		return p.forward(ctx, o)
	case waldur.OrderTypeCreate, waldur.OrderTypeRestore:
		res, err := p.forward(ctx, o)
		if err != nil || res.IsInProgress() {
			return res, err
		}
		keys, err := p.ensureKeys(ctx, o, res.BackendID)
		if err != nil {
			return siteagent.Result{}, err
		}
		res.APIKeys = append(res.APIKeys, keys...)
		return res, nil
	default:
		return p.forward(ctx, o)
	}
}

func (p *Provisioner) forward(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
	if p.next == nil {
		return siteagent.Result{}, nil
	}
	return p.next.ProcessOrder(ctx, o)
}

// EvaluateOrder implements siteagent.OrderEvaluator by asking Next, so that
// wrapping a processor keeps its evaluator; without one it accepts.
func (p *Provisioner) EvaluateOrder(ctx context.Context, o *siteagent.Order) (siteagent.Decision, error) {
	if ev, ok := p.next.(siteagent.OrderEvaluator); ok {
		return ev.EvaluateOrder(ctx, o)
	}
	return siteagent.Accept(), nil
}

// ProcessorInfo implements siteagent.Describer.
func (p *Provisioner) ProcessorInfo() siteagent.ProcessorInfo { return p.info }

// ClientIDs returns the client ids of a resource's keys: "<backendID>-1" to
// "<backendID>-<n>", with the resource's UUID in hex when backendID is empty.
func (p *Provisioner) ClientIDs(backendID string, resource uuid.UUID) []string {
	if backendID == "" {
		backendID = waldur.Hex(resource)
	}
	ids := make([]string, p.n)
	for i := range ids {
		ids[i] = backendID + "-" + strconv.Itoa(i+1)
	}
	return ids
}

// ensureKeys issues the keys of o's resource that Waldur does not hold yet.
func (p *Provisioner) ensureKeys(ctx context.Context, o *siteagent.Order, backendID string) ([]siteagent.APIKey, error) {
	rid := o.ResourceUUID
	if rid == uuid.Nil {
		return nil, siteagent.Permanentf("apikeys: order %s has no resource to bind keys to", o.UUID)
	}
	if backendID == "" {
		r, err := o.Resource(ctx)
		if err != nil && !waldur.IsNotFound(err) {
			// Guessing would name the keys differently from an earlier attempt.
			return nil, fmt.Errorf("apikeys: read resource %s for its backend id: %w", rid, err)
		}
		if r != nil {
			backendID = r.BackendID
		}
	}
	held, err := p.waldurKeys(ctx, rid)
	if err != nil {
		return nil, err
	}
	b := Binding{CustomerUUID: o.CustomerUUID, ProjectUUID: o.ProjectUUID, OfferingUUID: o.OfferingUUID, ResourceUUID: rid}
	var out []siteagent.APIKey
	for _, id := range p.ClientIDs(backendID, rid) {
		if st, ok := held[id]; ok && st != waldur.ResourceAPIKeyStateCreating {
			if err := p.checkHeld(ctx, rid, id); err != nil {
				return nil, err
			}
			continue
		}
		if err := p.revokeClient(ctx, rid, id); err != nil {
			return nil, err
		}
		is, err := p.keys.IssueForResource(ctx, b, p.issueOptions(o.ResourceName, id))
		if err != nil {
			return nil, fmt.Errorf("apikeys: issue key %s of resource %s: %w", id, rid, err)
		}
		out = append(out, siteagent.APIKey{ClientID: id, Secret: is.Key.Format()})
	}
	if len(out) > 0 {
		p.log.LogAttrs(ctx, slog.LevelInfo, "apikeys: issued resource keys", slog.String("resource", rid.String()),
			slog.String("project", uuidAttr(o.ProjectUUID)), slog.Int("keys", len(out)))
	}
	return out, nil
}

// waldurKeys returns the states of the keys Waldur holds for a resource, by
// client id.
func (p *Provisioner) waldurKeys(ctx context.Context, rid uuid.UUID) (map[string]waldur.ResourceAPIKeyState, error) {
	held := make(map[string]waldur.ResourceAPIKeyState)
	for k, err := range p.client.APIKeys.List(ctx, waldur.ListAPIKeysOptions{ResourceUUID: rid}) {
		if err != nil {
			return nil, fmt.Errorf("apikeys: list Waldur's keys of resource %s: %w", rid, err)
		}
		held[k.ClientID] = k.State
	}
	return held, nil
}

// checkHeld warns when Waldur holds a key that no live local key backs.
func (p *Provisioner) checkHeld(ctx context.Context, rid uuid.UUID, clientID string) error {
	_, err := p.keys.CurrentForClient(ctx, rid, clientID)
	switch {
	case errors.Is(err, ErrNotFound):
		p.log.LogAttrs(ctx, slog.LevelWarn, "apikeys: Waldur holds a key this store does not know; rotating it in Waldur issues a working one",
			slog.String("resource", rid.String()), slog.String("client_id", clientID))
		return nil
	case err != nil:
		return fmt.Errorf("apikeys: check key %s of resource %s: %w", clientID, rid, err)
	}
	return nil
}

// revokeClient revokes the live local keys of a resource with a client id
// that Waldur does not hold: issued by an attempt that never reported them.
func (p *Provisioner) revokeClient(ctx context.Context, rid uuid.UUID, clientID string) error {
	recs, err := p.keys.List(ctx, Filter{ResourceUUID: rid, ClientID: clientID})
	if err != nil {
		return fmt.Errorf("apikeys: list keys %s of resource %s: %w", clientID, rid, err)
	}
	for _, r := range recs {
		if err := p.keys.Revoke(ctx, r.ID); err != nil {
			return err
		}
		p.log.LogAttrs(ctx, slog.LevelInfo, "apikeys: revoked a key Waldur never received",
			slog.String("key", r.Display()), slog.String("client_id", clientID))
	}
	return nil
}

func (p *Provisioner) issueOptions(resourceName, clientID string) IssueOptions {
	opts := IssueOptions{Name: resourceName, ClientID: clientID, Scopes: p.scopes, RateLimit: p.limit}
	if p.ttl > 0 {
		opts.TTL = p.ttl
	}
	return opts
}

// RotateAPIKey implements siteagent.APIKeyRotator; see Provisioner.
func (p *Provisioner) RotateAPIKey(ctx context.Context, r *siteagent.APIKeyRotation) (siteagent.APIKey, error) {
	cur, err := p.keys.CurrentForClient(ctx, r.ResourceUUID, r.ClientID)
	if errors.Is(err, ErrNotFound) {
		return p.reissue(ctx, r)
	}
	if err != nil {
		return siteagent.APIKey{}, fmt.Errorf("apikeys: rotate key %s of resource %s: %w", r.ClientID, r.ResourceUUID, err)
	}
	opts := RotateOptions{Grace: p.grace}
	if p.ttl > 0 {
		opts.ExpiresAt = p.keys.now().Add(p.ttl)
	}
	// A rotation that raced with another (ErrRotated) or with a revocation
	// (ErrRevoked) is retried by the agent, which reads the key again.
	is, err := p.keys.Rotate(ctx, cur.ID, opts)
	if err != nil {
		return siteagent.APIKey{}, fmt.Errorf("apikeys: rotate key %s of resource %s: %w", r.ClientID, r.ResourceUUID, err)
	}
	return siteagent.APIKey{ClientID: r.ClientID, Secret: is.Key.Format()}, nil
}

// reissue issues a key for a client id no live local key carries, bound as
// Waldur has the resource.
func (p *Provisioner) reissue(ctx context.Context, r *siteagent.APIKeyRotation) (siteagent.APIKey, error) {
	res, err := p.client.Resources.Get(ctx, r.ResourceUUID)
	if waldur.IsNotFound(err) {
		return siteagent.APIKey{}, siteagent.Permanentf("apikeys: resource %s not found", r.ResourceUUID)
	}
	if err != nil {
		return siteagent.APIKey{}, fmt.Errorf("apikeys: read resource %s: %w", r.ResourceUUID, err)
	}
	if res.State == waldur.ResourceStateTerminating || res.State == waldur.ResourceStateTerminated {
		return siteagent.APIKey{}, siteagent.Permanentf("apikeys: resource %s is %s; its keys are revoked", r.ResourceUUID, res.State)
	}
	b := Binding{CustomerUUID: res.CustomerUUID, ProjectUUID: res.ProjectUUID, OfferingUUID: res.OfferingUUID, ResourceUUID: r.ResourceUUID}
	is, err := p.keys.IssueForResource(ctx, b, p.issueOptions(res.Name, r.ClientID))
	if err != nil {
		return siteagent.APIKey{}, fmt.Errorf("apikeys: issue key %s of resource %s: %w", r.ClientID, r.ResourceUUID, err)
	}
	p.log.LogAttrs(ctx, slog.LevelInfo, "apikeys: issued a key for a client id without a live key",
		slog.String("key", is.Record.Display()), slog.String("client_id", r.ClientID), slog.String("resource", r.ResourceUUID.String()))
	return siteagent.APIKey{ClientID: r.ClientID, Secret: is.Key.Format()}, nil
}
