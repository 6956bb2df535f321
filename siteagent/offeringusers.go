package siteagent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Offering users: a Waldur user's account on an offering, holding the site
// username. When the offering's plugin options say
// service_provider_can_create_offering_user with the username generation
// policy service_provider (the default), the site agent chooses usernames and
// walks each offering user through Waldur's states; with other policies
// Waldur makes usernames itself and the agent leaves offering users alone.

// OfferingUserProcessor creates site accounts for offering users and says
// which username each got. Setting it in Config.OfferingUsers makes the agent,
// for offerings that let the service provider create offering users:
//
//   - move a Requested (or, once per agent process, an Error creating) user
//     to Creating with begin_creating and call CreateAccount;
//   - for AccountReady(username): set the username (which makes Waldur emit
//     the username_set event and usually move the user to OK), then finish
//     with set_ok or set_validation_complete if Waldur has not;
//   - for AccountPendingLinking or AccountPendingValidation: move the user to
//     Pending account linking or Pending additional validation with the
//     comment and URL shown to the user. Pending users are offered to
//     CreateAccount again on every pass, until it answers AccountReady;
//   - for an error wrapped with Permanent: set_error_creating, the message
//     logged; any other error is transient and the user is tried again later.
//
// The agent acts on offering_user events and every SyncInterval on the
// unrestricted users in Requested, Creating, pending or Error creating states.
// Waldur is the truth: every step acts on the state just read, and a
// transition Waldur refuses (the user moved meanwhile) leads to a re-read,
// never to the same transition again. CreateAccount must be idempotent: it
// is called again for a user in Creating after a crash.
type OfferingUserProcessor interface {
	CreateAccount(ctx context.Context, u *waldur.OfferingUser) (Account, error)
}

// OfferingUserProcessorFunc adapts a function to OfferingUserProcessor.
type OfferingUserProcessorFunc func(ctx context.Context, u *waldur.OfferingUser) (Account, error)

// CreateAccount calls f.
func (f OfferingUserProcessorFunc) CreateAccount(ctx context.Context, u *waldur.OfferingUser) (Account, error) {
	return f(ctx, u)
}

// OfferingUserUpdater is an optional interface of an OfferingUserProcessor:
// offering_user events that report a change of an offering user
// (actions "update" and "attribute_update") are forwarded to it, with the user
// as Waldur has it now. An error is transient: the event is delivered again.
type OfferingUserUpdater interface {
	UpdateOfferingUser(ctx context.Context, u *waldur.OfferingUser, ch OfferingUserChange) error
}

// OfferingUserChange is what an offering_user event says changed.
type OfferingUserChange struct {
	// Action is "update" or "attribute_update".
	Action string
	// ChangedFields names the offering user's changed fields ("update").
	ChangedFields []string
	// ChangedAttributes names the user's changed attributes and Attributes
	// holds their values ("attribute_update").
	ChangedAttributes []string
	Attributes        map[string]any
}

// Account is an OfferingUserProcessor's answer: AccountReady,
// AccountPendingLinking or AccountPendingValidation.
type Account struct {
	outcome    accountOutcome
	username   string
	comment    string
	commentURL string
}

type accountOutcome int

const (
	accountReady accountOutcome = iota + 1
	accountLinking
	accountValidation
)

// AccountReady says the account exists on the backend with this username.
// The agent sets it in Waldur and completes the offering user.
func AccountReady(username string) Account {
	return Account{outcome: accountReady, username: username}
}

// AccountPendingLinking says the user must first link an existing account;
// comment and commentURL (where to do it, may be "") are shown to the user.
// No username is set yet: setting one would complete the user in Waldur.
func AccountPendingLinking(comment, commentURL string) Account {
	return Account{outcome: accountLinking, comment: comment, commentURL: commentURL}
}

// AccountPendingValidation says the user must pass an additional validation
// first; comment and commentURL are shown to the user.
func AccountPendingValidation(comment, commentURL string) Account {
	return Account{outcome: accountValidation, comment: comment, commentURL: commentURL}
}

// Username is the username of an AccountReady answer, else "".
func (a Account) Username() string { return a.username }

// String describes the answer for logs.
func (a Account) String() string {
	switch a.outcome {
	case accountReady:
		return "ready as " + a.username
	case accountLinking:
		return "pending account linking"
	case accountValidation:
		return "pending additional validation"
	}
	return "no answer"
}

// creationStates are the states in which an offering user waits for the
// agent.
var creationStates = []waldur.OfferingUserState{
	waldur.OfferingUserStateRequested,
	waldur.OfferingUserStateCreating,
	waldur.OfferingUserStatePendingAccountLinking,
	waldur.OfferingUserStatePendingAdditionalValidation,
	waldur.OfferingUserStateErrorCreating,
}

// offeringUserWork is the capability that creates offering users.
type offeringUserWork struct {
	a *Agent
	p OfferingUserProcessor

	mu sync.Mutex
	// erred holds users this process set to Error creating: the periodic pass
	// does not retry them, so a permanent failure costs one attempt per
	// process, not one per pass.
	erred map[waldur.UUID]bool
}

func newOfferingUserWork(a *Agent) *offeringUserWork {
	return &offeringUserWork{a: a, p: a.cfg.OfferingUsers, erred: make(map[waldur.UUID]bool)}
}

func (w *offeringUserWork) registration() registration {
	return registration{service: serviceMembership, processors: []ProcessorInfo{describe(w.p)}}
}

func (w *offeringUserWork) objectTypes() []waldur.ObservableObjectType {
	return []waldur.ObservableObjectType{waldur.ObservableObjectTypeOfferingUser}
}

func (w *offeringUserWork) interval() time.Duration { return w.a.cfg.SyncInterval }

func offeringUserKey(id waldur.UUID) string { return "offering-user:" + waldur.Hex(id) }

// createsUsernames reports whether the offering lets the agent create
// offering users with usernames of its choosing.
func createsUsernames(off *offering) bool {
	d := off.snapshot()
	if d == nil || !d.PluginOptions.ServiceProviderCanCreateOfferingUser {
		return false
	}
	p := d.PluginOptions.UsernameGenerationPolicy
	return p == "" || p == waldur.UsernameGenerationPolicyServiceProvider
}

func (w *offeringUserWork) handleEvent(ctx context.Context, e Event) error {
	p, ok := e.Payload.(*OfferingUserEvent)
	if !ok || p.OfferingUserUUID == (waldur.UUID{}) || p.Action == "delete" {
		return nil
	}
	if p.Action == "username_set" && p.State == string(waldur.OfferingUserStateOK) {
		return nil // done, most likely by this agent
	}
	return w.a.doWork(ctx, offeringUserKey(p.OfferingUserUUID), func(ctx context.Context) error {
		u, err := w.a.client.OfferingUsers.Get(ctx, p.OfferingUserUUID)
		if err != nil {
			if waldur.IsNotFound(err) {
				return nil
			}
			return fmt.Errorf("siteagent: read offering user %s: %w", p.OfferingUserUUID, err)
		}
		off := w.a.byID[u.OfferingUUID]
		if off == nil {
			return nil
		}
		if up, ok := w.p.(OfferingUserUpdater); ok && (p.Action == "update" || p.Action == "attribute_update") {
			ch := OfferingUserChange{Action: p.Action, ChangedFields: p.ChangedFields,
				ChangedAttributes: p.ChangedAttributes, Attributes: p.Attributes}
			_, err := callUser(ctx, w.a.cfg.ProcessorTimeout, func(ctx context.Context) (struct{}, error) {
				return struct{}{}, up.UpdateOfferingUser(ctx, u, ch)
			})
			if err != nil && !IsPermanent(err) {
				return fmt.Errorf("siteagent: update offering user %s: %w", u.UUID, err)
			}
			if err != nil {
				w.a.log.Warn("siteagent: offering user update failed", "offering_user", u.UUID, "error", err)
			}
		}
		if !createsUsernames(off) || u.IsRestricted || w.erredHere(u) {
			return nil
		}
		return w.counted(w.advance(ctx, u))
	})
}

func (w *offeringUserWork) reconcile(runCtx, workCtx context.Context) {
	a := w.a
	for _, off := range a.passOfferings() {
		if err := a.loadOffering(runCtx, off); err != nil {
			if runCtx.Err() == nil {
				a.noteError(err)
				a.log.Warn("siteagent: offering users: offering not readable", "offering", off.id, "error", err)
			}
			continue
		}
		if !createsUsernames(off) {
			a.log.Debug("siteagent: offering does not let the provider create offering users", "offering", off.id)
			continue
		}
		unrestricted := false
		b := a.newBatch(runCtx, workCtx)
		opts := waldur.ListOfferingUsersOptions{OfferingUUID: off.id, States: creationStates, IsRestricted: &unrestricted}
		for u, err := range a.client.OfferingUsers.List(runCtx, opts) {
			if err != nil {
				if runCtx.Err() == nil {
					a.noteError(err)
					a.log.Warn("siteagent: listing offering users failed", "offering", off.id, "error", err)
				}
				break
			}
			if w.erredHere(&u) {
				continue
			}
			if !b.submit(offeringUserKey(u.UUID), func(ctx context.Context) error { return w.counted(w.advance(ctx, &u)) }) {
				break
			}
		}
		b.wait()
	}
}

func (w *offeringUserWork) erredHere(u *waldur.OfferingUser) bool {
	if u.State != waldur.OfferingUserStateErrorCreating {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.erred[u.UUID]
}

func (w *offeringUserWork) counted(err error) error {
	if err != nil {
		w.a.counters.offeringUsersFailed.Add(1)
		w.a.noteError(err)
		w.a.log.Warn("siteagent: offering user not created yet; will try again", "error", err)
	}
	return err
}

// advance takes an offering user as far as the agent can now. It returns a
// transient error when it should be tried again later.
func (w *offeringUserWork) advance(ctx context.Context, u *waldur.OfferingUser) error {
	ous := w.a.client.OfferingUsers
	for range maxSteps {
		switch u.State {
		case waldur.OfferingUserStateRequested, waldur.OfferingUserStateErrorCreating:
			err := ous.BeginCreating(waldur.WithRetrySafe(ctx), u.UUID)
			if err == nil {
				next := *u
				next.State = waldur.OfferingUserStateCreating
				u = &next
				continue
			}
			if u, err = w.reread(ctx, u, "begin creating", err); err != nil {
				return err
			}
		case waldur.OfferingUserStateCreating, waldur.OfferingUserStatePendingAccountLinking,
			waldur.OfferingUserStatePendingAdditionalValidation:
			return w.create(ctx, u)
		default:
			return nil // OK, or on its way out: nothing to create
		}
	}
	return fmt.Errorf("siteagent: offering user %s: state kept changing under the agent (now %s)", u.UUID, u.State)
}

// create asks the processor for the account and records its answer.
func (w *offeringUserWork) create(ctx context.Context, u *waldur.OfferingUser) error {
	a := w.a
	acc, err := callUser(ctx, a.cfg.ProcessorTimeout, func(ctx context.Context) (Account, error) {
		return w.p.CreateAccount(ctx, u)
	})
	if err == nil && acc.outcome == accountReady && acc.username == "" {
		err = Permanentf("the processor answered AccountReady with an empty username")
	}
	if err == nil && acc.outcome == 0 {
		err = Permanentf("the processor answered with a zero Account")
	}
	if err != nil {
		if IsPermanent(err) {
			return w.fail(ctx, u, err)
		}
		return fmt.Errorf("siteagent: create account of offering user %s: %w", u.UUID, err)
	}
	rctx := waldur.WithRetrySafe(ctx)
	switch acc.outcome {
	case accountLinking, accountValidation:
		want, set, what := waldur.OfferingUserStatePendingAccountLinking, a.client.OfferingUsers.SetPendingAccountLinking, "set pending account linking"
		if acc.outcome == accountValidation {
			want, set, what = waldur.OfferingUserStatePendingAdditionalValidation, a.client.OfferingUsers.SetPendingAdditionalValidation, "set pending additional validation"
		}
		if u.State == want {
			return nil // the user was told already
		}
		if err := set(rctx, u.UUID, acc.comment, acc.commentURL); err != nil {
			fresh, rerr := w.reread(ctx, u, what, err)
			if rerr != nil {
				return rerr
			}
			if fresh.State != want && fresh.State != waldur.OfferingUserStateOK {
				return fmt.Errorf("siteagent: %s for offering user %s: it is %s now", what, u.UUID, fresh.State)
			}
			return nil
		}
		a.counters.offeringUsersPending.Add(1)
		a.log.Info("siteagent: offering user pending", "offering_user", u.UUID, "state", want)
		return nil
	}
	if u.Username == nil || *u.Username != acc.username {
		if err := a.client.OfferingUsers.SetUsername(rctx, u.UUID, acc.username); err != nil {
			var apiErr *waldur.APIError
			if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest {
				return w.fail(ctx, u, Permanent(fmt.Errorf("username %q refused: %w", acc.username, err)))
			}
			return fmt.Errorf("siteagent: set username of offering user %s: %w", u.UUID, err)
		}
		// Waldur moves a user that gets a username to OK by itself (in most
		// states), so read what it did before completing.
		fresh, err := a.client.OfferingUsers.Get(ctx, u.UUID)
		if err != nil {
			return fmt.Errorf("siteagent: re-read offering user %s: %w", u.UUID, err)
		}
		u = fresh
	}
	return w.complete(ctx, u)
}

// complete brings a user who has its username to OK.
func (w *offeringUserWork) complete(ctx context.Context, u *waldur.OfferingUser) error {
	a := w.a
	var err error
	switch u.State {
	case waldur.OfferingUserStateOK:
	case waldur.OfferingUserStateCreating:
		err = a.client.OfferingUsers.SetOK(waldur.WithRetrySafe(ctx), u.UUID)
	case waldur.OfferingUserStatePendingAccountLinking, waldur.OfferingUserStatePendingAdditionalValidation:
		err = a.client.OfferingUsers.SetValidationComplete(waldur.WithRetrySafe(ctx), u.UUID)
	default:
		return nil
	}
	if err != nil {
		fresh, rerr := w.reread(ctx, u, "complete", err)
		if rerr != nil {
			return rerr
		}
		if fresh.State != waldur.OfferingUserStateOK {
			return fmt.Errorf("siteagent: complete offering user %s: it is %s now", u.UUID, fresh.State)
		}
	}
	a.counters.offeringUsersCreated.Add(1)
	a.log.Info("siteagent: offering user created", "offering_user", u.UUID, "username", deref(u.Username))
	return nil
}

// fail records a permanent failure with set_error_creating.
func (w *offeringUserWork) fail(ctx context.Context, u *waldur.OfferingUser, cause error) error {
	a := w.a
	if err := a.client.OfferingUsers.SetErrorCreating(waldur.WithRetrySafe(ctx), u.UUID); err != nil {
		fresh, rerr := w.reread(ctx, u, "set error creating", err)
		if rerr != nil {
			return rerr
		}
		a.log.Warn("siteagent: creating the offering user failed, but it moved meanwhile",
			"offering_user", u.UUID, "state", fresh.State, "error", cause)
		return nil
	}
	w.mu.Lock()
	w.erred[u.UUID] = true
	w.mu.Unlock()
	a.counters.offeringUsersErred.Add(1)
	a.noteError(cause)
	a.log.Warn("siteagent: creating the offering user failed", "offering_user", u.UUID, "error", cause)
	return nil
}

// reread handles a refused transition: an invalid-state answer means the
// user moved (maybe by an earlier attempt of ours), so it is read again; any
// other error is returned.
func (w *offeringUserWork) reread(ctx context.Context, u *waldur.OfferingUser, action string, err error) (*waldur.OfferingUser, error) {
	if !waldur.IsInvalidState(err) {
		return nil, fmt.Errorf("siteagent: %s offering user %s: %w", action, u.UUID, err)
	}
	fresh, rerr := w.a.client.OfferingUsers.Get(ctx, u.UUID)
	if rerr != nil {
		return nil, fmt.Errorf("siteagent: re-read offering user %s after %s: %w", u.UUID, action, rerr)
	}
	w.a.log.Debug("siteagent: offering user moved meanwhile", "offering_user", u.UUID, "action", action, "state", fresh.State)
	return fresh, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
