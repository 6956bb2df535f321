package widget

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Status is the body of GET /status: what the widget shows about the
// caller's project. Only objects inside the key's binding appear.
type Status struct {
	// Project is the key's project; Name is empty when it has no resources
	// of the agent's offerings.
	Project Project `json:"project"`
	// Month is the billing month the usage belongs to, "2006-01".
	Month string `json:"month"`
	// Resources of the project in the agent's offerings, terminated ones left
	// out, at most Config.MaxResources.
	Resources []Resource `json:"resources"`
	// Agent is the site agent's health; absent without Config.Agent.
	Agent *Health `json:"agent,omitempty"`
	// Updated is when the status was read from Waldur.
	Updated time.Time `json:"updated"`
}

// Project names the key's project.
type Project struct {
	UUID string `json:"uuid"`
	Name string `json:"name,omitempty"`
}

// Resource is one marketplace resource of the project.
type Resource struct {
	UUID     string `json:"uuid"`
	Name     string `json:"name"`
	State    string `json:"state"`
	Offering string `json:"offering,omitempty"`
	// Keys are the resource's API keys as Waldur lists them: ids and states,
	// never values.
	Keys []Key `json:"keys"`
	// Usage is this month's usage per usage-billed or limited component.
	Usage []Usage `json:"usage"`
}

// Key is one API key of a resource.
type Key struct {
	// ClientID is the key's public label in Waldur ("agent-1-1").
	ClientID string `json:"client_id"`
	// State is Waldur's: Creating, OK, Updating or Erred.
	State string `json:"state"`
	// PublicID is the display form of the valid local key carrying ClientID
	// ("wak_3kTMd9ZqLw0B"), when Config.Keys can list keys.
	PublicID string `json:"public_id,omitempty"`
}

// Usage is one component's usage this month against its limit.
type Usage struct {
	Type  string  `json:"type"`
	Name  string  `json:"name"`
	Unit  string  `json:"unit,omitempty"`
	Usage float64 `json:"usage"`
	// Limit is the resource's limit of the component, or the offering's;
	// absent when there is none.
	Limit *float64 `json:"limit,omitempty"`
}

// Health is the site agent's health as a customer may see it: no error
// messages, no counters, no names of its machinery.
type Health struct {
	Live  bool `json:"live"`
	Ready bool `json:"ready"`
	// Connected reports whether events reach the agent (always true when
	// it polls).
	Connected     bool      `json:"connected"`
	LastHeartbeat time.Time `json:"last_heartbeat,omitzero"`
}

// liveStates are the states of resources the widget shows.
var liveStates = []waldur.ResourceState{
	waldur.ResourceStateCreating, waldur.ResourceStateOK, waldur.ResourceStateUpdating,
	waldur.ResourceStateErred, waldur.ResourceStateTerminating,
}

var resourceFields = []string{
	"uuid", "name", "state", "customer_uuid", "project_uuid", "project_name",
	"offering_uuid", "offering_name", "limits", "offering_components",
}

// keyLister lists local keys; *apikeys.Manager implements it.
type keyLister interface {
	List(ctx context.Context, f apikeys.Filter) ([]apikeys.Record, error)
}

// readTimeout bounds one shared read of a status from Waldur.
const readTimeout = 30 * time.Second

// maxCached bounds the cache; beyond it expired entries are dropped, and if
// none are, everything is.
const maxCached = 4096

// statusSource reads statuses from Waldur and caches their JSON per binding.
type statusSource struct {
	cfg    Config
	keys   keyLister // nil when Config.Keys cannot list
	log    *slog.Logger
	flight singleflight.Group

	mu    sync.Mutex
	cache map[apikeys.Binding]cached
}

type cached struct {
	body    []byte
	expires time.Time
}

func newStatusSource(cfg Config, log *slog.Logger) *statusSource {
	s := &statusSource{cfg: cfg, log: log, cache: map[apikeys.Binding]cached{}}
	s.keys, _ = cfg.Keys.(keyLister)
	return s
}

// json returns the encoded status of binding b, from the cache when fresh.
// Concurrent misses for one binding share a single read of Waldur.
func (s *statusSource) json(ctx context.Context, b apikeys.Binding) ([]byte, error) {
	if s.cfg.CacheTTL < 0 {
		return s.encode(ctx, b)
	}
	now := time.Now()
	s.mu.Lock()
	c, ok := s.cache[b]
	s.mu.Unlock()
	if ok && now.Before(c.expires) {
		return c.body, nil
	}
	v, err, _ := s.flight.Do(flightKey(b), func() (any, error) {
		// The read is shared by every waiting request, so one caller going
		// away must not cancel it for the others; readTimeout bounds it.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readTimeout)
		defer cancel()
		body, err := s.encode(rctx, b)
		if err != nil {
			return nil, err
		}
		s.store(b, body)
		return body, nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

func flightKey(b apikeys.Binding) string {
	return b.CustomerUUID.String() + b.ProjectUUID.String() + b.OfferingUUID.String() + b.ResourceUUID.String()
}

func (s *statusSource) store(b apikeys.Binding, body []byte) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.cache) >= maxCached {
		for k, c := range s.cache {
			if !now.Before(c.expires) {
				delete(s.cache, k)
			}
		}
		if len(s.cache) >= maxCached {
			clear(s.cache)
		}
	}
	s.cache[b] = cached{body: body, expires: now.Add(s.cfg.CacheTTL)}
}

func (s *statusSource) encode(ctx context.Context, b apikeys.Binding) ([]byte, error) {
	st, err := s.read(ctx, b)
	if err != nil {
		return nil, err
	}
	return json.Marshal(st)
}

// read builds the status of binding b from Waldur.
func (s *statusSource) read(ctx context.Context, b apikeys.Binding) (Status, error) {
	now := time.Now().In(s.cfg.Location)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, s.cfg.Location)
	st := Status{
		Project:   Project{UUID: waldur.Hex(b.ProjectUUID)},
		Month:     month.Format("2006-01"),
		Resources: []Resource{},
		Updated:   now.UTC().Truncate(time.Second),
	}
	if a := s.cfg.Agent; a != nil {
		st.Agent = &Health{
			Live: a.Live(), Ready: a.Ready(), Connected: a.EventSourceStatus().Connected,
			LastHeartbeat: a.Stats().LastHeartbeat.UTC().Truncate(time.Second),
		}
	}
	resources, err := s.resources(ctx, b)
	if err != nil {
		return Status{}, err
	}
	if len(resources) > 0 {
		st.Project.Name = resources[0].ProjectName
	}
	st.Resources = make([]Resource, len(resources))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	for i := range resources {
		g.Go(func() error {
			r, err := s.resource(gctx, &resources[i], month)
			st.Resources[i] = r
			return err
		})
	}
	return st, g.Wait()
}

// resources returns the live resources inside b, oldest first as Waldur
// lists them. Waldur's filters select them; each is checked against b as
// well, so a filter the server ignored cannot widen what a key sees.
func (s *statusSource) resources(ctx context.Context, b apikeys.Binding) ([]waldur.Resource, error) {
	var out []waldur.Resource
	if b.ResourceUUID != (waldur.UUID{}) {
		r, err := s.cfg.Client.Resources.Get(ctx, b.ResourceUUID, resourceFields...)
		if waldur.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("widget: read resource %s: %w", waldur.Hex(b.ResourceUUID), err)
		}
		if inside(b, r) {
			out = append(out, *r)
		}
		return out, nil
	}
	for r, err := range s.cfg.Client.Resources.List(ctx, waldur.ListResourcesOptions{
		ProjectUUID: b.ProjectUUID, CustomerUUID: b.CustomerUUID, OfferingUUID: b.OfferingUUID,
		States: liveStates, Fields: resourceFields,
	}) {
		if err != nil {
			return nil, fmt.Errorf("widget: list resources of project %s: %w", waldur.Hex(b.ProjectUUID), err)
		}
		if inside(b, &r) {
			out = append(out, r)
		}
		if len(out) == s.cfg.MaxResources {
			break
		}
	}
	return out, nil
}

// inside reports whether r is a live resource inside binding b. The project
// must match; other binding fields constrain when set.
func inside(b apikeys.Binding, r *waldur.Resource) bool {
	within := func(want, got waldur.UUID) bool { return want == (waldur.UUID{}) || want == got }
	return r.ProjectUUID == b.ProjectUUID && within(b.CustomerUUID, r.CustomerUUID) &&
		within(b.OfferingUUID, r.OfferingUUID) && within(b.ResourceUUID, r.UUID) &&
		r.State != waldur.ResourceStateTerminated
}

// resource reads one resource's keys and this month's usage.
func (s *statusSource) resource(ctx context.Context, r *waldur.Resource, month time.Time) (Resource, error) {
	out := Resource{
		UUID: waldur.Hex(r.UUID), Name: r.Name, State: string(r.State), Offering: r.OfferingName,
		Keys: []Key{}, Usage: []Usage{},
	}
	used := map[string]float64{}
	for u, err := range s.cfg.Client.Usages.List(ctx, waldur.ListUsagesOptions{
		ResourceUUID: r.UUID, BillingPeriod: month, Fields: []string{"resource_uuid", "type", "usage"},
	}) {
		if err != nil {
			return out, fmt.Errorf("widget: list usage of resource %s: %w", out.UUID, err)
		}
		if u.ResourceUUID == r.UUID {
			used[u.Type] += u.Usage
		}
	}
	out.Usage = usageRows(r, used)

	local, err := s.localKeys(ctx, r.UUID)
	if err != nil {
		return out, err
	}
	for k, err := range s.cfg.Client.APIKeys.List(ctx, waldur.ListAPIKeysOptions{ResourceUUID: r.UUID}) {
		if err != nil {
			return out, fmt.Errorf("widget: list API keys of resource %s: %w", out.UUID, err)
		}
		if k.ResourceUUID == r.UUID {
			out.Keys = append(out.Keys, Key{ClientID: k.ClientID, State: string(k.State), PublicID: local[k.ClientID]})
		}
	}
	return out, nil
}

// localKeys maps the client ids of a resource's valid local keys to the
// display form of the newest key carrying each.
func (s *statusSource) localKeys(ctx context.Context, resource waldur.UUID) (map[string]string, error) {
	if s.keys == nil {
		return nil, nil
	}
	recs, err := s.keys.List(ctx, apikeys.Filter{ResourceUUID: resource})
	if err != nil {
		return nil, fmt.Errorf("widget: list local keys of resource %s: %w", waldur.Hex(resource), err)
	}
	now := time.Now()
	out := make(map[string]string, len(recs))
	for i := range recs { // oldest first, so the newest valid one wins
		if r := &recs[i]; r.ClientID != "" && r.State(now) == apikeys.ReasonValid {
			out[r.ClientID] = r.Display()
		}
	}
	return out, nil
}

// usageRows lists the offering's usage-billed and limited components in the
// offering's order, then any other component with usage, by type.
func usageRows(r *waldur.Resource, used map[string]float64) []Usage {
	rows := []Usage{}
	seen := map[string]bool{}
	for _, c := range r.OfferingComponents {
		limit := componentLimit(r, &c)
		if c.BillingType != "usage" && limit == nil && used[c.Type] == 0 {
			continue
		}
		seen[c.Type] = true
		rows = append(rows, Usage{Type: c.Type, Name: cmp.Or(c.Name, c.Type), Unit: c.MeasuredUnit, Usage: used[c.Type], Limit: limit})
	}
	var rest []Usage
	for t, v := range used {
		if !seen[t] {
			rest = append(rest, Usage{Type: t, Name: t, Usage: v})
		}
	}
	slices.SortFunc(rest, func(a, b Usage) int { return cmp.Compare(a.Type, b.Type) })
	return append(rows, rest...)
}

func componentLimit(r *waldur.Resource, c *waldur.OfferingComponent) *float64 {
	if l, ok := r.Limits[c.Type]; ok {
		v := float64(l)
		return &v
	}
	if c.LimitAmount != nil {
		v := float64(*c.LimitAmount)
		return &v
	}
	return nil
}
