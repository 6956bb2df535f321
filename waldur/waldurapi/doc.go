// Package waldurapi holds the Go wire types and request builders generated from
// openapi/waldur.yaml, this module's own OpenAPI description of the part of the
// Waldur REST API that a site agent uses.
//
// Most programs should use package waldur instead: it wraps these types with
// authentication, retries, pagination and typed errors. Reach for this package for
// the raw wire shapes (Order, Resource, OfferingUser, ...) or for an operation that
// package waldur does not wrap; waldur.Client.Raw returns a client of this package
// that shares the same HTTP setup.
//
// Everything in waldur.gen.go is generated; change openapi/waldur.yaml and run
// `go generate ./waldur/waldurapi/` instead of editing it. Optional fields are plain
// values (the zero value means "absent"), fields Waldur may send as null are
// pointers, and UUIDs are uuid.UUID values that accept Waldur's 32-hex form.
//
//	req, err := waldurapi.NewMarketplaceOrdersListRequest("https://waldur.example.org",
//		&waldurapi.MarketplaceOrdersListParams{
//			OfferingUUID: offeringUUID,
//			State:        []waldurapi.OrderState{waldurapi.OrderStatePendingProvider, waldurapi.OrderStateExecuting},
//			PageSize:     100,
//		})
//	if err != nil {
//		return err
//	}
//	req.Header.Set("Authorization", "Token "+token)
package waldurapi
