package siteagent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Membership: who may use a backend resource. In Waldur, the members of a
// resource's project may use it once they have an offering user with a
// username in state OK; the resource team (GET …/team/) lists them. The agent
// reads the team, asks the processor who has access on the backend, and adds
// and removes the difference.

// MembershipProcessor gives and takes away access to backend resources.
// Setting it in Config.Membership makes the agent keep every OK or Erred
// resource of the offering in step with Waldur:
//
//   - the wanted members are the resource team's users who have an offering
//     username in state OK (none at all while the resource's
//     restrict_member_access flag is set);
//   - ListMembers tells who has access on the backend now;
//   - RemoveMembers gets the users who have access but are not wanted (every
//     member, whatever its kind, under restrict_member_access), then
//     AddMembers gets the wanted users who lack access. Neither is called with
//     an empty list.
//
// The agent does this for a resource on a user_role event for its project, a
// resource event (the restrict_member_access flag may have changed), an
// offering_user event that set a username, an offering_resources_sync event,
// and for every resource every SyncInterval. Project service accounts and
// course accounts come only from their events (service_account,
// course_account): they are added or removed as members of Kind
// MemberServiceAccount or MemberCourseAccount, and the periodic diff leaves
// members of those kinds alone. So ListMembers should report them with their
// Kind; a backend that cannot tell them from users sees them removed at the
// next pass.
//
// A returned error is transient: the resource is synced again on the next
// pass, or on the event's redelivery. An error wrapped with Permanent is only
// logged. All three methods must be idempotent.
type MembershipProcessor interface {
	MemberLister
	MemberAdder
	MemberRemover
}

// MemberLister reports the members who have access to a resource on the
// backend; see MembershipProcessor.
type MemberLister interface {
	ListMembers(ctx context.Context, r *waldur.Resource) ([]Member, error)
}

// MemberAdder gives members access to a resource on the backend; see
// MembershipProcessor.
type MemberAdder interface {
	AddMembers(ctx context.Context, r *waldur.Resource, members []Member) error
}

// MemberRemover takes members' access to a resource on the backend away; see
// MembershipProcessor.
type MemberRemover interface {
	RemoveMembers(ctx context.Context, r *waldur.Resource, members []Member) error
}

// MemberListerFunc adapts a function to MemberLister.
type MemberListerFunc func(ctx context.Context, r *waldur.Resource) ([]Member, error)

// ListMembers calls f.
func (f MemberListerFunc) ListMembers(ctx context.Context, r *waldur.Resource) ([]Member, error) {
	return f(ctx, r)
}

// MemberAdderFunc adapts a function to MemberAdder.
type MemberAdderFunc func(ctx context.Context, r *waldur.Resource, members []Member) error

// AddMembers calls f.
func (f MemberAdderFunc) AddMembers(ctx context.Context, r *waldur.Resource, members []Member) error {
	return f(ctx, r, members)
}

// MemberRemoverFunc adapts a function to MemberRemover.
type MemberRemoverFunc func(ctx context.Context, r *waldur.Resource, members []Member) error

// RemoveMembers calls f.
func (f MemberRemoverFunc) RemoveMembers(ctx context.Context, r *waldur.Resource, members []Member) error {
	return f(ctx, r, members)
}

// Membership assembles a MembershipProcessor from three functions or types,
// all required.
//
//	cfg.Membership = siteagent.Membership{
//		List:   siteagent.MemberListerFunc(listGroup),
//		Add:    siteagent.MemberAdderFunc(addToGroup),
//		Remove: siteagent.MemberRemoverFunc(removeFromGroup),
//	}
type Membership struct {
	List   MemberLister
	Add    MemberAdder
	Remove MemberRemover
	// Info describes the processor to Waldur; zero fields take defaults.
	Info ProcessorInfo
}

// ListMembers calls m.List.
func (m Membership) ListMembers(ctx context.Context, r *waldur.Resource) ([]Member, error) {
	return m.List.ListMembers(ctx, r)
}

// AddMembers calls m.Add.
func (m Membership) AddMembers(ctx context.Context, r *waldur.Resource, members []Member) error {
	return m.Add.AddMembers(ctx, r, members)
}

// RemoveMembers calls m.Remove.
func (m Membership) RemoveMembers(ctx context.Context, r *waldur.Resource, members []Member) error {
	return m.Remove.RemoveMembers(ctx, r, members)
}

// ProcessorInfo implements Describer.
func (m Membership) ProcessorInfo() ProcessorInfo { return m.Info }

// Member is someone with access to a backend resource.
type Member struct {
	// Username is the site username: the offering user's username for a user,
	// the account's username for a service or course account. Members are
	// compared by Username.
	Username string
	// Kind says whether the member is a user or an account.
	Kind MemberKind
	// UUID is the Waldur user, or the service or course account; zero when
	// unknown (for example in what ListMembers reports).
	UUID waldur.UUID
	// FullName and Email describe a user, when known.
	FullName string
	Email    string
	// Role is the user's project role, e.g. "PROJECT.MEMBER", when known.
	Role string
}

// MemberKind tells users from accounts.
type MemberKind int

const (
	// MemberUser is a member of the resource's project (the zero value).
	MemberUser MemberKind = iota
	// MemberServiceAccount is a project service account.
	MemberServiceAccount
	// MemberCourseAccount is a course account.
	MemberCourseAccount
)

// String names the kind as Waldur's event types do.
func (k MemberKind) String() string {
	switch k {
	case MemberServiceAccount:
		return "service_account"
	case MemberCourseAccount:
		return "course_account"
	default:
		return "user"
	}
}

// membershipWork is the capability that keeps membership in sync.
type membershipWork struct {
	a *Agent
	p MembershipProcessor
}

func (w *membershipWork) registration() registration {
	return registration{service: serviceMembership, processors: []ProcessorInfo{describe(w.p)}}
}

func (w *membershipWork) objectTypes() []waldur.ObservableObjectType {
	return []waldur.ObservableObjectType{
		waldur.ObservableObjectTypeUserRole,
		waldur.ObservableObjectTypeResource,
		waldur.ObservableObjectTypeServiceAccount,
		waldur.ObservableObjectTypeCourseAccount,
		waldur.ObservableObjectTypeOfferingUser,
		waldur.ObservableObjectTypeOfferingResourcesSync,
	}
}

func (w *membershipWork) interval() time.Duration { return w.a.cfg.SyncInterval }

func membershipKey(id waldur.UUID) string { return "membership:" + waldur.Hex(id) }

func (w *membershipWork) handleEvent(ctx context.Context, e Event) error {
	switch p := e.Payload.(type) {
	case *UserRoleEvent:
		if p.ResourceUUID != (waldur.UUID{}) {
			return w.syncOne(ctx, p.ResourceUUID)
		}
		project := p.ProjectUUID
		if project == (waldur.UUID{}) && p.ScopeType == "project" {
			project = p.ScopeUUID
		}
		if project == (waldur.UUID{}) {
			return nil // a role outside projects gives no access to resources
		}
		return w.syncProject(ctx, e, project, w.sync)
	case *ResourceEvent:
		return w.syncOne(ctx, p.ResourceUUID)
	case *AccountEvent:
		return w.account(ctx, e, p)
	case *OfferingUserEvent:
		return w.usernameSet(ctx, e, p)
	case *OfferingSyncEvent:
		return w.a.passEvent(ctx, e, w.pass)
	}
	return nil
}

func (w *membershipWork) reconcile(runCtx, workCtx context.Context) {
	for _, off := range w.a.passOfferings() {
		if err := w.pass(runCtx, workCtx, off); err != nil && runCtx.Err() == nil {
			w.a.noteError(err)
			w.a.log.Warn("siteagent: membership pass failed", "offering", off.id, "error", err)
		}
	}
}

// pass syncs every live resource of one offering. Resources come from the
// list as they are, without a second read.
func (w *membershipWork) pass(runCtx, workCtx context.Context, off *offering) error {
	b := w.a.newBatch(runCtx, workCtx)
	teams := &teamCache{byProject: make(map[waldur.UUID]*teamEntry)}
	err := w.a.eachLiveResource(runCtx, off, waldur.UUID{}, func(r *waldur.Resource) bool {
		return b.submit(membershipKey(r.UUID), func(ctx context.Context) error { return w.counted(w.syncWith(ctx, r, teams)) })
	})
	b.wait()
	return err
}

// syncOne reads one resource and syncs it, for an event.
func (w *membershipWork) syncOne(ctx context.Context, id waldur.UUID) error {
	return w.a.doWork(ctx, membershipKey(id), func(ctx context.Context) error {
		r, err := w.a.readResource(ctx, id)
		if err != nil || r == nil {
			return err
		}
		return w.counted(w.sync(ctx, r))
	})
}

// syncProject applies fn to every live resource of a project, in the
// offerings the event names, one resource after the other.
func (w *membershipWork) syncProject(ctx context.Context, e Event, project waldur.UUID, fn func(context.Context, *waldur.Resource) error) error {
	var errs []error
	for _, off := range w.a.offeringsOf(e) {
		var rs []*waldur.Resource
		if err := w.a.eachLiveResource(ctx, off, project, func(r *waldur.Resource) bool {
			rs = append(rs, r)
			return true
		}); err != nil {
			return err
		}
		for _, r := range rs {
			errs = append(errs, w.a.doWork(ctx, membershipKey(r.UUID), func(ctx context.Context) error {
				return w.counted(fn(ctx, r))
			}))
		}
	}
	return errors.Join(errs...)
}

// counted records a failed sync; a permanent failure is not retried.
func (w *membershipWork) counted(err error) error {
	if err == nil {
		return nil
	}
	w.a.counters.membershipFailed.Add(1)
	w.a.noteError(err)
	w.a.log.Warn("siteagent: membership sync failed", "error", err)
	if IsPermanent(err) {
		return nil
	}
	return err
}

// sync makes the backend's user members of r what Waldur says they should be.
func (w *membershipWork) sync(ctx context.Context, r *waldur.Resource) error {
	return w.syncWith(ctx, r, nil)
}

// syncWith is sync with the teams read in this pass: a resource's team is
// its project's members with their usernames on the offering, the same for
// every resource of the project, so a pass reads it once per project.
func (w *membershipWork) syncWith(ctx context.Context, r *waldur.Resource, teams *teamCache) error {
	if !isLive(r.State) {
		return nil
	}
	var want []Member
	if !r.RestrictMemberAccess {
		var err error
		if want, err = teams.get(ctx, w.a.client, r); err != nil {
			if waldur.IsNotFound(err) {
				return nil // gone meanwhile
			}
			return fmt.Errorf("siteagent: read team of resource %s: %w", r.UUID, err)
		}
	}
	have, err := w.list(ctx, r)
	if err != nil {
		return err
	}
	add, remove := diffMembers(want, have, r.RestrictMemberAccess)
	if err := w.apply(ctx, r, add, remove); err != nil {
		return err
	}
	if w.a.cfg.ResourceStatus == nil {
		// Without a status processor this is the resource's sync.
		w.a.refreshLastSync(ctx, r)
	}
	return nil
}

func (w *membershipWork) list(ctx context.Context, r *waldur.Resource) ([]Member, error) {
	have, err := callUser(ctx, w.a.cfg.ProcessorTimeout, func(ctx context.Context) ([]Member, error) {
		return w.p.ListMembers(ctx, r)
	})
	if err != nil {
		return nil, fmt.Errorf("siteagent: list members of resource %s: %w", r.UUID, err)
	}
	return have, nil
}

// apply removes, then adds.
func (w *membershipWork) apply(ctx context.Context, r *waldur.Resource, add, remove []Member) error {
	a := w.a
	if len(remove) > 0 {
		_, err := callUser(ctx, a.cfg.ProcessorTimeout, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, w.p.RemoveMembers(ctx, r, remove)
		})
		if err != nil {
			return fmt.Errorf("siteagent: remove %d members of resource %s: %w", len(remove), r.UUID, err)
		}
		a.counters.membersRemoved.Add(int64(len(remove)))
		a.log.Info("siteagent: members removed", "resource", r.UUID, "usernames", usernames(remove))
	}
	if len(add) > 0 {
		_, err := callUser(ctx, a.cfg.ProcessorTimeout, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, w.p.AddMembers(ctx, r, add)
		})
		if err != nil {
			return fmt.Errorf("siteagent: add %d members to resource %s: %w", len(add), r.UUID, err)
		}
		a.counters.membersAdded.Add(int64(len(add)))
		a.log.Info("siteagent: members added", "resource", r.UUID, "usernames", usernames(add))
	}
	return nil
}

// teamCache holds the teams read in one pass, by project.
type teamCache struct {
	mu        sync.Mutex
	byProject map[waldur.UUID]*teamEntry
}

type teamEntry struct {
	mu      sync.Mutex
	done    bool
	members []Member
	err     error
}

// get returns r's wanted members, reading the team of r's project once. A
// nil cache reads every time. A 404 (r itself is gone) is not kept: the next
// resource of the project reads again.
func (c *teamCache) get(ctx context.Context, client *waldur.Client, r *waldur.Resource) ([]Member, error) {
	read := func() ([]Member, error) {
		team, err := client.Resources.Team(ctx, r.UUID)
		return teamMembers(team), err
	}
	if c == nil || r.ProjectUUID == (waldur.UUID{}) {
		return read()
	}
	c.mu.Lock()
	e := c.byProject[r.ProjectUUID]
	if e == nil {
		e = &teamEntry{}
		c.byProject[r.ProjectUUID] = e
	}
	c.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.done {
		members, err := read()
		if waldur.IsNotFound(err) {
			return nil, err
		}
		e.members, e.err, e.done = members, err, true
	}
	return e.members, e.err
}

// teamMembers returns the team's users with an offering username in state OK,
// once each, in the team's order.
func teamMembers(team []waldur.TeamMember) []Member {
	out := make([]Member, 0, len(team))
	seen := make(map[string]bool, len(team))
	for _, m := range team {
		if m.OfferingUserUsername == nil || *m.OfferingUserUsername == "" ||
			m.OfferingUserState == nil || *m.OfferingUserState != waldur.OfferingUserStateOK {
			continue
		}
		name := *m.OfferingUserUsername
		if seen[name] {
			continue
		}
		seen[name] = true
		out = append(out, Member{Username: name, UUID: m.UUID, FullName: m.FullName, Email: m.Email, Role: m.Role})
	}
	return out
}

// diffMembers returns the wanted users the backend lacks and the backend's
// users nobody wants; with restrict, every backend member goes.
func diffMembers(want, have []Member, restrict bool) (add, remove []Member) {
	wanted := make(map[string]bool, len(want))
	for _, m := range want {
		wanted[m.Username] = true
	}
	present := make(map[string]bool, len(have))
	for _, m := range have {
		if restrict || (m.Kind == MemberUser && !wanted[m.Username]) {
			if !present[m.Username] {
				remove = append(remove, m)
			}
		}
		present[m.Username] = true
	}
	for _, m := range want {
		if !present[m.Username] {
			add = append(add, m)
		}
	}
	return add, remove
}

func usernames(ms []Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Username
	}
	return out
}

// account adds or removes a service or course account on the live resources
// of its project.
func (w *membershipWork) account(ctx context.Context, e Event, p *AccountEvent) error {
	if p.AccountUsername == "" || p.ProjectUUID == (waldur.UUID{}) || (p.Action != "create" && p.Action != "delete") {
		return nil
	}
	m := Member{Username: p.AccountUsername, Kind: MemberServiceAccount, UUID: p.AccountUUID}
	if e.ObjectType == waldur.ObservableObjectTypeCourseAccount {
		m.Kind = MemberCourseAccount
	}
	return w.syncProject(ctx, e, p.ProjectUUID, func(ctx context.Context, r *waldur.Resource) error {
		have, err := w.list(ctx, r)
		if err != nil {
			return err
		}
		present := slices.ContainsFunc(have, func(x Member) bool { return x.Username == m.Username })
		switch {
		case p.Action == "create" && !present && !r.RestrictMemberAccess:
			return w.apply(ctx, r, []Member{m}, nil)
		case p.Action == "delete" && present:
			return w.apply(ctx, r, nil, []Member{m})
		}
		return nil
	})
}

// usernameSet syncs the resources of a user who just got a username: the
// event names them by backend id.
func (w *membershipWork) usernameSet(ctx context.Context, e Event, p *OfferingUserEvent) error {
	if p.Action != "username_set" || p.Username == "" {
		return nil
	}
	var errs []error
	for _, off := range w.a.offeringsOf(e) {
		for _, backendID := range p.ResourceBackendIDs {
			if backendID == "" {
				continue
			}
			opts := waldur.ListResourcesOptions{OfferingUUID: off.id, BackendID: backendID, States: liveStates}
			for r, err := range w.a.client.Resources.List(ctx, opts) {
				if err != nil {
					return fmt.Errorf("siteagent: find resource %q: %w", backendID, err)
				}
				errs = append(errs, w.a.doWork(ctx, membershipKey(r.UUID), func(ctx context.Context) error {
					return w.counted(w.sync(ctx, &r))
				}))
			}
		}
	}
	return errors.Join(errs...)
}
