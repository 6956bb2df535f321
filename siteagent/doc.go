// Package siteagent turns a Go program into a Waldur site agent.
//
// A site agent runs at a service provider. Waldur, the marketplace, tells it
// about orders for the provider's offering; the agent provisions, changes and
// removes resources on the provider's backend and reports back. With this
// package the program supplies the backend work, and the agent does the rest:
//
//	agent, err := siteagent.New(siteagent.Config{
//		WaldurURL:    os.Getenv("WALDUR_API_URL"),
//		Token:        os.Getenv("WALDUR_API_TOKEN"),
//		OfferingUUID: os.Getenv("WALDUR_OFFERING_UUID"),
//		Orders: siteagent.OrderTypes{
//			Create:    siteagent.OrderProcessorFunc(createVolume),
//			Update:    siteagent.OrderProcessorFunc(resizeVolume),
//			Terminate: siteagent.OrderProcessorFunc(deleteVolume),
//		},
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	log.Fatal(agent.Run(ctx))
//
// # What Run does
//
// Run checks the credentials, registers the agent in Waldur's agent registry
// once (identity, services, processors), opens the event source, processes every
// order waiting for the provider, and then handles events and periodic passes
// until its context ends. Every ReconcileInterval it lists pending orders again;
// every HeartbeatInterval it reports that it is alive together with its Stats.
// On cancellation it stops taking work, lets in-flight processors finish within
// ShutdownTimeout and returns nil. It installs no signal handlers.
//
// # Orders
//
// The agent owns every Waldur state transition. An order pending the provider's
// approval is offered to an OrderEvaluator, if the processor implements one, and
// approved, rejected or left pending accordingly. An executing order is handed
// to the OrderProcessor; its Result (backend id, metadata, endpoints, limits) is
// written to the resource and the order is marked done. A processor error wrapped
// with Permanent marks the order erred with its message (at most
// MaxErrorMessage bytes); a panic does too, as "internal error in the site
// agent (log id …)", its value and stack going to the log only; any other error
// is transient and retried with backoff, the order left untouched. A processor
// may answer InProgress for asynchronous backends and is asked again later.
//
// An approved order whose start date is still to come waits in
// pending-start-date; the agent processes it once Waldur has moved it to
// executing. Waldur refuses set_state_erred for offerings other than
// Marketplace.Slurm and set_state_done for types other than Slurm, Basic and
// Support (405): the agent warns about such offerings at start, and an order
// whose transition is refused is logged once, counted in Stats.OrdersRefused
// and left executing in Waldur, never retried.
//
// Waldur is the truth: each step acts on the state just read, a transition that
// Waldur refuses because the order moved is followed by a re-read, and finished
// orders are never written to. Duplicate and stale events are therefore
// harmless, and so are restarts in the middle of an order. Work for one order is
// serialised; different orders run concurrently up to Config.Concurrency.
//
// # More than orders
//
// Each other kind of work is optional and switched on by setting its Config
// field; the agent then subscribes to the events that kind needs, and no more:
//
//   - Membership (MemberLister, MemberAdder, MemberRemover): the agent keeps a
//     resource's members on the backend equal to its Waldur team, reacting to
//     role, resource and account events and reconciling every SyncInterval.
//   - OfferingUsers (OfferingUserProcessor): where the provider makes
//     usernames, the agent walks Waldur's offering-user states around the
//     username or the pending linking/validation the processor answers.
//   - Usage (UsageReporter): every UsageInterval the agent collects each
//     resource's usage for the current and previous month and reports what
//     changed; a second identical pass writes nothing.
//   - ResourceStatus (ResourceStatusProcessor): paused, downscaled and restored
//     resources are applied to the backend, and backend limits and metadata
//     flow back to Waldur.
//   - APIKeys (APIKeyRotator, or APIKeyProcessor for every command): resource
//     API keys a Create processor returns in Result.APIKeys are reported to
//     Waldur, and Waldur's commands on single keys (create, rotate, pause,
//     resume, update, delete) are carried out and acknowledged, dispatched on
//     the key's pending_action. Package apikeys provides a ready processor and
//     metering.
//   - PeriodicLimits (PeriodicLimitsProcessor): Waldur's periodic usage
//     policies (Slurm fairshare and limits) are applied to resources and
//     the outcome reported to the policy.
//
// # Events
//
// Waldur announces changes through RabbitMQ; the agent treats every event as
// a hint and re-reads what it acts on, so a lost event only waits for the
// next reconciliation and a duplicate costs at most a read. At start the
// agent calls register_queue for each offering's identity with the event
// types its processors need and consumes the queue Waldur names, logged in
// with the RabbitMQ user Waldur names and the agent's token as password.
// By default (EventsAuto) it connects over AMQP when EventsConfig.AMQPURL is
// set and reachable, otherwise over STOMP on web-STOMP at
// wss://<Waldur host>/rmqws-stomp, where Waldur's Helm chart publishes it;
// with neither reachable it says so once and runs on polling alone, trying
// again now and then. EventsAMQP and EventsSTOMP insist on one transport;
// EventsPolling uses none. Against a Waldur older than 8.1, which has no
// register_queue, it uses the per-type legacy queues of
// register_event_subscription, whose password is the user's DRF token: that
// path needs Config.Token to be a DRF token, not a personal access token.
// An OIDC token (Config.TokenKind) works for REST only; such an agent polls.
// Use amqps:// or wss:// for a broker on another machine: the token is the
// broker password, and the agent warns about cleartext URLs.
//
// Delivery is at least once: a message is acknowledged only after its event
// was handled, one whose handling failed is requeued after a growing delay,
// and one that cannot be decoded is rejected into Waldur's dead-letter queue
// and counted (Stats.EventsMalformed). Lost connections are re-established
// with jittered, capped backoff, and a refused login or a vanished queue
// makes the agent call register_queue again, which resets the password and
// recreates the queue. Message ids (Waldur's x-message-id, a hash of queue
// and content) of handled events are remembered for an hour, so copies are
// dropped without a REST call (Stats.EventsDuplicate). EventSourceStatus
// reports the connection; /readyz includes it.
//
// Where the broker is out of reach, Waldur's webhooks can bring the hints
// instead: mount WebhookHandler, with a secret, at a public HTTPS address
// (Waldur posts to no loopback or private address) and point a Waldur web
// hook at it; otherwise polling alone does. A source of your own plugs in as
// EventsConfig.Source.
//
// # Replicas
//
// For high availability, run two or three processes with the same Config and
// a distinct, stable Replicas.ID each (a pod or host name). They share the
// agent identity and therefore its queue, where RabbitMQ gives each event to
// one of them; each replica heartbeats as its own processor, "<name>@<ID>".
// What the queue cannot share out is claimed through Waldur: a pending order
// by approve_by_provider, which only one replica's call gets through, and an
// executing order by a lease in its resource's backend metadata (key
// "waldur_agent_lease") that the replica takes before its processor runs and
// renews while it works. Membership, usage, resource-status, offering-user
// and API key passes run on the replica that holds the offering's passes
// lease, kept in the statistics of the identity's "replica_lease" service.
// A replica that dies leaves its leases to run out (Replicas.LeaseTTL), and
// then another takes its orders and passes over.
//
// Waldur has no compare-and-set, so a lease is taken by writing it, waiting
// Replicas.Settle and reading it back: safe as long as reading and writing a
// lease takes less than half of Settle, which the agent checks, giving up a
// claim that took longer. Each claim therefore costs Settle; with replicas a
// replica processes up to Concurrency/Settle orders a second, so raise
// Concurrency rather than lower Settle. What it does not promise: a processor
// killed in the middle of an order (kill -9, a lost machine) is called again
// by the replica that takes the order over, as it would be after a restart
// of a single agent, so processors must stay idempotent; and a lease write
// that Waldur applies long after the agent gave up on it can still let two
// replicas work on one order, which the agent notices at the next renewal
// and stops its own processor (Stats.LeasesLost).
//
// # Health
//
// HealthHandler serves /healthz, /readyz and /stats for orchestrators.
package siteagent
