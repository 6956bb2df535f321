package apikeys_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/siteagenttest"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// eventSource delivers events to the agent when a test sends them, and
// reports the handler's result.
type eventSource struct {
	ready chan struct{}
	ch    chan delivery
}

type delivery struct {
	e    siteagent.Event
	done chan error
}

func newEventSource() *eventSource {
	return &eventSource{ready: make(chan struct{}), ch: make(chan delivery)}
}

func (s *eventSource) Run(ctx context.Context, h siteagent.EventHandler) error {
	close(s.ready)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case d := <-s.ch:
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.done <- h(ctx, d.e)
			}()
		}
	}
}

// eventLog keeps the fake's events for delivery by the test.
type eventLog struct {
	mu     sync.Mutex
	events []waldurtest.Event
}

func (l *eventLog) Publish(_ context.Context, e waldurtest.Event) error {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
	return nil
}

// last returns the newest event of a type, decoded as the agent's sources do.
func (l *eventLog) last(t *testing.T, objectType string) siteagent.Event {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.events) - 1; i >= 0; i-- {
		if l.events[i].ObjectType == objectType {
			b, err := json.Marshal(l.events[i].Payload)
			require.NoError(t, err)
			e, err := siteagent.DecodeEvent(b, "")
			require.NoError(t, err)
			return e
		}
	}
	t.Fatalf("no %s event", objectType)
	return siteagent.Event{}
}

// kit is a fake Waldur with an "AI agent" offering, a Manager with an
// injected clock and an event source for the agent.
type kit struct {
	*fixture
	s        *waldurtest.Server
	events   *eventLog
	src      *eventSource
	offering uuid.UUID
}

func newKit(t *testing.T, opts ...waldurtest.Option) *kit {
	t.Helper()
	return newKitFrom(t, newFixture(t, nil), opts...)
}

// newKitFrom is newKit on a given Manager fixture.
func newKitFrom(t *testing.T, f *fixture, opts ...waldurtest.Option) *kit {
	t.Helper()
	k := &kit{fixture: f, events: &eventLog{}, src: newEventSource()}
	k.s = waldurtest.NewServer(t, append(opts, waldurtest.WithEventSink(k.events))...)
	k.offering = k.s.AddOffering(waldurtest.OfferingSpec{Name: "AI agent", Components: []waldurtest.ComponentSpec{
		{Type: "requests", BillingType: "usage"}, {Type: "ktokens", BillingType: "usage", MeasuredUnit: "1000 tokens"},
	}})
	return k
}

// provisioner returns a Provisioner on the kit's Manager and fake.
func (k *kit) provisioner(t *testing.T, edit func(*apikeys.ProvisionerConfig)) *apikeys.Provisioner {
	t.Helper()
	cfg := apikeys.ProvisionerConfig{Keys: k.m, Client: k.s.Client(), Scopes: []string{"chat:write", "agent:read"},
		RotationGrace: 10 * time.Minute}
	if edit != nil {
		edit(&cfg)
	}
	p, err := apikeys.NewProvisioner(cfg)
	require.NoError(t, err)
	return p
}

// config returns an agent config with test-friendly intervals.
func (k *kit) config() siteagent.Config {
	return siteagent.Config{
		Client:            k.s.Client(),
		Token:             k.s.Token(),
		OfferingUUID:      k.offering.String(),
		ReconcileInterval: 20 * time.Millisecond,
		RetryBackoff:      time.Millisecond,
		MaxRetryBackoff:   10 * time.Millisecond,
		Events:            siteagent.EventsConfig{Source: k.src},
	}
}

// wait blocks until cond holds, failing the test after a generous timeout.
func (k *kit) wait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, k.s.WaitFor(ctx, cond), "waiting for %s", what)
}

func (k *kit) waitOrder(t *testing.T, id uuid.UUID) waldur.Order {
	t.Helper()
	k.wait(t, "order done", func() bool {
		o, _ := k.s.Order(id)
		return o.State == waldur.OrderStateDone || o.State == waldur.OrderStateErred
	})
	o, _ := k.s.Order(id)
	require.Equal(t, waldur.OrderStateDone, o.State, o.ErrorMessage)
	return o
}

// keysOf returns Waldur's keys of a resource with their secrets.
func (k *kit) keysOf(rid uuid.UUID) (keys []waldur.ResourceAPIKey, secrets []string) {
	for _, key := range k.s.APIKeys() {
		if key.ResourceUUID == rid {
			s, _ := k.s.APIKeySecret(key.UUID)
			keys, secrets = append(keys, key), append(secrets, s)
		}
	}
	return keys, secrets
}

// gateway is a backend processor that records the orders it saw.
type gateway struct {
	mu     sync.Mutex
	orders []waldur.OrderType
	onTerm func()
}

func (g *gateway) ProcessOrder(_ context.Context, o *siteagent.Order) (siteagent.Result, error) {
	g.mu.Lock()
	g.orders = append(g.orders, o.Type)
	g.mu.Unlock()
	if o.Type == waldur.OrderTypeTerminate && g.onTerm != nil {
		g.onTerm()
	}
	if o.Type == waldur.OrderTypeCreate {
		return siteagent.Result{BackendID: "gw-42", Endpoints: []siteagent.Endpoint{{Name: "API", URL: "https://gw.example.com"}}}, nil
	}
	return siteagent.Result{}, nil
}

func TestCreateReportsTwoKeysBoundToTheResource(t *testing.T) {
	k := newKit(t)
	p := k.provisioner(t, func(c *apikeys.ProvisionerConfig) { c.Next = &gateway{} })
	cfg := k.config()
	cfg.Orders, cfg.APIKeys = p, p
	siteagenttest.Start(t, cfg)
	order := k.s.AddOrder(waldurtest.OrderSpec{Offering: k.offering, ResourceName: "assistant"})
	o := k.waitOrder(t, order)

	keys, secrets := k.keysOf(o.MarketplaceResourceUUID)
	require.Len(t, keys, 2)
	r, _ := k.s.Resource(o.MarketplaceResourceUUID)
	assert.Equal(t, "gw-42", r.BackendID)
	assert.Len(t, r.Endpoints, 1, "the wrapped processor's result is kept")
	for i, key := range keys {
		assert.Equal(t, []string{"gw-42-1", "gw-42-2"}[i], key.ClientID)
		assert.Equal(t, waldur.ResourceAPIKeyStateOK, key.State)
		res := k.verify(t, secrets[i], "chat:write", "agent:read")
		require.Equal(t, apikeys.ReasonValid, res.Reason)
		assert.Equal(t, key.ClientID, res.Identity.ClientID)
		assert.Equal(t, apikeys.Binding{CustomerUUID: o.CustomerUUID, ProjectUUID: o.ProjectUUID,
			OfferingUUID: k.offering, ResourceUUID: o.MarketplaceResourceUUID}, res.Identity.Binding)
		assert.Equal(t, "assistant", res.Identity.Name)
		assert.Equal(t, k.clock.Now().Add(apikeys.DefaultResourceKeyTTL), res.Identity.ExpiresAt)
		assert.Equal(t, apikeys.ReasonScopeMissing, k.verify(t, secrets[i], "orders:write").Reason)
	}
	assert.NotEqual(t, secrets[0], secrets[1])
}

func TestClientIDsFallBackToTheResourceUUID(t *testing.T) {
	k := newKit(t)
	p := k.provisioner(t, func(c *apikeys.ProvisionerConfig) { c.KeysPerResource = 3 }) // no backend: no backend id
	cfg := k.config()
	cfg.Orders = p
	siteagenttest.Start(t, cfg)
	o := k.waitOrder(t, k.s.AddOrder(waldurtest.OrderSpec{Offering: k.offering}))

	keys, _ := k.keysOf(o.MarketplaceResourceUUID)
	hex := waldur.Hex(o.MarketplaceResourceUUID)
	var ids []string
	for _, key := range keys {
		ids = append(ids, key.ClientID)
	}
	assert.Equal(t, []string{hex + "-1", hex + "-2", hex + "-3"}, ids)
	assert.Equal(t, ids, p.ClientIDs("", o.MarketplaceResourceUUID))
}

// A Create order whose report failed is processed again. The keys issued by
// the first attempt were never seen by Waldur, so they are revoked and new
// ones reported: Waldur holds exactly one working value per client id.
func TestRetriedCreateReportsFreshKeysAndRevokesTheLostOnes(t *testing.T) {
	k := newKit(t)
	p := k.provisioner(t, func(c *apikeys.ProvisionerConfig) { c.Next = &gateway{} })
	cfg := k.config()
	cfg.Orders = p
	k.s.FailNext("marketplace_resource_api_keys_report_created", 400, 1)
	siteagenttest.Start(t, cfg)
	o := k.waitOrder(t, k.s.AddOrder(waldurtest.OrderSpec{Offering: k.offering}))

	keys, secrets := k.keysOf(o.MarketplaceResourceUUID)
	require.Len(t, keys, 2)
	for _, s := range secrets {
		assert.Equal(t, apikeys.ReasonValid, k.verify(t, s).Reason)
	}
	all, err := k.m.List(context.Background(), apikeys.Filter{ResourceUUID: o.MarketplaceResourceUUID, IncludeRevoked: true})
	require.NoError(t, err)
	require.Len(t, all, 4, "two keys per attempt")
	revoked := 0
	for _, r := range all {
		if !r.RevokedAt.IsZero() {
			revoked++
		}
	}
	assert.Equal(t, 2, revoked, "the first attempt's keys, known to nobody")
}

// order builds the processor's view of a Create order for a fake resource.
func (k *kit) order(t *testing.T) *siteagent.Order {
	t.Helper()
	rid := k.s.AddResource(waldurtest.ResourceSpec{Offering: k.offering, State: "Creating"})
	r, _ := k.s.Resource(rid)
	return &siteagent.Order{UUID: uuid.New(), Type: waldur.OrderTypeCreate, OfferingUUID: k.offering,
		ResourceUUID: rid, ResourceName: r.Name, ProjectUUID: r.ProjectUUID, CustomerUUID: r.CustomerUUID}
}

// A crash between the two reports of a Create order: the retry issues only
// the key Waldur lacks, and the key Waldur holds keeps working.
func TestCreateAfterAPartialReportIssuesOnlyTheMissingKey(t *testing.T) {
	k := newKit(t)
	ctx := context.Background()
	p := k.provisioner(t, func(c *apikeys.ProvisionerConfig) { c.Next = &gateway{} })
	o := k.order(t)

	first, err := p.ProcessOrder(ctx, o)
	require.NoError(t, err)
	require.Len(t, first.APIKeys, 2)
	_, err = k.s.Client().APIKeys.ReportCreated(ctx, o.ResourceUUID, first.APIKeys[0].ClientID, first.APIKeys[0].Secret)
	require.NoError(t, err) // then the agent stopped

	again, err := p.ProcessOrder(ctx, o)
	require.NoError(t, err)
	require.Len(t, again.APIKeys, 1)
	assert.Equal(t, "gw-42-2", again.APIKeys[0].ClientID)
	assert.Equal(t, apikeys.ReasonValid, k.verify(t, first.APIKeys[0].Secret).Reason, "held by Waldur")
	assert.Equal(t, apikeys.ReasonRevoked, k.verify(t, first.APIKeys[1].Secret).Reason, "never reported")
	assert.Equal(t, apikeys.ReasonValid, k.verify(t, again.APIKeys[0].Secret).Reason)

	_, err = k.s.Client().APIKeys.ReportCreated(ctx, o.ResourceUUID, again.APIKeys[0].ClientID, again.APIKeys[0].Secret)
	require.NoError(t, err)
	done, err := p.ProcessOrder(ctx, o)
	require.NoError(t, err)
	assert.Empty(t, done.APIKeys, "Waldur holds both")
	assert.Equal(t, apikeys.ReasonValid, k.verify(t, again.APIKeys[0].Secret).Reason)
}

func TestCreateFailsWhenWaldursKeysCannotBeRead(t *testing.T) {
	k := newKit(t)
	p := k.provisioner(t, func(c *apikeys.ProvisionerConfig) { c.Next = &gateway{} })
	o := k.order(t)
	k.s.FailNext("marketplace_resource_api_keys_list", 403, 1)
	res, err := p.ProcessOrder(context.Background(), o)
	require.Error(t, err)
	assert.False(t, siteagent.IsPermanent(err), "retried by the agent")
	assert.Empty(t, res.APIKeys)
	recs, err := k.m.List(context.Background(), apikeys.Filter{ResourceUUID: o.ResourceUUID})
	require.NoError(t, err)
	assert.Empty(t, recs, "nothing issued")
}

func TestBackendFailureIssuesNoKeys(t *testing.T) {
	k := newKit(t)
	p := k.provisioner(t, func(c *apikeys.ProvisionerConfig) {
		c.Next = siteagent.OrderProcessorFunc(func(context.Context, *siteagent.Order) (siteagent.Result, error) {
			return siteagent.Result{}, siteagent.Permanentf("quota exceeded")
		})
	})
	o := k.order(t)
	_, err := p.ProcessOrder(context.Background(), o)
	assert.True(t, siteagent.IsPermanent(err))
	recs, err := k.m.List(context.Background(), apikeys.Filter{ResourceUUID: o.ResourceUUID})
	require.NoError(t, err)
	assert.Empty(t, recs)

	// An asynchronous backend gets its keys once it is done.
	p = k.provisioner(t, func(c *apikeys.ProvisionerConfig) {
		c.Next = siteagent.OrderProcessorFunc(func(context.Context, *siteagent.Order) (siteagent.Result, error) {
			return siteagent.InProgress("job-1"), nil
		})
	})
	res, err := p.ProcessOrder(context.Background(), o)
	require.NoError(t, err)
	assert.True(t, res.IsInProgress())
	assert.Empty(t, res.APIKeys)
}

// startRotating runs an agent with the Provisioner for orders and rotations
// and returns a created resource with its keys.
func (k *kit) startRotating(t *testing.T, p *apikeys.Provisioner) (uuid.UUID, []waldur.ResourceAPIKey, []string) {
	t.Helper()
	cfg := k.config()
	cfg.Orders, cfg.APIKeys = p, p
	siteagenttest.Start(t, cfg)
	<-k.src.ready
	o := k.waitOrder(t, k.s.AddOrder(waldurtest.OrderSpec{Offering: k.offering}))
	keys, secrets := k.keysOf(o.MarketplaceResourceUUID)
	require.Len(t, keys, 2)
	return o.MarketplaceResourceUUID, keys, secrets
}

// deliver sends the fake's newest event of a type to the agent and returns
// the handler's result.
func (k *kit) deliver(t *testing.T, objectType string) error {
	t.Helper()
	d := delivery{e: k.events.last(t, objectType), done: make(chan error, 1)}
	k.src.ch <- d
	return <-d.done
}

func TestRotationEventSetsANewKeyAndTheOldOneLastsTheGrace(t *testing.T) {
	k := newKit(t)
	p := k.provisioner(t, func(c *apikeys.ProvisionerConfig) { c.Next = &gateway{} })
	rid, keys, old := k.startRotating(t, p)

	require.NoError(t, k.s.RotateAPIKey(keys[0].UUID))
	require.NoError(t, k.deliver(t, "resource_api_key_rotation"))

	key, _ := k.s.APIKey(keys[0].UUID)
	assert.Equal(t, waldur.ResourceAPIKeyStateOK, key.State)
	assert.Equal(t, "gw-42-1", key.ClientID, "the client id stays")
	fresh, _ := k.s.APIKeySecret(keys[0].UUID)
	require.NotEqual(t, old[0], fresh)
	res := k.verify(t, fresh, "chat:write")
	require.Equal(t, apikeys.ReasonValid, res.Reason)
	assert.Equal(t, rid, res.Identity.ResourceUUID)
	assert.Equal(t, "gw-42-1", res.Identity.ClientID)
	assert.Equal(t, apikeys.ReasonValid, k.verify(t, old[0]).Reason, "within the grace period")
	assert.Equal(t, apikeys.ReasonValid, k.verify(t, old[1]).Reason, "the other key is untouched")

	k.clock.Advance(10*time.Minute + time.Second)
	assert.Equal(t, apikeys.ReasonRevoked, k.verify(t, old[0]).Reason, "after the grace period")
	assert.Equal(t, apikeys.ReasonValid, k.verify(t, fresh).Reason)
	assert.Equal(t, apikeys.ReasonValid, k.verify(t, old[1]).Reason)

	// A second rotation of the same client id rotates the successor.
	require.NoError(t, k.s.RotateAPIKey(keys[0].UUID))
	require.NoError(t, k.deliver(t, "resource_api_key_rotation"))
	third, _ := k.s.APIKeySecret(keys[0].UUID)
	assert.Equal(t, apikeys.ReasonValid, k.verify(t, third).Reason)
	assert.Equal(t, apikeys.ReasonValid, k.verify(t, fresh).Reason, "grace again")
}

// A rotation for a client id no live local key carries (the key store was
// lost) issues a key bound as Waldur has the resource.
func TestRotationWithoutALocalKeyIssuesOne(t *testing.T) {
	k := newKit(t)
	p := k.provisioner(t, nil)
	project := k.s.AddProject(waldurtest.ProjectSpec{Name: "Climate"})
	rid := k.s.AddResource(waldurtest.ResourceSpec{Offering: k.offering, Project: project, BackendID: "gw-7", Name: "assistant"})
	key := k.s.AddAPIKey(waldurtest.APIKeySpec{Resource: rid, ClientID: "gw-7-1", Key: "lost"})
	r, _ := k.s.Resource(rid)

	got, err := p.RotateAPIKey(context.Background(), &siteagent.APIKeyRotation{KeyUUID: key, ResourceUUID: rid, ClientID: "gw-7-1"})
	require.NoError(t, err)
	assert.Equal(t, "gw-7-1", got.ClientID)
	res := k.verify(t, got.Secret, "chat:write")
	require.Equal(t, apikeys.ReasonValid, res.Reason)
	assert.Equal(t, apikeys.Binding{CustomerUUID: r.CustomerUUID, ProjectUUID: project, OfferingUUID: k.offering, ResourceUUID: rid},
		res.Identity.Binding)
	assert.Equal(t, "assistant", res.Identity.Name)
}

func TestRotationOfAGoneResourceIsPermanent(t *testing.T) {
	for _, state := range []string{"Terminating", "Terminated", ""} {
		t.Run(state, func(t *testing.T) {
			k := newKit(t)
			p := k.provisioner(t, nil)
			rid := uuid.New()
			if state != "" {
				rid = k.s.AddResource(waldurtest.ResourceSpec{Offering: k.offering, State: state})
			}
			_, err := p.RotateAPIKey(context.Background(), &siteagent.APIKeyRotation{ResourceUUID: rid, ClientID: "x-1"})
			require.Error(t, err)
			assert.True(t, siteagent.IsPermanent(err), "set_erred: retrying cannot help")
		})
	}
}

func TestTerminateRevokesEveryKeyBeforeTheBackendRuns(t *testing.T) {
	k := newKit(t)
	gw := &gateway{}
	p := k.provisioner(t, func(c *apikeys.ProvisionerConfig) { c.Next = gw })
	rid, keys, secrets := k.startRotating(t, p)

	// One key is in a rotation's grace period when the resource goes.
	require.NoError(t, k.s.RotateAPIKey(keys[0].UUID))
	require.NoError(t, k.deliver(t, "resource_api_key_rotation"))
	rotated, _ := k.s.APIKeySecret(keys[0].UUID)
	secrets = append(secrets, rotated)
	for _, s := range secrets {
		require.Equal(t, apikeys.ReasonValid, k.verify(t, s).Reason)
	}

	var atBackend []apikeys.Reason
	gw.onTerm = func() {
		for _, s := range secrets {
			atBackend = append(atBackend, k.verify(t, s).Reason)
		}
	}
	k.waitOrder(t, k.s.AddOrder(waldurtest.OrderSpec{Offering: k.offering, Type: "Terminate", Resource: rid}))

	for _, s := range secrets {
		assert.Equal(t, apikeys.ReasonRevoked, k.verify(t, s).Reason)
	}
	assert.Equal(t, []apikeys.Reason{apikeys.ReasonRevoked, apikeys.ReasonRevoked, apikeys.ReasonRevoked}, atBackend)
	gw.mu.Lock()
	assert.Equal(t, []waldur.OrderType{waldur.OrderTypeCreate, waldur.OrderTypeTerminate}, gw.orders)
	gw.mu.Unlock()
}

func TestProvisionerForwardsEvaluationAndOtherOrders(t *testing.T) {
	k := newKit(t)
	ctx := context.Background()
	calls := 0
	next := siteagent.OrderTypes{
		Update: siteagent.OrderProcessorFunc(func(context.Context, *siteagent.Order) (siteagent.Result, error) {
			calls++
			return siteagent.Result{Limits: map[string]int64{"requests": 10}}, nil
		}),
		Evaluator: siteagent.OrderEvaluatorFunc(func(context.Context, *siteagent.Order) (siteagent.Decision, error) {
			return siteagent.Reject("no capacity"), nil
		}),
		Info: siteagent.ProcessorInfo{Name: "Gateway", BackendType: "llm"},
	}
	p := k.provisioner(t, func(c *apikeys.ProvisionerConfig) { c.Next = next })
	d, err := p.EvaluateOrder(ctx, &siteagent.Order{})
	require.NoError(t, err)
	assert.Equal(t, siteagent.Reject("no capacity").String(), d.String())
	assert.Equal(t, "Gateway", p.ProcessorInfo().Name)
	res, err := p.ProcessOrder(ctx, &siteagent.Order{Type: waldur.OrderTypeUpdate, ResourceUUID: uuid.New()})
	require.NoError(t, err)
	assert.Equal(t, map[string]int64{"requests": 10}, res.Limits)
	assert.Empty(t, res.APIKeys)
	assert.Equal(t, 1, calls)

	bare := k.provisioner(t, nil)
	d, err = bare.EvaluateOrder(ctx, &siteagent.Order{})
	require.NoError(t, err)
	assert.Equal(t, siteagent.Accept().String(), d.String())
	assert.Equal(t, "Provisioner", bare.ProcessorInfo().Name)
}

func TestNewProvisionerValidates(t *testing.T) {
	k := newKit(t)
	noExpiry := newFixture(t, func(c *apikeys.Config) { c.AllowNoExpiry = true })
	tests := []struct {
		name string
		cfg  apikeys.ProvisionerConfig
		want error
	}{
		{"no manager", apikeys.ProvisionerConfig{Client: k.s.Client()}, nil},
		{"no client", apikeys.ProvisionerConfig{Keys: k.m}, nil},
		{"negative count", apikeys.ProvisionerConfig{Keys: k.m, Client: k.s.Client(), KeysPerResource: -1}, nil},
		{"bad scope", apikeys.ProvisionerConfig{Keys: k.m, Client: k.s.Client(), Scopes: []string{"has space"}}, nil},
		{"bad rate", apikeys.ProvisionerConfig{Keys: k.m, Client: k.s.Client(), RateLimit: apikeys.RateLimit{Burst: 3}}, nil},
		{"no expiry", apikeys.ProvisionerConfig{Keys: k.m, Client: k.s.Client(), TTL: -1}, apikeys.ErrExpiryRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := apikeys.NewProvisioner(tt.cfg)
			require.Error(t, err)
			if tt.want != nil {
				assert.True(t, errors.Is(err, tt.want))
			}
		})
	}
	p, err := apikeys.NewProvisioner(apikeys.ProvisionerConfig{Keys: noExpiry.m, Client: k.s.Client(), TTL: -1,
		Next: siteagent.OrderProcessorFunc(func(context.Context, *siteagent.Order) (siteagent.Result, error) {
			return siteagent.Result{BackendID: "gw-9"}, nil
		})})
	require.NoError(t, err)
	o := k.order(t)
	o.Type = waldur.OrderTypeRestore
	res, err := p.ProcessOrder(context.Background(), o)
	require.NoError(t, err)
	require.Len(t, res.APIKeys, 2, "a restored resource gets the keys Waldur lacks")
	assert.Equal(t, "gw-9-1", res.APIKeys[0].ClientID)
	got := noExpiry.verify(t, res.APIKeys[0].Secret)
	require.Equal(t, apikeys.ReasonValid, got.Reason)
	assert.True(t, got.Identity.ExpiresAt.IsZero())
}
