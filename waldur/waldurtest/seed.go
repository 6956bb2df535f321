package waldurtest

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Seeding helpers put objects into the server as Waldur's other users would
// have created them (a consumer ordering, an operator adding members). They
// panic on references to objects that do not exist, as that is a mistake in
// the test. A zero UUID in a spec means "make one up".

// UserSpec describes a Waldur user.
type UserSpec struct {
	UUID     uuid.UUID
	Username string // default "user-<n>"
	FullName string
	Email    string
	// Password enables POST /api-auth/password/ for the user.
	Password string
	// Token is the user's DRF token; default 40 random hex digits.
	Token string
	// PAT is a personal access token (w_…) accepted as Bearer; default random.
	PAT string
	// OIDCToken is an OIDC access token accepted as Bearer; default random.
	OIDCToken string
	IsStaff   bool
}

// CustomerSpec describes an organisation.
type CustomerSpec struct {
	UUID uuid.UUID
	Name string // default "Customer <n>"
	Slug string
}

// ProjectSpec describes a project of a customer.
type ProjectSpec struct {
	UUID        uuid.UUID
	Customer    uuid.UUID // default: the default customer, made on first use
	Name        string    // default "Project <n>"
	Slug        string
	Description string
}

// ComponentSpec describes a billable component of an offering.
type ComponentSpec struct {
	UUID              uuid.UUID
	Type              string // required: the name used in limits and usage
	Name              string // default Type
	Description       string
	MeasuredUnit      string
	BillingType       string // fixed, usage (default), limit, one, few
	LimitPeriod       string // month, quarterly, annual, total or empty
	LimitAmount       *int64
	MinValue          *int64
	MaxValue          *int64
	MaxAvailableLimit *int64
	DefaultLimit      *int64
	UnitFactor        int // default 1
	IsBoolean         bool
	IsPrepaid         bool
	ArticleCode       string
}

// PlanSpec describes a plan of an offering.
type PlanSpec struct {
	UUID uuid.UUID
	Name string
}

// OfferingSpec describes an offering the default provider user manages.
type OfferingSpec struct {
	UUID uuid.UUID
	Name string // default "Offering <n>"
	Slug string
	// Type is the offering type; default "Marketplace.Slurm", the site-agent
	// type. Waldur refuses some order actions for other types with 405:
	// set_state_executing and set_state_erred are for Marketplace.Slurm only,
	// set_state_done for Marketplace.Slurm, Marketplace.Basic and
	// Marketplace.Support.
	Type            string
	State           string // default "Active"
	Customer        uuid.UUID
	BackendID       string
	PluginOptions   map[string]any
	BackendMetadata map[string]any
	Components      []ComponentSpec
	Plans           []PlanSpec // default: one plan named "Default"
}

// OrderSpec describes an order as a consumer placed it.
type OrderSpec struct {
	UUID     uuid.UUID
	Offering uuid.UUID // required
	Project  uuid.UUID // default: the default project
	Plan     uuid.UUID // default: the offering's first plan
	Type     string    // Create (default), Update, Terminate or Restore
	State    string    // default "pending-provider"
	Limits   map[string]int64
	// Attributes is the order form; Create orders get a "name" if it has none.
	Attributes map[string]any
	// Resource is the resource an Update, Terminate or Restore order acts on;
	// when zero an OK resource is made. A Create order always makes its
	// resource (Creating while the order is unfinished); Resource, if set, is
	// the new resource's UUID.
	Resource       uuid.UUID
	ResourceName   string
	BackendID      string
	RequestComment string
	CreatedBy      uuid.UUID // default: nobody
	Created        time.Time // default: now
	// StartDate, when set, is the order's start_date: approving the order
	// before then moves it to pending-start-date instead of executing, as
	// Waldur does when order start dates are enabled; StartDueOrders moves
	// it on once the date has come.
	StartDate time.Time
}

// ResourceSpec describes a marketplace resource.
type ResourceSpec struct {
	UUID                 uuid.UUID
	Offering             uuid.UUID // required
	Project              uuid.UUID // default: the default project
	Plan                 uuid.UUID // default: the offering's first plan
	Name                 string    // default "resource-<n>"
	State                string    // default "OK"
	BackendID            string
	Limits               map[string]int64
	Attributes           map[string]any
	BackendMetadata      map[string]any
	EndDate              *time.Time
	Paused               bool
	Downscaled           bool
	RestrictMemberAccess bool
	// LastSync is when the resource was last synced (refresh_last_sync);
	// default now.
	LastSync time.Time
}

// OfferingUserSpec describes a user's account on an offering.
type OfferingUserSpec struct {
	UUID     uuid.UUID
	Offering uuid.UUID // required
	User     uuid.UUID // default: a new user
	Username string    // the site username
	// State defaults to "OK" with a Username and "Requested" without.
	State        string
	IsRestricted bool
	// NoConsent hides the user from the provider, as missing consent does.
	NoConsent bool
}

// UsageSpec describes reported usage of one component of a resource.
type UsageSpec struct {
	Resource    uuid.UUID // required
	Type        string    // required: a component type of the offering
	Amount      string    // decimal, e.g. "12.50"
	Date        time.Time // default: now; selects the billing month
	Description string
}

// APIKeySpec describes an API key of a resource (Waldur 8.1).
type APIKeySpec struct {
	UUID     uuid.UUID
	Resource uuid.UUID // required
	ClientID string    // default "<backend_id or resource hex>-<n>"
	Key      string    // default random
	State    string    // Creating, OK (default), Updating, Erred, Paused, Deleting, Deleted
}

func orNew(id uuid.UUID) uuid.UUID {
	if id == uuid.Nil {
		return uuid.New()
	}
	return id
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// seed runs f under the lock with a request context for events, then
// publishes the events f produced.
func (s *Server) seed(f func(c *reqCtx)) {
	c := &reqCtx{s: s, now: s.now()}
	s.locked(func(c *reqCtx) reply { f(c); return reply{} }, c)
	s.publish(context.Background(), c.events)
}

func (s *Server) addUserLocked(spec UserSpec) *user {
	n := len(s.st.users.list) + 1
	u := &user{
		UUID: orNew(spec.UUID), Username: orDefault(spec.Username, fmt.Sprintf("user-%d", n)),
		FullName: spec.FullName, Email: spec.Email, IsStaff: spec.IsStaff, Password: spec.Password,
		Token: orDefault(spec.Token, randomHex(20)), PAT: orDefault(spec.PAT, "w_"+randomHex(24)),
		OIDC: orDefault(spec.OIDCToken, "eyJ"+randomHex(24)), Created: s.now(),
	}
	if u.FullName == "" {
		u.FullName = u.Username
	}
	s.st.users.add(u.UUID, u)
	s.st.tokens[u.Token] = u
	s.st.tokens[u.PAT] = u
	s.st.tokens[u.OIDC] = u
	return u
}

// AddUser adds a user who can authenticate with UserToken(id).
func (s *Server) AddUser(spec UserSpec) uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUserLocked(spec).UUID
}

// UserToken returns the DRF token of a user.
func (s *Server) UserToken(id uuid.UUID) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.mustUser(id).Token
}

// RotateToken gives a user a new DRF token, as regenerating it in Waldur
// does, and returns it; the old one is refused from now on. Legacy event
// subscriptions keep the RabbitMQ password they were created with.
func (s *Server) RotateToken(id uuid.UUID) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.mustUser(id)
	delete(s.st.tokens, u.Token)
	u.Token = randomHex(20)
	s.st.tokens[u.Token] = u
	return u.Token
}

// ExpireToken makes a DRF token or PAT fail with 401 "Token has expired.",
// as Waldur answers once a token outlived its lifetime.
func (s *Server) ExpireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.tokens[token] == nil {
		panic("waldurtest: ExpireToken: unknown token")
	}
	s.st.expired[token] = true
}

func (s *Server) mustUser(id uuid.UUID) *user {
	u := s.st.users.get(id)
	if u == nil {
		panic(fmt.Sprintf("waldurtest: no user %s", id))
	}
	return u
}

func (s *Server) addCustomerLocked(spec CustomerSpec) *customer {
	n := len(s.st.customers.list) + 1
	cu := &customer{UUID: orNew(spec.UUID), Name: orDefault(spec.Name, fmt.Sprintf("Customer %d", n)), Created: s.now()}
	cu.Slug = orDefault(spec.Slug, fmt.Sprintf("customer-%d", n))
	s.st.customers.add(cu.UUID, cu)
	return cu
}

// AddCustomer adds an organisation.
func (s *Server) AddCustomer(spec CustomerSpec) uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addCustomerLocked(spec).UUID
}

// customerOrDefault returns the customer id names, or for the zero id the
// default customer, made on first use.
func (s *Server) customerOrDefault(id uuid.UUID) *customer {
	if id != uuid.Nil {
		cu := s.st.customers.get(id)
		if cu == nil {
			panic(fmt.Sprintf("waldurtest: no customer %s", id))
		}
		return cu
	}
	if s.st.defCustomer == nil {
		s.st.defCustomer = s.addCustomerLocked(CustomerSpec{Name: "Default customer", Slug: "default-customer"})
	}
	return s.st.defCustomer
}

func (s *Server) addProjectLocked(spec ProjectSpec) *project {
	n := len(s.st.projects.list) + 1
	p := &project{
		UUID: orNew(spec.UUID), Customer: s.customerOrDefault(spec.Customer),
		Name: orDefault(spec.Name, fmt.Sprintf("Project %d", n)), Slug: orDefault(spec.Slug, fmt.Sprintf("project-%d", n)),
		Description: spec.Description, Created: s.now(),
	}
	s.st.projects.add(p.UUID, p)
	return p
}

// AddProject adds a project.
func (s *Server) AddProject(spec ProjectSpec) uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addProjectLocked(spec).UUID
}

func (s *Server) projectOrDefault(id uuid.UUID) *project {
	if id != uuid.Nil {
		p := s.st.projects.get(id)
		if p == nil {
			panic(fmt.Sprintf("waldurtest: no project %s", id))
		}
		return p
	}
	if s.st.defProject == nil {
		s.st.defProject = s.addProjectLocked(ProjectSpec{Name: "Default project", Slug: "default-project"})
	}
	return s.st.defProject
}

// AddProjectMember gives a user a role in a project ("PROJECT.MEMBER" when
// role is empty) and emits a user_role event for every offering with a live
// resource in the project, as Waldur does for site-agent offerings.
func (s *Server) AddProjectMember(projectID, userID uuid.UUID, role string) {
	s.seed(func(c *reqCtx) {
		p, u := s.projectOrDefault(projectID), s.mustUser(userID)
		role = orDefault(role, "PROJECT.MEMBER")
		p.Members = slices.DeleteFunc(p.Members, func(m member) bool { return m.User == u })
		p.Members = append(p.Members, member{User: u, Role: role})
		s.emitUserRole(c, p, u, role, true)
	})
}

// RemoveProjectMember revokes a user's role in a project and emits user_role
// events like AddProjectMember.
func (s *Server) RemoveProjectMember(projectID, userID uuid.UUID) {
	s.seed(func(c *reqCtx) {
		p, u := s.projectOrDefault(projectID), s.mustUser(userID)
		i := slices.IndexFunc(p.Members, func(m member) bool { return m.User == u })
		if i < 0 {
			return
		}
		role := p.Members[i].Role
		p.Members = slices.Delete(p.Members, i, i+1)
		s.emitUserRole(c, p, u, role, false)
	})
}

func (s *Server) emitUserRole(c *reqCtx, p *project, u *user, role string, granted bool) {
	seen := map[*offering]bool{}
	for _, r := range s.st.resources.list {
		if r.Project != p || r.State == resTerminated || seen[r.Offering] {
			continue
		}
		seen[r.Offering] = true
		s.emitLocked(c, "user_role", r.Offering.UUID, map[string]any{
			"user_uuid": hexID(u.UUID), "user_username": u.Username, "project_uuid": hexID(p.UUID),
			"project_name": p.Name, "role_name": role, "granted": granted,
			"user_email": u.Email, "user_full_name": u.FullName,
		})
	}
}

// AddOffering adds an offering of the given customer (the default customer
// when zero).
func (s *Server) AddOffering(spec OfferingSpec) uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.st.offerings.list) + 1
	o := &offering{
		UUID: orNew(spec.UUID), Name: orDefault(spec.Name, fmt.Sprintf("Offering %d", n)),
		Slug: orDefault(spec.Slug, fmt.Sprintf("offering-%d", n)), Type: orDefault(spec.Type, offeringTypeSlurm),
		State: orDefault(spec.State, "Active"), BackendID: spec.BackendID, Customer: s.customerOrDefault(spec.Customer),
		PluginOptions: cloneMap(spec.PluginOptions), BackendMetadata: cloneMap(spec.BackendMetadata), Created: s.now(),
	}
	if o.PluginOptions == nil {
		o.PluginOptions = map[string]any{}
	}
	for _, cs := range spec.Components {
		if cs.Type == "" {
			panic("waldurtest: a component needs a Type")
		}
		uf := cs.UnitFactor
		if uf == 0 {
			uf = 1
		}
		o.Components = append(o.Components, &component{
			UUID: orNew(cs.UUID), Type: cs.Type, Name: orDefault(cs.Name, cs.Type), Description: cs.Description,
			MeasuredUnit: cs.MeasuredUnit, BillingType: orDefault(cs.BillingType, "usage"), LimitPeriod: cs.LimitPeriod,
			LimitAmount: cs.LimitAmount, MinValue: cs.MinValue, MaxValue: cs.MaxValue,
			MaxAvailableLimit: cs.MaxAvailableLimit, DefaultLimit: cs.DefaultLimit, UnitFactor: uf,
			IsBoolean: cs.IsBoolean, IsPrepaid: cs.IsPrepaid, ArticleCode: cs.ArticleCode,
		})
	}
	plans := spec.Plans
	if len(plans) == 0 {
		plans = []PlanSpec{{Name: "Default"}}
	}
	for _, ps := range plans {
		pl := &plan{UUID: orNew(ps.UUID), Name: orDefault(ps.Name, "Default"), Offering: o}
		o.Plans = append(o.Plans, pl)
		s.st.plans.add(pl.UUID, pl)
	}
	s.st.offerings.add(o.UUID, o)
	return o.UUID
}

func (s *Server) mustOffering(id uuid.UUID) *offering {
	o := s.st.offerings.get(id)
	if o == nil {
		panic(fmt.Sprintf("waldurtest: no offering %s", id))
	}
	return o
}

func (s *Server) planOrDefault(o *offering, id uuid.UUID) *plan {
	if id == uuid.Nil {
		if len(o.Plans) == 0 {
			return nil
		}
		return o.Plans[0]
	}
	p := s.st.plans.get(id)
	if p == nil || p.Offering != o {
		panic(fmt.Sprintf("waldurtest: no plan %s of offering %s", id, o.UUID))
	}
	return p
}

func (s *Server) addResourceLocked(spec ResourceSpec) *resource {
	o := s.mustOffering(spec.Offering)
	n := len(s.st.resources.list) + 1
	state := orDefault(spec.State, resOK)
	if !validResourceState(state) {
		panic(fmt.Sprintf("waldurtest: invalid resource state %q", state))
	}
	now := s.now()
	r := &resource{
		UUID: orNew(spec.UUID), Name: orDefault(spec.Name, fmt.Sprintf("resource-%d", n)),
		State: state, BackendID: spec.BackendID, Offering: o, Project: s.projectOrDefault(spec.Project),
		Plan: s.planOrDefault(o, spec.Plan), Limits: cloneLimits(spec.Limits), Attributes: cloneMap(spec.Attributes),
		BackendMetadata: cloneMap(spec.BackendMetadata), EndDate: timePtr(spec.EndDate), Paused: spec.Paused,
		Downscaled: spec.Downscaled, RestrictMemberAccess: spec.RestrictMemberAccess,
		Created: now, Modified: now, LastSync: now,
	}
	if !spec.LastSync.IsZero() {
		r.LastSync = spec.LastSync
	}
	r.Slug = r.Name
	s.st.resources.add(r.UUID, r)
	return r
}

// AddResource adds a resource, by default OK.
func (s *Server) AddResource(spec ResourceSpec) uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addResourceLocked(spec).UUID
}

// AddOrder adds an order as a consumer placed it and returns its UUID. An
// order added in pending-provider or pending-consumer emits the order event.
func (s *Server) AddOrder(spec OrderSpec) uuid.UUID {
	var id uuid.UUID
	s.seed(func(c *reqCtx) {
		o := s.addOrderLocked(c, spec)
		id = o.UUID
	})
	return id
}

func (s *Server) addOrderLocked(c *reqCtx, spec OrderSpec) *order {
	off := s.mustOffering(spec.Offering)
	typ := orDefault(spec.Type, "Create")
	state := orDefault(spec.State, orderPendingProvider)
	if !slices.Contains([]string{"Create", "Update", "Terminate", "Restore"}, typ) {
		panic(fmt.Sprintf("waldurtest: invalid order type %q", typ))
	}
	if !validOrderState(state) {
		panic(fmt.Sprintf("waldurtest: invalid order state %q", state))
	}
	created := spec.Created
	if created.IsZero() {
		created = c.now
	}
	o := &order{
		UUID: orNew(spec.UUID), Offering: off, Project: s.projectOrDefault(spec.Project),
		Plan: s.planOrDefault(off, spec.Plan), Type: typ, State: state, Limits: cloneLimits(spec.Limits),
		Attributes: cloneMap(spec.Attributes), BackendID: spec.BackendID, RequestComment: spec.RequestComment,
		Created: created, Modified: created,
	}
	if !spec.StartDate.IsZero() {
		o.StartDate = &spec.StartDate
	}
	if spec.CreatedBy != uuid.Nil {
		o.CreatedBy = s.mustUser(spec.CreatedBy)
	}
	if typ == "Create" {
		name := spec.ResourceName
		if name == "" {
			name, _ = o.Attributes["name"].(string)
		}
		if o.Attributes == nil {
			o.Attributes = map[string]any{}
		}
		r := s.addResourceLocked(ResourceSpec{
			UUID: spec.Resource, Offering: off.UUID, Project: o.Project.UUID, Name: name, State: resCreating,
			Limits: o.Limits, Attributes: o.Attributes,
		})
		if o.Plan != nil {
			r.Plan = o.Plan
		}
		if _, ok := o.Attributes["name"]; !ok {
			o.Attributes["name"] = r.Name
			r.Attributes["name"] = r.Name
		}
		r.CreationOrder = o
		o.Resource = r
	} else {
		if spec.Resource == uuid.Nil {
			o.Resource = s.addResourceLocked(ResourceSpec{Offering: off.UUID, Project: o.Project.UUID, Name: spec.ResourceName})
		} else {
			r := s.st.resources.get(spec.Resource)
			if r == nil || r.Offering != off {
				panic(fmt.Sprintf("waldurtest: no resource %s of offering %s", spec.Resource, off.UUID))
			}
			o.Resource = r
		}
	}
	s.st.addOrder(o)
	s.seedOrderEffects(c, o)
	return o
}

// seedOrderEffects gives the resource of a freshly added order the state it
// would have reached; only a pending order emits its event.
func (s *Server) seedOrderEffects(c *reqCtx, o *order) {
	pending := o.State == orderPendingConsumer || o.State == orderPendingProvider
	s.orderEffects(c, o, pending)
}

func validOrderState(st string) bool {
	return slices.Contains([]string{orderPendingConsumer, orderPendingProvider, orderPendingProject,
		orderPendingStartDate, orderExecuting, orderDone, orderErred, orderCanceled, orderRejected}, st)
}

// SetOrderState moves an order as the consumer or Waldur itself would (for
// example pending-consumer to pending-provider after the consumer approved,
// or to canceled), with the same effects on the resource and the same events
// as the provider actions. It is not recorded in Transitions.
func (s *Server) SetOrderState(id uuid.UUID, state string) {
	if !validOrderState(state) {
		panic(fmt.Sprintf("waldurtest: invalid order state %q", state))
	}
	s.seed(func(c *reqCtx) {
		o := s.st.orders.get(id)
		if o == nil {
			panic(fmt.Sprintf("waldurtest: no order %s", id))
		}
		s.moveOrder(c, o, state)
	})
}

// StartDueOrders moves every order in pending-start-date whose start date has
// come (by the server's clock) to executing, as Waldur's periodic task does,
// and returns their UUIDs. Waldur emits no order event for this move: an
// agent finds such orders in its next listing of executing orders.
func (s *Server) StartDueOrders() []uuid.UUID {
	var ids []uuid.UUID
	s.seed(func(c *reqCtx) {
		for _, o := range s.st.orders.list {
			if o.State != orderPendingStartDate || (o.StartDate != nil && o.StartDate.After(c.now)) {
				continue
			}
			s.moveOrder(c, o, orderExecuting)
			ids = append(ids, o.UUID)
		}
	})
	return ids
}

// AddOfferingUser adds a user's account on an offering.
func (s *Server) AddOfferingUser(spec OfferingUserSpec) uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	off := s.mustOffering(spec.Offering)
	var u *user
	if spec.User == uuid.Nil {
		u = s.addUserLocked(UserSpec{})
	} else {
		u = s.mustUser(spec.User)
	}
	state := spec.State
	if state == "" {
		state = ouRequested
		if spec.Username != "" {
			state = ouOK
		}
	}
	if !slices.Contains(offeringUserStates(), state) {
		panic(fmt.Sprintf("waldurtest: invalid offering user state %q", state))
	}
	now := s.now()
	ou := &offeringUser{
		UUID: orNew(spec.UUID), User: u, Offering: off, Username: spec.Username, State: state,
		IsRestricted: spec.IsRestricted, HasConsent: !spec.NoConsent, Created: now, Modified: now,
	}
	s.st.offeringUsers.add(ou.UUID, ou)
	return ou.UUID
}

// AddComponentUsage records usage as set_usage would and returns the UUID of
// the usage record.
func (s *Server) AddComponentUsage(spec UsageSpec) uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.st.resources.get(spec.Resource)
	if r == nil {
		panic(fmt.Sprintf("waldurtest: no resource %s", spec.Resource))
	}
	comp := r.Offering.component(spec.Type)
	if comp == nil {
		panic(fmt.Sprintf("waldurtest: offering %s has no component %q", r.Offering.UUID, spec.Type))
	}
	date := spec.Date
	if date.IsZero() {
		date = s.now()
	}
	period := s.billingPeriod(date)
	cu := s.findUsage(r, comp, period)
	if cu == nil {
		cu = &componentUsage{UUID: uuid.New(), Resource: r, Component: comp,
			BillingPeriod: period, Created: s.now()}
		s.st.usages.add(cu.UUID, cu)
		r.usages = append(r.usages, cu)
	}
	cu.Usage, cu.Date, cu.Description, cu.Modified = orDefault(spec.Amount, "0"), date, spec.Description, s.now()
	return cu.UUID
}

// AddAPIKey adds an API key to a resource.
func (s *Server) AddAPIKey(spec APIKeySpec) uuid.UUID {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.st.resources.get(spec.Resource)
	if r == nil {
		panic(fmt.Sprintf("waldurtest: no resource %s", spec.Resource))
	}
	state := orDefault(spec.State, keyOK)
	if !slices.Contains([]string{keyCreating, keyOK, keyUpdating, keyErred, keyPaused, keyDeleting, keyDeleted}, state) {
		panic(fmt.Sprintf("waldurtest: invalid API key state %q", state))
	}
	prefix := orDefault(r.BackendID, hexID(r.UUID))
	now := s.now()
	k := &apiKey{
		UUID: orNew(spec.UUID), Resource: r,
		ClientID: orDefault(spec.ClientID, fmt.Sprintf("%s-%d", prefix, len(r.apiKeys)+1)),
		State:    state, key: orDefault(spec.Key, randomHex(24)), Created: now, Modified: now,
	}
	r.apiKeys = append(r.apiKeys, k)
	s.st.apiKeys.add(k.UUID, k)
	return k.UUID
}

// RotateAPIKey requests a new value for a key as its consumer would: an OK or
// Erred key of a live resource becomes Updating and the
// resource_api_key_rotation event is emitted. It fails in other states.
func (s *Server) RotateAPIKey(id uuid.UUID) error { return s.CommandAPIKey(id, "rotate") }

// CommandAPIKey requests a command on a key as Waldur does (newer than
// 8.1.2): the key takes the command's transitional state with the action as
// its pending_action, and the resource_api_key_rotation event carries the
// action. The commands and the states they are valid from:
//
//	create  Creating, without a pending action (a key Waldur created) → Creating
//	rotate  OK, Erred      → Updating, settled by set_key
//	pause   OK             → Updating, settled by set_paused (→ Paused)
//	resume  Paused         → Updating, settled by set_ok
//	update  OK             → Updating, settled by set_ok
//	delete  OK, Paused, Erred → Deleting, settled by set_deleted (→ Deleted)
//
// create is settled by set_key; set_erred settles any. It fails in other
// states, and when the key's resource is not live.
func (s *Server) CommandAPIKey(id uuid.UUID, action string) error {
	var err error
	s.seed(func(c *reqCtx) {
		k := s.st.apiKeys.get(id)
		if k == nil {
			err = fmt.Errorf("waldurtest: no API key %s", id)
			return
		}
		if _, ok := s.requestCommand(c, k, action); !ok {
			err = fmt.Errorf("waldurtest: API key %s is %s: %s is not valid now, or its resource is not live", id, k.State, action)
		}
	})
	return err
}

// ResourceChange is a change made to a resource outside the agent, by its
// consumer or by staff. Nil fields are left alone.
type ResourceChange struct {
	Paused               *bool
	Downscaled           *bool
	RestrictMemberAccess *bool
	Limits               map[string]int64
	EndDate              *time.Time
}

// ChangeResource applies a change and, when paused, downscaled or
// restrict_member_access changed, emits the resource event as Waldur does.
func (s *Server) ChangeResource(id uuid.UUID, ch ResourceChange) {
	s.seed(func(c *reqCtx) {
		r := s.st.resources.get(id)
		if r == nil {
			panic(fmt.Sprintf("waldurtest: no resource %s", id))
		}
		flags := false
		for _, f := range []struct {
			dst *bool
			v   *bool
		}{{&r.Paused, ch.Paused}, {&r.Downscaled, ch.Downscaled}, {&r.RestrictMemberAccess, ch.RestrictMemberAccess}} {
			if f.v != nil && *f.v != *f.dst {
				*f.dst, flags = *f.v, true
			}
		}
		if ch.Limits != nil {
			r.Limits = cloneLimits(ch.Limits)
		}
		if ch.EndDate != nil {
			r.EndDate = timePtr(ch.EndDate)
		}
		r.Modified = c.now
		if flags {
			s.emitResource(c, r)
		}
	})
}

// emitResource emits the resource event in its enriched (unified) form.
func (s *Server) emitResource(c *reqCtx, r *resource) {
	s.emitLocked(c, "resource", r.Offering.UUID, map[string]any{
		"resource_uuid": hexID(r.UUID), "resource_backend_id": r.BackendID, "downscaled": r.Downscaled,
		"restrict_member_access": r.RestrictMemberAccess, "paused": r.Paused, "limits": limitsPayload(r.Limits),
		"resource_name": r.Name, "resource_state": r.State, "project_uuid": hexID(r.Project.UUID),
		"project_name": r.Project.Name,
	})
}

// Waldur's periodic resource resync: every 10 minutes it emits the resource
// event for up to 50 OK or Erred resources of site-agent offerings whose
// last_sync is more than an hour old, oldest first. It does not touch
// last_sync itself: only the agent's refresh_last_sync does, so a resource the
// agent never refreshes comes back every time.
const (
	staleSyncAge   = time.Hour
	staleSyncBatch = 50
)

// SyncStaleResources runs Waldur's resync once, by the server's clock: it
// emits the resource event for each resource that is due and returns their
// UUIDs, oldest last_sync first.
func (s *Server) SyncStaleResources() []uuid.UUID {
	var ids []uuid.UUID
	s.seed(func(c *reqCtx) {
		var due []*resource
		for _, r := range s.st.resources.list {
			if (r.State == resOK || r.State == resErred) && r.Offering.Type == offeringTypeSlurm &&
				c.now.Sub(r.LastSync) > staleSyncAge {
				due = append(due, r)
			}
		}
		slices.SortStableFunc(due, func(a, b *resource) int { return a.LastSync.Compare(b.LastSync) })
		for _, r := range due[:min(len(due), staleSyncBatch)] {
			s.emitResource(c, r)
			ids = append(ids, r.UUID)
		}
	})
	return ids
}

// Emit emits an arbitrary event for an offering, for object types the server
// has no trigger for. object_type, schema_version and offering_uuid are added
// to the payload.
func (s *Server) Emit(objectType string, offering uuid.UUID, payload map[string]any) {
	s.seed(func(c *reqCtx) {
		p := cloneMap(payload)
		if p == nil {
			p = map[string]any{}
		}
		s.emitLocked(c, objectType, offering, p)
	})
}
