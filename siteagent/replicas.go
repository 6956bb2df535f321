package siteagent

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Several replicas of one agent (same config, same offerings) share the
// identity in Waldur and therefore its one queue, where RabbitMQ hands each
// event to one consumer. What a queue cannot share out is claimed through
// Waldur: a new order by approve_by_provider, which only one replica's call
// gets through, and everything else by a lease stored in Waldur.
//
// A lease is a record {replica, order, until} written where every replica can
// read it. Waldur has no compare-and-set, so a free lease is taken as in
// Fischer's timed mutual exclusion: read it, write ours, wait Settle, read it
// again, and hold it only if ours is still there. A replica that read the
// lease free before our write writes within Settle (its write is abandoned
// otherwise), so after Settle one writer's record stands and only its writer
// holds the lease. A held lease is renewed without the wait.

// Defaults of ReplicaConfig.
const (
	DefaultLeaseTTL    = time.Minute
	DefaultLeaseSettle = time.Second
)

// ReplicaConfig runs the agent as one of several replicas for the same
// offerings. The zero value runs it alone, with no leases.
type ReplicaConfig struct {
	// ID names this replica: unique among the replicas, stable across its
	// restarts (a pod or host name), at most 64 letters, digits, '.', '_'
	// and '-'. Setting it switches the leases on, and the replica reports
	// its processors to Waldur as "<name>@<ID>".
	ID string
	// LeaseTTL is how long a lease lasts unless renewed; the holder renews
	// it every third of that while it works. A crashed replica's order and
	// passes are taken over once its leases ran out. Default 1m.
	LeaseTTL time.Duration
	// Settle is how long a replica waits after writing a free lease before
	// reading it back. Reading the lease and writing it must take less than
	// half of it; a claim that takes longer is abandoned (and the lease
	// waits for LeaseTTL). Default 1s.
	Settle time.Duration
}

func (c *ReplicaConfig) withDefaults() error {
	if c.ID == "" {
		return nil
	}
	if len(c.ID) > 64 || strings.IndexFunc(c.ID, func(r rune) bool {
		return r > unicode.MaxASCII || !(unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-", r))
	}) >= 0 {
		return configError("Replicas.ID", "%q: use at most 64 letters, digits, '.', '_' and '-'", c.ID)
	}
	if c.LeaseTTL < 0 || c.Settle < 0 {
		return configError("Replicas", "LeaseTTL and Settle must not be negative")
	}
	setDefault(&c.LeaseTTL, DefaultLeaseTTL)
	setDefault(&c.Settle, DefaultLeaseSettle)
	if c.Settle*3 > c.LeaseTTL {
		return configError("Replicas.Settle", "%v is too long for LeaseTTL %v (at most a third)", c.Settle, c.LeaseTTL)
	}
	return nil
}

// lease is the record replicas write to claim work.
type lease struct {
	Replica string    `json:"replica"`
	Order   string    `json:"order,omitempty"` // the order an order lease is for
	Until   time.Time `json:"until"`
}

// leaseStore is where one lease lives in Waldur.
type leaseStore interface {
	load(ctx context.Context) (lease, bool, error)
	store(ctx context.Context, l lease) error
}

// replicas is the agent's side of running beside other replicas; nil when
// the agent runs alone.
type replicas struct {
	a   *Agent
	cfg ReplicaConfig

	mu     sync.Mutex
	passes map[waldur.UUID]time.Time // offering → until when this replica holds its passes
	held   map[string]time.Time      // lease key → the until of the record this replica wrote
}

func newReplicas(a *Agent) *replicas {
	if a.cfg.Replicas.ID == "" {
		return nil
	}
	return &replicas{a: a, cfg: a.cfg.Replicas, passes: make(map[waldur.UUID]time.Time), held: make(map[string]time.Time)}
}

// processorName is the name a processor is registered under in Waldur.
func (r *replicas) processorName(name string) string {
	if r == nil {
		return name
	}
	return name + "@" + r.cfg.ID
}

// claim takes or renews the lease in st for order (empty for a passes lease).
// key names the lease in this replica's memory of what it holds. It reports
// whether this replica holds the lease now.
//
// A record of this replica's that it does not remember taking (a write that
// it gave up on but Waldur applied late, or one from before a restart) counts
// as another replica's until it runs out: the replica that held the lease
// meanwhile may still be working.
func (r *replicas) claim(ctx context.Context, st leaseStore, key, order string) (bool, error) {
	began := time.Now()
	cur, ok, err := st.load(ctx)
	if err != nil {
		return false, err
	}
	now := r.a.cfg.Now()
	mine := lease{Replica: r.cfg.ID, Order: order, Until: now.Add(r.cfg.LeaseTTL).UTC()}
	if ok && cur.Order == order && cur.Until.After(now) {
		if cur.Replica != r.cfg.ID || !r.remembers(key, cur.Until) {
			r.forget(key)
			return false, nil
		}
		if err := st.store(ctx, mine); err != nil {
			return false, err
		}
		r.remember(key, mine.Until)
		return true, nil
	}
	// Free: write, let every replica that read it free too write within
	// Settle, and see whose record stands.
	r.forget(key)
	wctx, cancel := context.WithDeadline(ctx, began.Add(r.cfg.Settle/2))
	err = st.store(wctx, mine)
	cancel()
	if err != nil {
		return false, err
	}
	if time.Since(began) > r.cfg.Settle/2 {
		// Another replica may have taken the lease before this write
		// landed: leave it, and the record that may now block it until it
		// runs out.
		return false, nil
	}
	t := time.NewTimer(r.cfg.Settle)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-t.C:
	}
	cur, ok, err = st.load(ctx)
	if err != nil {
		return false, err
	}
	if !ok || cur.Replica != r.cfg.ID || cur.Order != order || !cur.Until.Equal(mine.Until) {
		return false, nil
	}
	r.remember(key, mine.Until)
	return true, nil
}

func (r *replicas) remember(key string, until time.Time) {
	r.mu.Lock()
	r.held[key] = until
	r.mu.Unlock()
}

func (r *replicas) remembers(key string, until time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.held[key].Equal(until)
}

func (r *replicas) forget(key string) {
	r.mu.Lock()
	delete(r.held, key)
	r.mu.Unlock()
}

// keep renews a held lease every third of its TTL while work runs under the
// returned context, and cancels that context if the lease was lost, so two
// replicas never work on the same thing for long. stop ends the renewal and
// forgets the lease.
func (r *replicas) keep(ctx context.Context, st leaseStore, key, order string) (context.Context, func()) {
	wctx, cancelWork := context.WithCancel(ctx)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(r.cfg.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-rctx.Done():
				return
			case <-t.C:
			}
			held, err := r.claim(rctx, st, key, order)
			if rctx.Err() != nil {
				return
			}
			if err != nil {
				r.a.log.Warn("siteagent: renewing a lease failed; trying again", "lease", key, "error", err)
				continue
			}
			if !held {
				r.a.counters.leasesLost.Add(1)
				r.a.log.Warn("siteagent: lease lost to another replica; stopping the work", "lease", key)
				cancelWork()
				return
			}
		}
	}()
	var once sync.Once
	return wctx, func() {
		once.Do(func() {
			cancel()
			<-done
			cancelWork()
			r.forget(key)
		})
	}
}

// holdsPasses reports whether this replica runs the periodic passes of off.
func (r *replicas) holdsPasses(off *offering) bool {
	if r == nil {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.a.cfg.Now().Before(r.passes[off.id])
}

// passOfferings returns the offerings whose membership, usage, resource
// status, offering-user and key passes this replica runs: all of them when it
// runs alone, those whose passes lease it holds otherwise.
func (a *Agent) passOfferings() []*offering {
	if a.replicas == nil {
		return a.offerings
	}
	out := make([]*offering, 0, len(a.offerings))
	for _, off := range a.offerings {
		if a.replicas.holdsPasses(off) {
			out = append(out, off)
		}
	}
	return out
}

// claimPasses takes or renews the passes lease of every offering; where this
// replica takes one over, the passes run at once.
func (r *replicas) claimPasses(ctx context.Context) {
	gained := false
	for _, off := range r.a.offerings {
		before := r.holdsPasses(off)
		held, err := r.claim(ctx, &passesLease{a: r.a, off: off}, "passes:"+waldur.Hex(off.id), "")
		if err != nil {
			if ctx.Err() == nil {
				r.a.noteError(err)
				r.a.log.Warn("siteagent: claiming the passes lease failed", "offering", off.id, "error", err)
			}
			continue
		}
		until := time.Time{}
		if held {
			// Stop a margin before the lease runs out, so that the next
			// holder never overlaps this one.
			until = r.a.cfg.Now().Add(r.cfg.LeaseTTL - r.cfg.Settle)
		}
		r.mu.Lock()
		r.passes[off.id] = until
		r.mu.Unlock()
		if held && !before {
			gained = true
			r.a.log.Info("siteagent: this replica runs the periodic passes", "offering", off.id, "replica", r.cfg.ID)
		}
	}
	held := int64(0)
	for _, off := range r.a.offerings {
		if r.holdsPasses(off) {
			held++
		}
	}
	r.a.counters.passesHeld.Store(held)
	if gained {
		for _, c := range r.a.caps {
			if _, isOrders := c.(*orderWork); isOrders || c.interval() <= 0 {
				continue
			}
			select {
			case r.a.kickChan(c) <- struct{}{}:
			default:
			}
		}
	}
}

// start claims the passes leases once and then keeps claiming them in bg.
func (r *replicas) start(runCtx context.Context, bg *sync.WaitGroup) {
	if r == nil {
		return
	}
	r.claimPasses(runCtx)
	bg.Add(1)
	go func() {
		defer bg.Done()
		t := time.NewTicker(r.cfg.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-t.C:
				r.claimPasses(runCtx)
			}
		}
	}()
}

// passesLeaseService is the agent service whose statistics hold an
// offering's passes lease; Waldur shows the holder there.
const passesLeaseService = "replica_lease"

// passesLease keeps an offering's passes lease in the statistics of a service
// of its identity.
type passesLease struct {
	a   *Agent
	off *offering
	svc waldur.UUID
}

func (p *passesLease) load(ctx context.Context) (lease, bool, error) {
	p.off.mu.Lock()
	id := p.off.identity
	p.off.mu.Unlock()
	svc, _, err := p.a.client.Agents.RegisterService(ctx, id, passesLeaseService, passesLeaseService)
	if err != nil {
		return lease{}, false, fmt.Errorf("siteagent: read the passes lease of offering %s: %w", p.off.id, err)
	}
	p.svc = svc.UUID
	stats, _ := svc.Statistics.(map[string]any)
	l, ok := decodeLease(stats["lease"])
	return l, ok, nil
}

func (p *passesLease) store(ctx context.Context, l lease) error {
	if p.svc == (waldur.UUID{}) {
		if _, _, err := p.load(ctx); err != nil {
			return err
		}
	}
	if _, err := p.a.client.Agents.SetStatistics(ctx, p.svc, map[string]any{"lease": encodeLease(l)}); err != nil {
		return fmt.Errorf("siteagent: write the passes lease of offering %s: %w", p.off.id, err)
	}
	return nil
}

// orderLeaseKey is the key of a resource's backend metadata that holds the
// lease of the order being processed on it.
const orderLeaseKey = "waldur_agent_lease"

// orderLease keeps an order's lease in its resource's backend metadata, next
// to whatever else the metadata holds.
type orderLease struct {
	a        *Agent
	resource waldur.UUID
	metadata map[string]any // as last read
}

func (o *orderLease) load(ctx context.Context) (lease, bool, error) {
	r, err := o.a.client.Resources.Get(ctx, o.resource, "uuid", "backend_metadata")
	if err != nil {
		return lease{}, false, fmt.Errorf("siteagent: read the order lease on resource %s: %w", o.resource, err)
	}
	o.metadata = r.BackendMetadata
	l, ok := decodeLease(o.metadata[orderLeaseKey])
	return l, ok, nil
}

func (o *orderLease) store(ctx context.Context, l lease) error {
	md := make(map[string]any, len(o.metadata)+1)
	for k, v := range o.metadata {
		md[k] = v
	}
	md[orderLeaseKey] = encodeLease(l)
	if err := o.a.client.Resources.SetBackendMetadata(ctx, o.resource, md); err != nil {
		return fmt.Errorf("siteagent: write the order lease on resource %s: %w", o.resource, err)
	}
	o.metadata = md
	return nil
}

func encodeLease(l lease) map[string]any {
	m := map[string]any{"replica": l.Replica, "until": l.Until.Format(time.RFC3339Nano)}
	if l.Order != "" {
		m["order"] = l.Order
	}
	return m
}

func decodeLease(v any) (lease, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return lease{}, false
	}
	var l lease
	l.Replica, _ = m["replica"].(string)
	l.Order, _ = m["order"].(string)
	s, _ := m["until"].(string)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || l.Replica == "" {
		return lease{}, false
	}
	l.Until = t
	return l, true
}

// claimOrder takes the lease of an executing order before its processor
// runs. It returns the context to process the order in, cancelled should the
// lease be lost; release (never nil) to call when the processor is done; and
// whether the order is this replica's to process: an order held by a live
// replica is left to it, and to a later pass should that replica die.
func (a *Agent) claimOrder(ctx context.Context, o *waldur.Order) (_ context.Context, release func(), mine bool, err error) {
	if a.replicas == nil || o.MarketplaceResourceUUID == (waldur.UUID{}) {
		return ctx, func() {}, true, nil
	}
	st := &orderLease{a: a, resource: o.MarketplaceResourceUUID}
	key := "order:" + waldur.Hex(o.UUID)
	held, err := a.replicas.claim(ctx, st, key, waldur.Hex(o.UUID))
	if err != nil || !held {
		if err == nil {
			a.counters.ordersLeasedElsewhere.Add(1)
			a.log.Debug("siteagent: order held by another replica", "order", o.UUID)
		}
		return ctx, func() {}, false, err
	}
	wctx, release := a.replicas.keep(ctx, st, key, waldur.Hex(o.UUID))
	return wctx, release, true, nil
}

// firstIdentity settles on one identity when replicas starting together each
// created one: all of them pick the oldest of the identities with the name,
// so they share its queue. The others stay without services, where Waldur's
// cleanup of orphaned identities finds them.
func (r *replicas) firstIdentity(ctx context.Context, off *offering, created waldur.UUID) (waldur.UUID, error) {
	first, firstAt := created, time.Time{}
	for ident, err := range r.a.client.Agents.ListIdentities(ctx, waldur.ListIdentitiesOptions{Name: off.name, OfferingUUID: off.id}) {
		if err != nil {
			return waldur.UUID{}, fmt.Errorf("siteagent: look up agent identity %q: %w", off.name, err)
		}
		if ident.Name != off.name {
			continue
		}
		if firstAt.IsZero() || ident.Created.Before(firstAt) ||
			(ident.Created.Equal(firstAt) && waldur.Hex(ident.UUID) < waldur.Hex(first)) {
			first, firstAt = ident.UUID, ident.Created
		}
	}
	if first != created {
		r.a.log.Info("siteagent: another replica created the identity first; using it",
			"offering", off.id, "identity", first, "unused", created)
	}
	return first, nil
}
