package waldurtest

import (
	"fmt"
	"sort"
	"time"

	"github.com/google/uuid"
)

// The types in this file are the fake's internal records. They are rendered to
// the wire format in render.go; keeping them separate lets the store hold
// pointers between objects (an order knows its resource) that the wire format
// spells as UUIDs and names.

type user struct {
	UUID          uuid.UUID
	Username      string
	FullName      string
	Email         string
	IsStaff       bool
	Password      string
	Token         string
	PAT           string
	OIDC          string // an OIDC access token, if any
	TokenLifetime *int
	Created       time.Time
}

type customer struct {
	UUID    uuid.UUID
	Name    string
	Slug    string
	Created time.Time
}

type member struct {
	User *user
	Role string
}

type project struct {
	UUID        uuid.UUID
	Name        string
	Slug        string
	Description string
	Customer    *customer
	Members     []member
	Created     time.Time
}

type component struct {
	UUID              uuid.UUID
	Type              string
	Name              string
	Description       string
	MeasuredUnit      string
	BillingType       string
	LimitPeriod       string
	LimitAmount       *int64
	MinValue          *int64
	MaxValue          *int64
	MaxAvailableLimit *int64
	DefaultLimit      *int64
	UnitFactor        int
	IsBoolean         bool
	IsPrepaid         bool
	ArticleCode       string
}

type plan struct {
	UUID     uuid.UUID
	Name     string
	Offering *offering
}

type offering struct {
	UUID            uuid.UUID
	Name            string
	Slug            string
	Type            string
	State           string
	BackendID       string
	Customer        *customer
	PluginOptions   map[string]any
	BackendMetadata map[string]any
	Components      []*component
	Plans           []*plan
	Created         time.Time
}

func (o *offering) component(typ string) *component {
	for _, c := range o.Components {
		if c.Type == typ {
			return c
		}
	}
	return nil
}

type order struct {
	seq            int64
	UUID           uuid.UUID
	Offering       *offering
	Project        *project
	Plan           *plan
	Resource       *resource
	Type           string
	State          string
	Attributes     map[string]any
	Limits         map[string]int64
	BackendID      string
	ErrorMessage   string
	ErrorTraceback string
	ProviderReject string
	ProviderMsg    string
	ProviderMsgURL string
	RequestComment string
	Output         string
	CreatedBy      *user
	Created        time.Time
	Modified       time.Time
	CompletedAt    *time.Time
	StartDate      *time.Time
	// transitions lists the successful state-changing actions called on the
	// order over the API, oldest first.
	transitions []string
}

type endpoint struct {
	UUID uuid.UUID
	Name string
	URL  string
}

type resource struct {
	UUID                 uuid.UUID
	Name                 string
	Slug                 string
	State                string
	BackendID            string
	EffectiveID          string
	BackendMetadata      map[string]any
	Attributes           map[string]any
	Limits               map[string]int64
	Offering             *offering
	Project              *project
	Plan                 *plan
	Endpoints            []endpoint
	ErrorMessage         string
	ErrorTraceback       string
	LastSync             time.Time
	Paused               bool
	Downscaled           bool
	RestrictMemberAccess bool
	EndDate              *time.Time
	Report               any
	CreationOrder        *order
	Created              time.Time
	Modified             time.Time
	orders               []*order
	usages               []*componentUsage
	apiKeys              []*apiKey
}

type offeringUser struct {
	UUID         uuid.UUID
	User         *user
	Offering     *offering
	Username     string
	State        string
	Comment      string
	CommentURL   string
	IsRestricted bool
	HasConsent   bool
	RuntimeState string
	Posix        map[string]any
	Created      time.Time
	Modified     time.Time
}

type componentUsage struct {
	UUID               uuid.UUID
	Resource           *resource
	Component          *component
	Usage              string
	Description        string
	Date               time.Time
	BillingPeriod      time.Time
	Recurring          bool
	MissingUsagePolicy string
	ModifiedBy         *user
	Created            time.Time
	Modified           time.Time
	userUsages         []*userUsage
}

type userUsage struct {
	UUID           uuid.UUID
	ComponentUsage *componentUsage
	Username       string
	User           string
	Usage          string
	Date           time.Time
	Created        time.Time
	Modified       time.Time
}

type apiKey struct {
	UUID     uuid.UUID
	Resource *resource
	ClientID string
	State    string
	// PendingAction is the command the agent has yet to acknowledge, "" when
	// none (newer than Waldur 8.1.2).
	PendingAction string
	ErrorMessage  string
	key           string
	Created       time.Time
	Modified      time.Time
}

type identity struct {
	UUID              uuid.UUID
	Offering          *offering
	Name              string
	Version           *string
	Dependencies      any
	ConfigFilePath    *string
	ConfigFileContent *string
	LastRestarted     *time.Time
	CreatedBy         *user
	Created           time.Time
	Modified          time.Time
	services          []*service
	queue             *Queue
}

type service struct {
	UUID       uuid.UUID
	Identity   *identity
	Name       string
	Mode       *string
	State      string
	Statistics any
	Created    time.Time
	Modified   time.Time
	processors []*processor
}

type processor struct {
	UUID           uuid.UUID
	Service        *service
	Name           string
	BackendType    string
	BackendVersion *string
	LastRun        *time.Time
	Created        time.Time
	Modified       time.Time
}

type subscription struct {
	UUID        uuid.UUID
	User        *user
	Description string
	ObjectTypes []string
	SourceIP    string
	Created     time.Time
	Modified    time.Time
	// Password is the RabbitMQ password: the user's DRF token when the
	// subscription was created. Registering it again does not change it.
	Password string
	queues   []*subscriptionQueue
}

type subscriptionQueue struct {
	UUID         uuid.UUID
	Subscription *subscription
	Offering     uuid.UUID
	ObjectType   string
	Name         string
	VHost        string
	Created      time.Time
}

type agentLog struct {
	UUID      uuid.UUID
	Identity  *identity
	Timestamp float64
	Level     string
	Message   string
	Module    string
	Created   time.Time
}

// table is a set of records indexed by UUID that remembers insertion order,
// which is the order lists are rendered in (newest first).
type table[T any] struct {
	byID map[uuid.UUID]*T
	list []*T
}

func newTable[T any]() table[T] { return table[T]{byID: map[uuid.UUID]*T{}} }

func (t *table[T]) add(id uuid.UUID, v *T) {
	if _, dup := t.byID[id]; dup {
		panic(fmt.Sprintf("waldurtest: UUID %s is already taken", id))
	}
	t.byID[id] = v
	t.list = append(t.list, v)
}

func (t *table[T]) get(id uuid.UUID) *T { return t.byID[id] }

func (t *table[T]) remove(id uuid.UUID) {
	v, ok := t.byID[id]
	if !ok {
		return
	}
	delete(t.byID, id)
	for i, x := range t.list {
		if x == v {
			t.list = append(t.list[:i], t.list[i+1:]...)
			return
		}
	}
}

// offState keys the index of orders by offering and state, which is what the
// agent's hot list call (`?offering_uuid=…&state=pending-provider&state=executing`)
// asks for.
type offState struct {
	offering uuid.UUID
	state    string
}

type state struct {
	seq int64

	users         table[user]
	customers     table[customer]
	projects      table[project]
	offerings     table[offering]
	plans         table[plan]
	orders        table[order]
	resources     table[resource]
	offeringUsers table[offeringUser]
	usages        table[componentUsage]
	userUsages    table[userUsage]
	apiKeys       table[apiKey]
	identities    table[identity]
	services      table[service]
	processors    table[processor]
	subscriptions table[subscription]
	subQueues     table[subscriptionQueue]
	logs          table[agentLog]

	defCustomer *customer
	defProject  *project

	tokens           map[string]*user
	expired          map[string]bool
	ordersByOffering map[uuid.UUID][]*order
	ordersByState    map[offState]map[*order]struct{}
}

func newState() *state {
	return &state{
		users:            newTable[user](),
		customers:        newTable[customer](),
		projects:         newTable[project](),
		offerings:        newTable[offering](),
		plans:            newTable[plan](),
		orders:           newTable[order](),
		resources:        newTable[resource](),
		offeringUsers:    newTable[offeringUser](),
		usages:           newTable[componentUsage](),
		userUsages:       newTable[userUsage](),
		apiKeys:          newTable[apiKey](),
		identities:       newTable[identity](),
		services:         newTable[service](),
		processors:       newTable[processor](),
		subscriptions:    newTable[subscription](),
		subQueues:        newTable[subscriptionQueue](),
		logs:             newTable[agentLog](),
		tokens:           map[string]*user{},
		expired:          map[string]bool{},
		ordersByOffering: map[uuid.UUID][]*order{},
		ordersByState:    map[offState]map[*order]struct{}{},
	}
}

func (st *state) nextSeq() int64 {
	st.seq++
	return st.seq
}

func (st *state) addOrder(o *order) {
	o.seq = st.nextSeq()
	st.orders.add(o.UUID, o)
	st.ordersByOffering[o.Offering.UUID] = append(st.ordersByOffering[o.Offering.UUID], o)
	if o.Resource != nil {
		o.Resource.orders = append(o.Resource.orders, o)
	}
	st.indexOrder(o)
}

func (st *state) indexOrder(o *order) {
	k := offState{o.Offering.UUID, o.State}
	set := st.ordersByState[k]
	if set == nil {
		set = map[*order]struct{}{}
		st.ordersByState[k] = set
	}
	set[o] = struct{}{}
}

// setOrderState moves o to state and keeps the offering/state index current.
func (st *state) setOrderState(o *order, state string, now time.Time) {
	if o.State == state {
		return
	}
	delete(st.ordersByState[offState{o.Offering.UUID, o.State}], o)
	o.State = state
	o.Modified = now
	st.indexOrder(o)
}

// ordersFor returns the orders of offering in the given states (all states when
// states is empty), newest first. It touches only the matching orders.
func (st *state) ordersFor(offering uuid.UUID, states []string) []*order {
	if len(states) == 0 {
		all := st.ordersByOffering[offering]
		out := make([]*order, len(all))
		for i, o := range all {
			out[len(all)-1-i] = o
		}
		return out
	}
	var out []*order
	seen := map[string]bool{}
	for _, s := range states {
		if seen[s] {
			continue
		}
		seen[s] = true
		for o := range st.ordersByState[offState{offering, s}] {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].seq > out[j].seq })
	return out
}

func (st *state) offeringUserFor(off *offering, u *user) *offeringUser {
	for _, ou := range st.offeringUsers.list {
		if ou.Offering == off && ou.User == u {
			return ou
		}
	}
	return nil
}
