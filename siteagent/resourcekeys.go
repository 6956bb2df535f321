package siteagent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Resource API keys (Waldur 8.1) are credentials of a resource's backend —
// an LLM gateway's key, an S3 access key — that Waldur stores encrypted so the
// consumer can reveal them. The agent generates each key and applies it to the
// backend first; Waldur only learns the value afterwards.
//
// A Create order's processor returns the keys it made in Result.APIKeys, and
// the agent reports them with report_created. After that Waldur sends
// commands about single keys in resource_api_key_rotation events: create,
// rotate, pause, resume, update and delete (8.1.2 knows only rotate). While
// a command is outstanding the key is Creating, Updating or Deleting and
// names it in pending_action. The agent re-reads the key, dispatches on its
// pending_action (the event's action is only a hint), hands the command to
// Config.APIKeys and acknowledges it: set_key for create and rotate with the
// new value, set_paused, set_ok (resume, update), set_deleted, or set_erred
// when the command failed for good. Commands whose event was lost are picked
// up by a periodic pass over keys with a pending action.

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
// Setting it in Config.APIKeys subscribes the agent to the commands on
// resource API keys. A rotator that is also an APIKeyProcessor gets every
// command; one that is not gets create and rotate (both answered with a new
// value), and the agent marks the other commands erred in Waldur as not
// supported by this agent.
//
// RotateAPIKey must make a new value for the key, apply it to the backend and
// return it (with the same or a new ClientID). A permanent error (Permanent)
// marks the key erred in Waldur, so the consumer sees that the command
// failed; any other error is retried. The old value should keep working
// until the new one is in place, so consumers see no downtime.
type APIKeyRotator interface {
	RotateAPIKey(ctx context.Context, c *APIKeyCommand) (APIKey, error)
}

// APIKeyRotatorFunc adapts a function to APIKeyRotator.
type APIKeyRotatorFunc func(ctx context.Context, c *APIKeyCommand) (APIKey, error)

// RotateAPIKey calls f.
func (f APIKeyRotatorFunc) RotateAPIKey(ctx context.Context, c *APIKeyCommand) (APIKey, error) {
	return f(ctx, c)
}

// APIKeyProcessor carries out every command Waldur sends about a resource
// API key (newer than Waldur 8.1.2), one method per command. Errors work as
// for APIKeyRotator: Permanent marks the key erred, others are retried.
//
//   - CreateAPIKey makes and applies the first value of a key Waldur created
//     (state Creating) and returns it; the agent reports it with set_key.
//   - RotateAPIKey (from APIKeyRotator) replaces a key's value.
//   - PauseAPIKey stops the key from working, keeping it for a resume; the
//     agent reports set_paused.
//   - ResumeAPIKey makes a paused key work again; set_ok.
//   - UpdateAPIKey applies changed settings of the key; set_ok.
//   - DeleteAPIKey removes the key from the backend for good; set_deleted.
type APIKeyProcessor interface {
	APIKeyRotator
	CreateAPIKey(ctx context.Context, c *APIKeyCommand) (APIKey, error)
	PauseAPIKey(ctx context.Context, c *APIKeyCommand) error
	ResumeAPIKey(ctx context.Context, c *APIKeyCommand) error
	UpdateAPIKey(ctx context.Context, c *APIKeyCommand) error
	DeleteAPIKey(ctx context.Context, c *APIKeyCommand) error
}

// APIKeyCommand is a command on a resource API key, as read from Waldur.
type APIKeyCommand struct {
	// Action is the command: create, rotate, pause, resume, update or delete.
	Action            waldur.ResourceAPIKeyAction
	KeyUUID           waldur.UUID
	ResourceUUID      waldur.UUID
	ResourceBackendID string // from the event, else from the key
	ClientID          string // the key's current client id
	// Key is the key's status as read from Waldur (never its value).
	Key *waldur.ResourceAPIKey
}

// APIKeyRotation is the name APIKeyCommand had when rotation was the only
// command.
type APIKeyRotation = APIKeyCommand

// errKeyCommandUnsupported is the message set_erred carries for a command the
// configured APIKeyRotator cannot carry out.
const errKeyCommandUnsupported = "%s is not supported by this agent"

// stuckKeyAge is how long a key may wait for its command before the periodic
// pass handles it again, as Waldur's reference agent does.
const stuckKeyAge = 30 * time.Minute

// setKeyPasses is how many times the agent offers the same new value with
// set_key (retrying transient failures) before it gives up and marks the key
// erred, so that a key never stays waiting while every pass mints a fresh
// secret.
const setKeyPasses = 3

// keyWork is the capability that carries out resource API key commands.
type keyWork struct {
	a *Agent

	mu sync.Mutex
	// minted holds new values applied to the backend whose set_key has not
	// succeeded yet, by key: the next pass offers the same value again
	// instead of applying another.
	minted map[waldur.UUID]*mintedKey
}

type mintedKey struct {
	action waldur.ResourceAPIKeyAction
	key    APIKey
	passes int // set_key attempts that failed
}

func newKeyWork(a *Agent) *keyWork { return &keyWork{a: a, minted: make(map[waldur.UUID]*mintedKey)} }

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
	if !ok {
		return nil
	}
	hint := waldur.ResourceAPIKeyAction(p.Action)
	return w.a.doWork(ctx, keyKey(p.APIKeyUUID), func(ctx context.Context) error {
		return w.run(ctx, p.APIKeyUUID, p.ResourceBackendID, hint, nil)
	})
}

// reconcile replays the commands of keys that have waited long: their event
// was lost or their handling failed transiently. Only keys naming a pending
// action are replayed; nothing is assumed about the others.
func (w *keyWork) reconcile(runCtx, workCtx context.Context) {
	a := w.a
	for _, off := range a.passOfferings() {
		opts := waldur.ListAPIKeysOptions{
			OfferingUUID: off.id,
			States: []waldur.ResourceAPIKeyState{waldur.ResourceAPIKeyStateCreating,
				waldur.ResourceAPIKeyStateUpdating, waldur.ResourceAPIKeyStateDeleting},
			ModifiedBefore: a.cfg.Now().Add(-stuckKeyAge),
		}
		for k, err := range a.client.APIKeys.List(runCtx, opts) {
			if err != nil {
				if runCtx.Err() == nil && !waldur.IsNotFound(err) { // 404: a Waldur without API keys
					a.noteError(err)
					a.log.Warn("siteagent: listing API keys waiting for a command failed", "offering", off.id, "error", err)
				}
				break
			}
			if k.PendingAction == nil {
				continue
			}
			a.submit(runCtx, workCtx, keyKey(k.UUID), func(ctx context.Context) error {
				return w.run(ctx, k.UUID, "", "", &k)
			})
		}
	}
}

// commandOf returns the command a key waits for: its pending_action, or, on
// a Waldur that has none (8.1.2), a rotation when the key is Updating and the
// event asked for one. ok is false when the key waits for nothing, or its
// state does not fit the command (handled already).
func commandOf(k *waldur.ResourceAPIKey, hint waldur.ResourceAPIKeyAction) (waldur.ResourceAPIKeyAction, bool) {
	action := hint
	if k.PendingAction != nil {
		action = *k.PendingAction
	} else if hint != "" && hint != waldur.ResourceAPIKeyActionRotate {
		return "", false // the event's command has been settled meanwhile
	}
	switch action {
	case waldur.ResourceAPIKeyActionCreate:
		return action, k.State == waldur.ResourceAPIKeyStateCreating
	case waldur.ResourceAPIKeyActionDelete:
		return action, k.State == waldur.ResourceAPIKeyStateDeleting
	case "", waldur.ResourceAPIKeyActionRotate:
		return waldur.ResourceAPIKeyActionRotate, k.State == waldur.ResourceAPIKeyStateUpdating
	case waldur.ResourceAPIKeyActionPause, waldur.ResourceAPIKeyActionResume, waldur.ResourceAPIKeyActionUpdate:
		return action, k.State == waldur.ResourceAPIKeyStateUpdating
	}
	return "", false // a command this agent does not know
}

// run reads key id (unless given), carries out the command it waits for and
// acknowledges it. A key that waits for nothing was handled already.
func (w *keyWork) run(ctx context.Context, id waldur.UUID, backendID string, hint waldur.ResourceAPIKeyAction, key *waldur.ResourceAPIKey) error {
	a := w.a
	if key == nil {
		var err error
		if key, err = a.client.APIKeys.Get(ctx, id); err != nil {
			if waldur.IsNotFound(err) {
				w.forget(id)
				return nil // deleted with its resource
			}
			return fmt.Errorf("siteagent: read API key %s: %w", id, err)
		}
	}
	action, ok := commandOf(key, hint)
	if !ok {
		w.forget(id)
		return nil
	}
	c := &APIKeyCommand{Action: action, KeyUUID: id, ResourceUUID: key.ResourceUUID, ResourceBackendID: backendID,
		ClientID: key.ClientID, Key: key}
	if c.ResourceBackendID == "" {
		c.ResourceBackendID = key.ResourceBackendID
	}
	if action == waldur.ResourceAPIKeyActionCreate || action == waldur.ResourceAPIKeyActionRotate {
		return w.setKey(ctx, c)
	}
	if err := w.apply(ctx, c); err != nil {
		return w.failed(ctx, c, err)
	}
	var err error
	switch action {
	case waldur.ResourceAPIKeyActionPause:
		err = a.client.APIKeys.SetPaused(waldur.WithRetrySafe(ctx), id)
	case waldur.ResourceAPIKeyActionDelete:
		err = a.client.APIKeys.SetDeleted(waldur.WithRetrySafe(ctx), id)
	default:
		err = a.client.APIKeys.SetOK(waldur.WithRetrySafe(ctx), id)
	}
	if err != nil && !waldur.IsInvalidState(err) { // invalid state: acknowledged meanwhile
		return fmt.Errorf("siteagent: acknowledge %s of API key %s: %w", action, id, err)
	}
	a.log.Info("siteagent: API key command done", "key", id, "action", action, "client_id", key.ClientID)
	return nil
}

// apply hands a command without a new value to the processor.
func (w *keyWork) apply(ctx context.Context, c *APIKeyCommand) error {
	p, ok := w.a.cfg.APIKeys.(APIKeyProcessor)
	if !ok {
		return Permanentf(errKeyCommandUnsupported, c.Action)
	}
	_, err := callUser(ctx, w.a.cfg.ProcessorTimeout, func(ctx context.Context) (struct{}, error) {
		switch c.Action {
		case waldur.ResourceAPIKeyActionPause:
			return struct{}{}, p.PauseAPIKey(ctx, c)
		case waldur.ResourceAPIKeyActionResume:
			return struct{}{}, p.ResumeAPIKey(ctx, c)
		case waldur.ResourceAPIKeyActionUpdate:
			return struct{}{}, p.UpdateAPIKey(ctx, c)
		default:
			return struct{}{}, p.DeleteAPIKey(ctx, c)
		}
	})
	return err
}

// setKey gets a new value for a create or rotate command, reusing one a
// previous pass applied but could not report, and reports it with set_key.
// After setKeyPasses failed reports, or a refusal no retry can mend, the key
// is marked erred.
func (w *keyWork) setKey(ctx context.Context, c *APIKeyCommand) error {
	a := w.a
	w.mu.Lock()
	m := w.minted[c.KeyUUID]
	if m != nil && m.action != c.Action {
		delete(w.minted, c.KeyUUID) // minted for another command, since settled
		m = nil
	}
	w.mu.Unlock()
	if m == nil {
		nk, err := callUser(ctx, a.cfg.ProcessorTimeout, func(ctx context.Context) (APIKey, error) {
			p, ok := a.cfg.APIKeys.(APIKeyProcessor)
			if ok && c.Action == waldur.ResourceAPIKeyActionCreate {
				return p.CreateAPIKey(ctx, c)
			}
			return a.cfg.APIKeys.RotateAPIKey(ctx, c)
		})
		if err != nil {
			return w.failed(ctx, c, err)
		}
		m = &mintedKey{action: c.Action, key: nk}
		w.mu.Lock()
		w.minted[c.KeyUUID] = m
		w.mu.Unlock()
	}
	clientID := m.key.ClientID
	if clientID == c.ClientID {
		clientID = "" // unchanged: not sent
	}
	err := a.client.APIKeys.SetKey(waldur.WithRetrySafe(ctx), c.KeyUUID, m.key.Secret, clientID)
	if err == nil || waldur.IsInvalidState(err) { // invalid state: a retried call that landed
		w.forget(c.KeyUUID)
		if err == nil {
			a.log.Info("siteagent: API key set", "key", c.KeyUUID, "action", c.Action, "client_id", m.key.ClientID)
		}
		return nil
	}
	w.mu.Lock()
	m.passes++
	giveUp := m.passes >= setKeyPasses || !waldur.IsTransient(err)
	w.mu.Unlock()
	err = fmt.Errorf("siteagent: report new value of API key %s: %w", c.KeyUUID, err)
	if !giveUp || ctx.Err() != nil {
		return err
	}
	w.forget(c.KeyUUID)
	return w.failed(ctx, c, Permanent(err))
}

// failed reports a failed command: a transient error is returned for a
// retry; a permanent one marks the key erred with its message.
func (w *keyWork) failed(ctx context.Context, c *APIKeyCommand, err error) error {
	a := w.a
	if !IsPermanent(err) {
		return fmt.Errorf("siteagent: %s API key %s: %w", c.Action, c.KeyUUID, err)
	}
	msg, _ := errorReport(err, false)
	if err := a.client.APIKeys.SetErred(waldur.WithRetrySafe(ctx), c.KeyUUID, msg); err != nil && !waldur.IsInvalidState(err) {
		return fmt.Errorf("siteagent: mark API key %s erred: %w", c.KeyUUID, err)
	}
	a.noteError(err)
	a.log.Warn("siteagent: API key command failed", "key", c.KeyUUID, "action", c.Action, "error", msg)
	return nil
}

func (w *keyWork) forget(id waldur.UUID) {
	w.mu.Lock()
	delete(w.minted, id)
	w.mu.Unlock()
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
