// Package waldurtest is an in-memory fake of the Waldur API for testing site
// agents in a plain go test, and for running examples without a Waldur.
//
// A test starts a server, seeds what a consumer would have done (an offering,
// an order), runs the code under test against Server.URL and Server.Token, and
// checks the outcome through snapshots, the call log and the order history:
//
//	func TestOrderIsProcessed(t *testing.T) {
//		s := waldurtest.NewServer(t) // closed when the test ends
//		offering := s.AddOffering(waldurtest.OfferingSpec{
//			Components: []waldurtest.ComponentSpec{{Type: "cpu", BillingType: "limit"}},
//		})
//		order := s.AddOrder(waldurtest.OrderSpec{Offering: offering, Limits: map[string]int64{"cpu": 100}})
//
//		// The code under test talks to s.URL() with s.Token(); here it is a
//		// client the server made.
//		c := s.Client()
//		require.NoError(t, c.Orders.Approve(t.Context(), order))
//		require.NoError(t, c.Orders.SetDone(t.Context(), order))
//
//		o, _ := s.Order(order)
//		assert.Equal(t, waldur.OrderStateDone, o.State)
//		assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, s.Transitions(order))
//	}
//
// Outside tests (in examples and demos) use New and Close instead of NewServer.
//
// # What it implements
//
// Every operation of the project's OpenAPI description (openapi/waldur.yaml)
// answers in its generated wire types, with Waldur's conventions: UUIDs as 32
// hex digits (paths and bodies accept the hyphenated form too), lists as bare
// arrays paged by page and page_size (default 10, at most 300) with Link and
// X-Result-Count headers, HEAD counts, sparse fieldsets with repeated field=,
// DRF error bodies, and 401 with WWW-Authenticate: Token for missing or
// invalid credentials. Requests authenticate with "Token <key>" (DRF token),
// "Bearer w_…" (personal access token) or "Bearer <other>" (OIDC access
// token); a credential sent under another kind's scheme is refused.
//
// Objects follow Waldur's state machines. Order actions are refused in other
// states with 409 {"detail": "Valid states for operation: …"} (or, with
// WithInvalidStateStatus, 400 and an array body), and finishing an order
// changes its resource as Waldur does: a Create order's resource becomes OK, a
// Terminate order's Terminated, an Update order's limits are applied.
// Offering users and resource API keys have their own transitions.
//
// The fake follows what Waldur's server code does where the schema does not
// say: set_state_executing and set_state_erred answer 405 unless the offering
// is Marketplace.Slurm, set_state_done unless it is Slurm, Basic or Support;
// set_state_erred needs both error_message and error_traceback (Waldur fails
// with 500 without either, the fake answers 400 naming the key); an order
// with a future StartDate goes to pending-start-date on approval until
// StartDueOrders; usage is filed under the month of its date in the server's
// time zone (WithTimeZone); SyncStaleResources re-pushes resources whose
// last_sync is over an hour old, as Waldur's resync does; offering_user
// events carry the state as Waldur's FSM integer (5 = OK).
// register_service, register_processor, register_queue,
// register_event_subscription and create_queue are get-or-create: 201 when
// created, 200 when the object existed.
//
// Permissions are not modelled: every authenticated user sees and may change
// everything.
//
// # Events
//
// Where Waldur would publish to RabbitMQ (an order reaching pending-provider
// or done, a username being set, a command on a resource API key being
// requested (CommandAPIKey, RotateAPIKey), a project role changing, a
// resource being paused or resynced) the server produces an Event, keeps
// it for Server.Events and hands it to the EventSink given with
// WithEventSink; Server.Emit sends any other event the same way.
// register_queue and create_queue hand the queue to a QueueProvisioner, so a
// broker-backed implementation can create the queues for real.
//
// NewRabbitMQ is that implementation: it provisions vhosts, users and queues
// in a real RabbitMQ through its management API, with Waldur's queue
// arguments, and publishes the server's events to them as Waldur does (STOMP
// or AMQP, persistent, with Waldur's x-message-id), so an agent under test
// consumes from a real broker:
//
//	rmq, err := waldurtest.NewRabbitMQ(waldurtest.RabbitMQConfig{
//		ManagementURL: "http://guest:guest@127.0.0.1:15672", STOMPAddr: "127.0.0.1:61613",
//	})
//	...
//	s := waldurtest.NewServer(t, waldurtest.WithQueueProvisioner(rmq), waldurtest.WithEventSink(rmq))
//
// # Failures
//
// SetFaults injects 500s, 429s with Retry-After and latency, deterministically
// for a seed; FailNext fails the next calls of one operation. Faults are
// decided before the handler runs, so a faulted call changes nothing, and
// they are marked in the call log. WithLegacyWaldur and WithoutOperations make
// operations answer 404 like an older Waldur.
package waldurtest
