package siteagent_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// backend is an in-memory backend with members per resource, standing in for
// a processor's real system.
type backend struct {
	mu      sync.Mutex
	members map[waldur.UUID]map[string]siteagent.Member
	adds    int
	removes int
}

func newBackend() *backend {
	return &backend{members: make(map[waldur.UUID]map[string]siteagent.Member)}
}

func (b *backend) ListMembers(_ context.Context, r *waldur.Resource) ([]siteagent.Member, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Collect(maps.Values(b.members[r.UUID])), nil
}

func (b *backend) AddMembers(_ context.Context, r *waldur.Resource, ms []siteagent.Member) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.adds++
	if b.members[r.UUID] == nil {
		b.members[r.UUID] = make(map[string]siteagent.Member)
	}
	for _, m := range ms {
		b.members[r.UUID][m.Username] = siteagent.Member{Username: m.Username, Kind: m.Kind}
	}
	return nil
}

func (b *backend) RemoveMembers(_ context.Context, r *waldur.Resource, ms []siteagent.Member) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.removes++
	for _, m := range ms {
		delete(b.members[r.UUID], m.Username)
	}
	return nil
}

func (b *backend) set(r waldur.UUID, ms ...siteagent.Member) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.members[r] = make(map[string]siteagent.Member)
	for _, m := range ms {
		b.members[r][m.Username] = m
	}
}

// usernames returns the usernames with access to r, sorted.
func (b *backend) usernames(r waldur.UUID) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Sorted(maps.Keys(b.members[r]))
}

func (b *backend) calls() (adds, removes int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.adds, b.removes
}

// syncFixture is a fake Waldur with an offering whose resources live in the
// default project.
type syncFixture struct {
	s        *waldurtest.Server
	offering waldur.UUID
	project  waldur.UUID
}

func newSyncFixture(t *testing.T, spec waldurtest.OfferingSpec, opts ...waldurtest.Option) *syncFixture {
	t.Helper()
	s := waldurtest.NewServer(t, opts...)
	if spec.Components == nil {
		spec.Components = []waldurtest.ComponentSpec{{Type: "cpu"}, {Type: "ram"}}
	}
	f := &syncFixture{s: s, offering: s.AddOffering(spec)}
	f.project = s.AddProject(waldurtest.ProjectSpec{Name: "Climate modelling"})
	return f
}

// config returns a Config with no processor, polling and short intervals.
func (f *syncFixture) config() siteagent.Config {
	return siteagent.Config{
		WaldurURL:    f.s.URL(),
		Token:        f.s.Token(),
		OfferingUUID: f.offering.String(),
		SyncInterval: 20 * time.Millisecond,
		Events:       siteagent.EventsConfig{Mode: siteagent.EventsPolling},
	}
}

// member adds a project member with an offering user in the given state
// (no offering user when state is "") and returns the Waldur user.
func (f *syncFixture) member(username, offeringUsername, state string) waldur.UUID {
	u := f.s.AddUser(waldurtest.UserSpec{Username: username, FullName: username + " Doe"})
	if state != "" {
		f.s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: f.offering, User: u, Username: offeringUsername, State: state})
	}
	f.s.AddProjectMember(f.project, u, "")
	return u
}

func waitUntil(t *testing.T, s *waldurtest.Server, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.WaitFor(ctx, cond), what)
}

// forward delivers the events the fake Waldur emitted since index from, as a
// broker source would (encoded, then decoded), and returns the next index.
func forward(t *testing.T, s *waldurtest.Server, src *chanSource, from int) int {
	t.Helper()
	evs := s.Events()
	for _, ev := range evs[from:] {
		body, err := json.Marshal(ev.Payload)
		require.NoError(t, err)
		e, err := siteagent.DecodeEvent(body, "")
		require.NoError(t, err)
		require.NoError(t, <-src.send(e), "event %s", body)
	}
	return len(evs)
}

func TestMembershipPassAddsAndRemovesTheDifference(t *testing.T) {
	f := newSyncFixture(t, waldurtest.OfferingSpec{})
	res := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Project: f.project, BackendID: "hpc-1"})
	gone := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Project: f.project, State: "Terminated"})
	f.member("alice", "alice01", "OK")
	f.member("bob", "bob01", "OK")
	f.member("carol", "", "Requested")                    // no username yet: no access
	f.member("dave", "dave01", "Pending account linking") // not OK: no access
	f.member("erin", "", "")                              // no offering user at all

	b := newBackend()
	b.set(res,
		siteagent.Member{Username: "bob01"},
		siteagent.Member{Username: "mallory"}, // left the project
		siteagent.Member{Username: "svc-ci", Kind: siteagent.MemberServiceAccount},
	)
	cfg := f.config()
	cfg.Membership = b
	a := start(t, cfg)

	waitUntil(t, f.s, "members in sync", func() bool {
		return slices.Equal(b.usernames(res), []string{"alice01", "bob01", "svc-ci"})
	})
	// Later passes find nothing to change.
	waitUntil(t, f.s, "two more passes", func() bool { return f.s.CallCount("marketplace_provider_resources_team_list") >= 3 })
	adds, removes := b.calls()
	assert.Equal(t, 1, adds, "one AddMembers call for the whole difference, none once in sync")
	assert.Equal(t, 1, removes)
	assert.Empty(t, b.usernames(gone), "terminated resources are left alone")
	st := a.Stats()
	assert.Equal(t, int64(1), st.MembersAdded)
	assert.Equal(t, int64(1), st.MembersRemoved)

	for _, c := range f.s.Calls() {
		if c.OperationID == "marketplace_provider_resources_list" {
			assert.Equal(t, []string{"OK", "Erred"}, c.Query["state"])
			assert.Equal(t, "300", c.Query.Get("page_size"))
		}
	}
}

func TestMembershipFollowsEvents(t *testing.T) {
	f := newSyncFixture(t, waldurtest.OfferingSpec{})
	res := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Project: f.project, BackendID: "hpc-1"})
	alice := f.member("alice", "alice01", "OK")

	b := newBackend()
	src := newChanSource()
	cfg := f.config()
	cfg.Membership = b
	cfg.SyncInterval = time.Hour // only events drive the work after the first pass
	cfg.Events = siteagent.EventsConfig{Source: src}
	start(t, cfg)
	<-src.ready
	waitUntil(t, f.s, "first pass", func() bool { return slices.Equal(b.usernames(res), []string{"alice01"}) })
	seen := len(f.s.Events())

	// A new project member with an OK offering user: user_role adds them.
	f.member("bob", "bob01", "OK")
	seen = forward(t, f.s, src, seen)
	assert.Equal(t, []string{"alice01", "bob01"}, b.usernames(res))

	// A member leaves the project: user_role removes them.
	f.s.RemoveProjectMember(f.project, alice)
	seen = forward(t, f.s, src, seen)
	assert.Equal(t, []string{"bob01"}, b.usernames(res))

	// Service and course accounts come and go with their events.
	for _, typ := range []string{"service_account", "course_account"} {
		f.s.Emit(typ, f.offering, map[string]any{"account_uuid": waldur.Hex(waldur.UUID{7}), "account_username": "acct-" + typ,
			"scope_type": "project", "project_uuid": waldur.Hex(f.project), "project_name": "Climate modelling", "action": "create"})
	}
	seen = forward(t, f.s, src, seen)
	assert.Equal(t, []string{"acct-course_account", "acct-service_account", "bob01"}, b.usernames(res))
	f.s.Emit("service_account", f.offering, map[string]any{"account_uuid": waldur.Hex(waldur.UUID{7}),
		"account_username": "acct-service_account", "project_uuid": waldur.Hex(f.project), "action": "delete"})
	seen = forward(t, f.s, src, seen)
	assert.Equal(t, []string{"acct-course_account", "bob01"}, b.usernames(res))
	b.mu.Lock()
	assert.Equal(t, siteagent.MemberCourseAccount, b.members[res]["acct-course_account"].Kind)
	b.mu.Unlock()

	// restrict_member_access removes everyone, accounts included, and keeps
	// them out; lifting it brings the users back.
	restrict := true
	f.s.ChangeResource(res, waldurtest.ResourceChange{RestrictMemberAccess: &restrict})
	seen = forward(t, f.s, src, seen)
	assert.Empty(t, b.usernames(res))
	f.member("carol", "carol01", "OK")
	seen = forward(t, f.s, src, seen)
	assert.Empty(t, b.usernames(res), "no one is added while member access is restricted")
	restrict = false
	f.s.ChangeResource(res, waldurtest.ResourceChange{RestrictMemberAccess: &restrict})
	seen = forward(t, f.s, src, seen)
	assert.Equal(t, []string{"bob01", "carol01"}, b.usernames(res))

	// A lost event is made good by offering_resources_sync: a full pass, now.
	f.member("dan", "dan01", "OK")
	seen = len(f.s.Events()) // dan's user_role event never arrives
	f.s.Emit("offering_resources_sync", f.offering, map[string]any{"requested_by_user_uuid": waldur.Hex(waldur.UUID{9})})
	forward(t, f.s, src, seen)
	assert.Equal(t, []string{"bob01", "carol01", "dan01"}, b.usernames(res))
}

func TestMembershipUsernameSetAddsTheUser(t *testing.T) {
	f := newSyncFixture(t, waldurtest.OfferingSpec{})
	res := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Project: f.project, BackendID: "hpc-1"})
	u := f.s.AddUser(waldurtest.UserSpec{Username: "frank"})
	ou := f.s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: f.offering, User: u})
	f.s.AddProjectMember(f.project, u, "")

	b := newBackend()
	src := newChanSource()
	cfg := f.config()
	cfg.Membership = b
	cfg.SyncInterval = time.Hour
	cfg.Events = siteagent.EventsConfig{Source: src}
	a := start(t, cfg)
	<-src.ready
	waitUntil(t, f.s, "first pass", func() bool { return f.s.CallCount("marketplace_provider_resources_team_list") >= 1 })
	seen := len(f.s.Events())
	require.Empty(t, b.usernames(res))

	// Someone (Waldur, or another agent) sets the username: the event names
	// the user's resources by backend id.
	require.NoError(t, f.s.Client().OfferingUsers.SetUsername(context.Background(), ou, "frank01"))
	forward(t, f.s, src, seen)
	assert.Equal(t, []string{"frank01"}, b.usernames(res))
	assert.Equal(t, int64(1), a.Stats().MembersAdded)
}

func TestMembershipFailureIsRetriedNotFatal(t *testing.T) {
	f := newSyncFixture(t, waldurtest.OfferingSpec{})
	res := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Project: f.project})
	f.member("alice", "alice01", "OK")
	b := newBackend()
	var mu sync.Mutex
	failures := 2
	cfg := f.config()
	cfg.Membership = siteagent.Membership{
		List: siteagent.MemberListerFunc(func(ctx context.Context, r *waldur.Resource) ([]siteagent.Member, error) {
			mu.Lock()
			defer mu.Unlock()
			if failures > 0 {
				failures--
				return nil, context.DeadlineExceeded // the backend is slow today
			}
			return b.ListMembers(ctx, r)
		}),
		Add:    b,
		Remove: b,
		Info:   siteagent.ProcessorInfo{Name: "LDAPGroups", BackendType: "ldap"},
	}
	a := start(t, cfg)
	waitUntil(t, f.s, "member added after failures", func() bool { return slices.Equal(b.usernames(res), []string{"alice01"}) })
	assert.Equal(t, int64(2), a.Stats().MembershipFailed)
	procs := f.s.Processors()
	require.Len(t, procs, 1)
	assert.Equal(t, "LDAPGroups", procs[0].Name)
	assert.Equal(t, "membership_sync", procs[0].ServiceName)
}

func TestMembershipPassReadsEachProjectsTeamOnce(t *testing.T) {
	f := newSyncFixture(t, waldurtest.OfferingSpec{})
	other := f.s.AddProject(waldurtest.ProjectSpec{Name: "Ocean"})
	a1 := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Project: f.project})
	a2 := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Project: f.project})
	b1 := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Project: other})
	f.member("alice", "alice01", "OK")
	u := f.s.AddUser(waldurtest.UserSpec{Username: "bob"})
	f.s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: f.offering, User: u, Username: "bob01"})
	f.s.AddProjectMember(other, u, "")

	b := newBackend()
	cfg := f.config()
	cfg.Membership = b
	cfg.SyncInterval = time.Hour
	start(t, cfg)
	waitUntil(t, f.s, "all synced", func() bool {
		return len(b.usernames(a1)) == 1 && len(b.usernames(a2)) == 1 && len(b.usernames(b1)) == 1
	})
	assert.Equal(t, []string{"alice01"}, b.usernames(a2))
	assert.Equal(t, []string{"bob01"}, b.usernames(b1))
	assert.Equal(t, 2, f.s.CallCount("marketplace_provider_resources_team_list"), "one team read per project")
}
