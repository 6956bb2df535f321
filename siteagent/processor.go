package siteagent

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// OrderProcessor carries out marketplace orders on the backend: it creates,
// updates, terminates or restores the resource an order is about.
//
// The agent calls ProcessOrder only for orders in state executing, after it has
// approved them; it owns every Waldur state transition. The returned error
// decides what happens next:
//
//   - nil: the agent records the Result on the resource and marks the order done;
//   - an error wrapped with Permanent: the order is marked erred with the message;
//   - any other error: transient; the order stays executing and is retried with
//     backoff.
//
// ProcessOrder must be idempotent: after a crash or a lost response it may be
// called again for an order it already carried out. Check the backend (or
// o.Resource's backend_id) before creating anything.
type OrderProcessor interface {
	ProcessOrder(ctx context.Context, o *Order) (Result, error)
}

// OrderProcessorFunc adapts a function to OrderProcessor.
type OrderProcessorFunc func(ctx context.Context, o *Order) (Result, error)

// ProcessOrder calls f.
func (f OrderProcessorFunc) ProcessOrder(ctx context.Context, o *Order) (Result, error) {
	return f(ctx, o)
}

// OrderTypes routes each order to the processor for its type. An order whose
// type has no processor is marked erred with ErrUnsupportedOrderType, so a
// backend that cannot terminate says so instead of leaving orders hanging.
// Restore orders go to Restore, or to Create when Restore is nil.
//
// OrderTypes does not forward optional interfaces (OrderEvaluator, Describer) of
// the processors it holds; set Evaluator and Info on it instead.
type OrderTypes struct {
	Create    OrderProcessor
	Update    OrderProcessor
	Terminate OrderProcessor
	Restore   OrderProcessor

	// Evaluator, if set, decides orders pending the provider's approval.
	Evaluator OrderEvaluator
	// Info describes the processor to Waldur; zero fields take defaults.
	Info ProcessorInfo
}

// ProcessOrder dispatches on o.Type.
func (t OrderTypes) ProcessOrder(ctx context.Context, o *Order) (Result, error) {
	var p OrderProcessor
	switch o.Type {
	case waldur.OrderTypeCreate:
		p = t.Create
	case waldur.OrderTypeUpdate:
		p = t.Update
	case waldur.OrderTypeTerminate:
		p = t.Terminate
	case waldur.OrderTypeRestore:
		p = t.Restore
		if p == nil {
			p = t.Create
		}
	}
	if p == nil {
		return Result{}, Permanent(fmt.Errorf("%w: %s", ErrUnsupportedOrderType, o.Type))
	}
	return p.ProcessOrder(ctx, o)
}

// EvaluateOrder implements OrderEvaluator: it asks t.Evaluator, or accepts.
func (t OrderTypes) EvaluateOrder(ctx context.Context, o *Order) (Decision, error) {
	if t.Evaluator == nil {
		return Accept(), nil
	}
	return t.Evaluator.EvaluateOrder(ctx, o)
}

// ProcessorInfo implements Describer.
func (t OrderTypes) ProcessorInfo() ProcessorInfo { return t.Info }

// OrderEvaluator is an optional interface of an OrderProcessor. When
// implemented, orders in state pending-provider are handed to EvaluateOrder
// and the agent approves, rejects or leaves them according to the Decision.
// Without it every pending order is approved. A returned error is transient:
// the order is evaluated again later.
type OrderEvaluator interface {
	EvaluateOrder(ctx context.Context, o *Order) (Decision, error)
}

// OrderEvaluatorFunc adapts a function to OrderEvaluator.
type OrderEvaluatorFunc func(ctx context.Context, o *Order) (Decision, error)

// EvaluateOrder calls f.
func (f OrderEvaluatorFunc) EvaluateOrder(ctx context.Context, o *Order) (Decision, error) {
	return f(ctx, o)
}

// Decision is an OrderEvaluator's answer: Accept, Reject or KeepPending.
type Decision struct {
	verdict verdict
	reason  string
}

type verdict int

const (
	verdictAccept verdict = iota
	verdictReject
	verdictKeep
)

// Accept approves the order; the agent then processes it.
func Accept() Decision { return Decision{verdict: verdictAccept} }

// Reject rejects the order; reason is shown to the consumer.
func Reject(reason string) Decision { return Decision{verdict: verdictReject, reason: reason} }

// KeepPending leaves the order pending; it is evaluated again on the next
// reconciliation pass or event.
func KeepPending() Decision { return Decision{verdict: verdictKeep} }

// String describes the decision for logs.
func (d Decision) String() string {
	switch d.verdict {
	case verdictReject:
		return "reject"
	case verdictKeep:
		return "keep pending"
	default:
		return "accept"
	}
}

// Describer is an optional interface of a processor: it names the processor
// and its backend in Waldur's agent registry (register_processor). Without it
// the name is the processor's Go type name and the backend type "go".
type Describer interface {
	ProcessorInfo() ProcessorInfo
}

// ProcessorInfo names a processor and its backend for Waldur. Names are the
// keys of Waldur's get-or-create registration, so keep them stable.
type ProcessorInfo struct {
	Name           string // e.g. "StorageProcessor"
	BackendType    string // e.g. "ceph"; "Type of the backend, for example SLURM."
	BackendVersion string // e.g. "18.2.1"
}

func describe(p any) ProcessorInfo {
	var info ProcessorInfo
	if d, ok := p.(Describer); ok {
		info = d.ProcessorInfo()
	}
	if info.Name == "" {
		t := reflect.TypeOf(p)
		for t != nil && t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t != nil && t.Name() != "" {
			info.Name = t.Name()
		} else {
			info.Name = "Processor"
		}
	}
	if info.BackendType == "" {
		info.BackendType = "go"
	}
	return info
}

// Result is what a processor reports after carrying out an order. The agent
// writes the non-zero fields to the order's resource in Waldur before marking
// the order done: BackendID with set_backend_id, BackendMetadata with
// set_backend_metadata, Endpoints with set_endpoints, Limits with set_limits
// and APIKeys with report_created.
type Result struct {
	BackendID       string           // the backend's identifier of the resource
	BackendMetadata map[string]any   // free-form facts about the backend object
	Endpoints       []Endpoint       // how the consumer reaches the resource
	Limits          map[string]int64 // limits as applied, when they differ from the order's
	// APIKeys are resource API keys the processor made and applied to the
	// backend; the agent reports them with report_created (Waldur 8.1).
	APIKeys    []APIKey
	inProgress *inProgressResult // set by InProgress
}

type inProgressResult struct{ backendOrderID string }

// InProgress is the Result of an asynchronous backend: the work has started
// (for example a job with id backendOrderID was submitted) but is not finished.
// The agent records backendOrderID on the order (set_backend_id), leaves the
// order executing and calls the processor again later, with
// Order.BackendOrderID set, until it returns a final Result or an error.
func InProgress(backendOrderID string) Result {
	return Result{inProgress: &inProgressResult{backendOrderID: backendOrderID}}
}

// IsInProgress reports whether r was made by InProgress.
func (r Result) IsInProgress() bool { return r.inProgress != nil }

// Endpoint is an access point of a resource shown to the consumer.
type Endpoint struct {
	Name string
	URL  string
}

// Order is what a processor gets: the order as Waldur has it, with its
// offering, and the resource on demand.
type Order struct {
	UUID  waldur.UUID
	Type  waldur.OrderType
	State waldur.OrderState

	OfferingUUID waldur.UUID
	ResourceUUID waldur.UUID // the marketplace resource (Waldur's marketplace_resource_uuid)
	ResourceName string
	ProjectUUID  waldur.UUID
	ProjectName  string
	CustomerUUID waldur.UUID
	CustomerName string
	PlanUUID     waldur.UUID

	// Limits are the requested component limits (new limits for Update orders).
	Limits map[string]int64
	// Attributes are the consumer's order form, including "name".
	Attributes map[string]any
	// BackendOrderID is what an earlier InProgress result recorded, "" at first.
	BackendOrderID string
	// Attempt counts the calls for this order in this process, from 1.
	Attempt int

	// Details is the order as read from Waldur.
	Details *waldur.Order
	// Offering is the order's offering with its components and plugin options.
	Offering *waldur.ProviderOffering

	client   *waldur.Client
	mu       sync.Mutex
	resource *waldur.Resource
}

// Resource returns the order's marketplace resource, reading it from Waldur on
// first use. For Update, Terminate and Restore orders, and for Create orders
// that are being retried, the agent has read it already and no call is made.
func (o *Order) Resource(ctx context.Context) (*waldur.Resource, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.resource != nil {
		return o.resource, nil
	}
	if o.client == nil || o.ResourceUUID == (waldur.UUID{}) {
		return nil, fmt.Errorf("siteagent: order %s has no resource", o.UUID)
	}
	r, err := o.client.Resources.Get(ctx, o.ResourceUUID)
	if err != nil {
		return nil, fmt.Errorf("siteagent: read resource of order %s: %w", o.UUID, err)
	}
	o.resource = r
	return r, nil
}
