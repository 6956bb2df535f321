// Package waldur is a client for the Waldur REST API as a site agent uses it:
// reading and moving marketplace orders, reporting on resources, usage and
// offering users, registering the agent and its event queues.
//
// A [Client] adds to every request the credentials ([WithCredential] with the
// token's [TokenKind]: DRF token, personal access token or OIDC token), a
// User-Agent that Waldur recognises as a site agent, and
// a retry policy ([RetryPolicy]): idempotent requests, and requests whose
// context went through [WithRetrySafe], are retried on network errors, 5xx and
// 429, honouring Retry-After. Every non-2xx answer is an [*APIError] carrying
// Waldur's explanation; [IsNotFound], [IsInvalidState], [IsTransient] and
// friends help decide what to do. Response bodies are bounded (64 MiB unless
// [WithMaxResponseBytes] says otherwise; [ErrResponseTooLarge]). List methods
// return lazy sequences that fetch page by page and stop when the loop stops.
//
//	c, err := waldur.NewClient("https://waldur.example.com", waldur.WithToken(os.Getenv("WALDUR_API_TOKEN")))
//	if err != nil {
//		return err
//	}
//	for order, err := range c.Orders.List(ctx, waldur.ListOrdersOptions{
//		OfferingUUID: offering,
//		States:       []waldur.OrderState{waldur.OrderStatePendingProvider},
//	}) {
//		if err != nil {
//			return err
//		}
//		switch err := c.Orders.Approve(ctx, order.UUID); {
//		case waldur.IsInvalidState(err):
//			// Moved on meanwhile; the next round re-reads it.
//		case err != nil:
//			return err
//		}
//	}
//
// The wire types (Order, Resource, ...) are generated from the project's
// OpenAPI description into package waldurapi and re-exported here as aliases.
// Optional fields are plain values, zero when absent, because Waldur's sparse
// fieldsets (the Fields options and field arguments) can leave out nearly any
// field. [Client.Raw] gives the generated low-level client, sharing the
// credentials and retry policy, for operations this package does not wrap.
//
// Waldur writes UUIDs as 32 hex digits; [UUID] values parse both that and the
// hyphenated form ([ParseUUID]) and compare as values. [Hex] renders the
// 32-digit form.
//
// Credentials and request bodies (API keys among them) are never logged and
// never appear in errors.
package waldur
