package siteagent_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// accounts is an OfferingUserProcessor whose answers the test scripts per
// Waldur username; it records every call.
type accounts struct {
	mu      sync.Mutex
	answer  func(u *waldur.OfferingUser, call int) (siteagent.Account, error)
	calls   map[string]int
	updates []siteagent.OfferingUserChange
}

func (p *accounts) CreateAccount(_ context.Context, u *waldur.OfferingUser) (siteagent.Account, error) {
	p.mu.Lock()
	if p.calls == nil {
		p.calls = make(map[string]int)
	}
	p.calls[u.UserUsername]++
	n := p.calls[u.UserUsername]
	p.mu.Unlock()
	return p.answer(u, n)
}

func (p *accounts) UpdateOfferingUser(_ context.Context, _ *waldur.OfferingUser, ch siteagent.OfferingUserChange) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.updates = append(p.updates, ch)
	return nil
}

func (p *accounts) count(username string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.calls[username]
}

// providerUsernames is an offering on which the service provider makes
// usernames.
var providerUsernames = waldurtest.OfferingSpec{PluginOptions: map[string]any{
	"service_provider_can_create_offering_user": true,
	"username_generation_policy":                "service_provider",
}}

func (f *syncFixture) offeringUser(username, state, siteUsername string) waldur.UUID {
	u := f.s.AddUser(waldurtest.UserSpec{Username: username})
	return f.s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: f.offering, User: u, State: state, Username: siteUsername})
}

func waitOfferingUser(t *testing.T, s *waldurtest.Server, id waldur.UUID, state waldur.OfferingUserState) waldur.OfferingUser {
	t.Helper()
	waitUntil(t, s, "offering user reaches "+string(state), func() bool {
		u, _ := s.OfferingUser(id)
		return u.State == state
	})
	u, _ := s.OfferingUser(id)
	return u
}

// actions returns the offering-user operations called on id, in order.
func actions(s *waldurtest.Server, id waldur.UUID) []string {
	const prefix = "marketplace_offering_users_"
	var out []string
	for _, c := range s.Calls() {
		if c.Method != "GET" && strings.HasPrefix(c.OperationID, prefix) &&
			(strings.Contains(c.Path, waldur.Hex(id)) || strings.Contains(c.Path, id.String())) {
			out = append(out, strings.TrimPrefix(c.OperationID, prefix))
		}
	}
	return out
}

func TestOfferingUserPaths(t *testing.T) {
	f := newSyncFixture(t, providerUsernames)
	happy := f.offeringUser("alice", "Requested", "")
	linking := f.offeringUser("bob", "Requested", "")
	validation := f.offeringUser("carol", "Requested", "")
	broken := f.offeringUser("dave", "Requested", "")
	flaky := f.offeringUser("erin", "Requested", "")
	restricted := f.s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: f.offering, IsRestricted: true})
	done := f.offeringUser("frank", "OK", "frank01")

	p := &accounts{answer: func(u *waldur.OfferingUser, call int) (siteagent.Account, error) {
		switch u.UserUsername {
		case "alice":
			return siteagent.AccountReady("alice01"), nil
		case "bob":
			if call < 3 {
				return siteagent.AccountPendingLinking("Link your university account", "https://idp.example.org/link"), nil
			}
			return siteagent.AccountReady("bob01"), nil
		case "carol":
			if call < 3 {
				return siteagent.AccountPendingValidation("We need a copy of your contract", ""), nil
			}
			return siteagent.AccountReady("carol01"), nil
		case "dave":
			return siteagent.Account{}, siteagent.Permanentf("dave is banned from the cluster")
		case "erin":
			if call < 3 {
				return siteagent.Account{}, errors.New("LDAP unreachable")
			}
			return siteagent.AccountReady("erin01"), nil
		}
		return siteagent.Account{}, siteagent.Permanentf("unexpected user %s", u.UserUsername)
	}}
	cfg := f.config()
	cfg.OfferingUsers = p
	a := start(t, cfg)

	u := waitOfferingUser(t, f.s, happy, waldur.OfferingUserStateOK)
	require.NotNil(t, u.Username)
	assert.Equal(t, "alice01", *u.Username)
	// Setting the username moved the user to OK in Waldur: no set_ok after it.
	assert.Equal(t, []string{"begin_creating", "partial_update"}, actions(f.s, happy))

	// Pending linking: the user is told where to go; later the account is
	// ready and the user completed.
	u = waitOfferingUser(t, f.s, linking, waldur.OfferingUserStateOK)
	assert.Equal(t, "bob01", *u.Username)
	assert.Equal(t, []string{"begin_creating", "set_pending_account_linking", "partial_update"}, actions(f.s, linking),
		"the pending state is set once, not on every pass")
	for _, c := range f.s.Calls() {
		if c.OperationID == "marketplace_offering_users_set_pending_account_linking" {
			assert.JSONEq(t, `{"comment": "Link your university account", "comment_url": "https://idp.example.org/link"}`, string(c.Body))
		}
	}

	u = waitOfferingUser(t, f.s, validation, waldur.OfferingUserStateOK)
	assert.Equal(t, "carol01", *u.Username)
	assert.Equal(t, []string{"begin_creating", "set_pending_additional_validation", "partial_update"}, actions(f.s, validation))

	waitOfferingUser(t, f.s, broken, waldur.OfferingUserStateErrorCreating)
	u = waitOfferingUser(t, f.s, flaky, waldur.OfferingUserStateOK)
	assert.Equal(t, "erin01", *u.Username)
	assert.Equal(t, 3, p.count("erin"), "a transient error is tried again on the next pass")

	// An erred user is not retried by every pass of this process.
	calls := f.s.CallCount("marketplace_offering_users_list")
	waitUntil(t, f.s, "three more passes", func() bool { return f.s.CallCount("marketplace_offering_users_list") >= calls+3 })
	assert.Equal(t, 1, p.count("dave"))
	assert.Equal(t, []string{"begin_creating", "set_error_creating"}, actions(f.s, broken))

	assert.Empty(t, actions(f.s, restricted))
	assert.Empty(t, actions(f.s, done))
	for _, c := range f.s.Calls() {
		assert.Less(t, c.Status, 300, "no refused call: %s %s", c.Method, c.Path)
	}
	st := a.Stats()
	assert.Equal(t, int64(4), st.OfferingUsersCreated)
	assert.Equal(t, int64(2), st.OfferingUsersPending)
	assert.Equal(t, int64(1), st.OfferingUsersErred)
	assert.Equal(t, int64(2), st.OfferingUsersFailed)
}

func TestOfferingUserCompletedWhenWaldurMovedIt(t *testing.T) {
	f := newSyncFixture(t, providerUsernames)
	// A pending user who already has the username: no PATCH, so the agent
	// completes it with set_validation_complete.
	pending := f.offeringUser("alice", "Pending additional validation", "alice01")
	// The same, but someone completes it while the processor runs: the
	// refused transition leads to a re-read, not to an error.
	raced := f.offeringUser("bob", "Pending account linking", "bob01")
	client := f.s.Client()
	p := &accounts{answer: func(u *waldur.OfferingUser, _ int) (siteagent.Account, error) {
		if u.UserUsername == "bob" {
			if err := client.OfferingUsers.SetValidationComplete(context.Background(), u.UUID); err != nil {
				return siteagent.Account{}, err
			}
		}
		return siteagent.AccountReady(*u.Username), nil
	}}
	cfg := f.config()
	cfg.OfferingUsers = p
	a := start(t, cfg)
	waitOfferingUser(t, f.s, pending, waldur.OfferingUserStateOK)
	waitOfferingUser(t, f.s, raced, waldur.OfferingUserStateOK)
	waitUntil(t, f.s, "both counted", func() bool { return a.Stats().OfferingUsersCreated == 2 })
	assert.Equal(t, []string{"set_validation_complete"}, actions(f.s, pending))
	assert.Equal(t, []string{"set_validation_complete", "set_validation_complete"}, actions(f.s, raced),
		"the processor's call, then the agent's, refused")
	assert.Equal(t, 1, p.count("bob"), "after the refusal the agent re-read the user and was done")
	assert.Zero(t, a.Stats().OfferingUsersFailed)
}

func TestOfferingUsersLeftAloneUnlessTheProviderMakesUsernames(t *testing.T) {
	for name, opts := range map[string]map[string]any{
		"not allowed":     {},
		"waldur policy":   {"service_provider_can_create_offering_user": true, "username_generation_policy": "waldur_username"},
		"explicitly off":  {"service_provider_can_create_offering_user": false},
		"anonymized only": {"service_provider_can_create_offering_user": true, "username_generation_policy": "anonymized"},
	} {
		t.Run(name, func(t *testing.T) {
			f := newSyncFixture(t, waldurtest.OfferingSpec{PluginOptions: opts})
			id := f.offeringUser("alice", "Requested", "")
			p := &accounts{answer: func(*waldur.OfferingUser, int) (siteagent.Account, error) {
				return siteagent.AccountReady("x"), nil
			}}
			cfg := f.config()
			cfg.OfferingUsers = p
			start(t, cfg)
			waitUntil(t, f.s, "three passes", func() bool { return f.s.CallCount("marketplace_provider_offerings_retrieve") >= 4 })
			assert.Zero(t, p.count("alice"))
			assert.Empty(t, actions(f.s, id))
			assert.Zero(t, f.s.CallCount("marketplace_offering_users_list"), "nothing to list")
		})
	}
}

func TestOfferingUserEvents(t *testing.T) {
	f := newSyncFixture(t, providerUsernames)
	src := newChanSource()
	p := &accounts{answer: func(u *waldur.OfferingUser, _ int) (siteagent.Account, error) {
		return siteagent.AccountReady(u.UserUsername + "01"), nil
	}}
	cfg := f.config()
	cfg.OfferingUsers = p
	cfg.SyncInterval = time.Hour
	cfg.Events = siteagent.EventsConfig{Source: src}
	start(t, cfg)
	<-src.ready
	waitUntil(t, f.s, "first pass", func() bool { return f.s.CallCount("marketplace_offering_users_list") >= 1 })

	// A new offering user, announced by its create event.
	id := f.offeringUser("alice", "Requested", "")
	send := func(payload map[string]any) {
		seen := len(f.s.Events())
		f.s.Emit("offering_user", f.offering, payload)
		forward(t, f.s, src, seen)
	}
	send(map[string]any{"offering_user_uuid": waldur.Hex(id), "action": "create"})
	u, _ := f.s.OfferingUser(id)
	assert.Equal(t, waldur.OfferingUserStateOK, u.State)
	assert.Equal(t, "alice01", *u.Username)

	// Attribute updates go to the optional updater.
	send(map[string]any{"offering_user_uuid": waldur.Hex(id), "action": "attribute_update",
		"changed_attributes": []string{"email"}, "attributes": map[string]any{"email": "alice@example.org"}})
	p.mu.Lock()
	require.Len(t, p.updates, 1)
	assert.Equal(t, "attribute_update", p.updates[0].Action)
	assert.Equal(t, []string{"email"}, p.updates[0].ChangedAttributes)
	assert.Equal(t, "alice@example.org", p.updates[0].Attributes["email"])
	p.mu.Unlock()

	// The username_set event the agent caused costs nothing.
	f.s.ResetCalls()
	send(map[string]any{"offering_user_uuid": waldur.Hex(id), "action": "username_set", "state": "OK", "username": "alice01"})
	assert.Empty(t, f.s.Calls())
	assert.Equal(t, 1, p.count("alice"))
}

func TestOfferingUserWithARefusedUsernameErrs(t *testing.T) {
	f := newSyncFixture(t, providerUsernames)
	id := f.offeringUser("alice", "Requested", "")
	p := &accounts{answer: func(*waldur.OfferingUser, int) (siteagent.Account, error) {
		return siteagent.AccountReady(strings.Repeat("a", 101)), nil // Waldur allows 100 characters
	}}
	cfg := f.config()
	cfg.OfferingUsers = p
	a := start(t, cfg)
	waitOfferingUser(t, f.s, id, waldur.OfferingUserStateErrorCreating)
	assert.Equal(t, []string{"begin_creating", "partial_update", "set_error_creating"}, actions(f.s, id))
	waitUntil(t, f.s, "counted", func() bool { return a.Stats().OfferingUsersErred == 1 })
	assert.Contains(t, a.Stats().LastError, "refused")
}
