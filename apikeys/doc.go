// Package apikeys issues and checks API keys for a vendor's own service sold
// through Waldur, and meters their use for billing.
//
// When a customer orders an offering, the vendor issues keys bound to the
// Waldur resource and project. Every call with a key is verified in memory
// (a warm verification costs a few hundred nanoseconds and no allocation),
// rate limited per key, counted, and the counts are reported as running
// totals per resource, component and billing month, ready to become Waldur
// component usage.
//
//	store := apikeys.NewMemoryStore() // or sqlstore.New(db, ...) for PostgreSQL / SQLite
//	keys, err := apikeys.New(apikeys.Config{Store: store})
//	if err != nil { ... }
//	go keys.Run(ctx) // persists last-used times in batches
//
//	issued, err := keys.IssueForResource(ctx, apikeys.Binding{
//		ProjectUUID:  projectUUID,
//		ResourceUUID: resourceUUID,
//	}, apikeys.IssueOptions{ClientID: "gw-1", Scopes: []string{"chat:write"}, TTL: 90 * 24 * time.Hour})
//	fmt.Println(issued.Key.Format()) // shown once; only its hash is stored
//
//	meter, _ := waldurUsage.NewMeter(apikeys.MeterConfig{}) // see WaldurUsage
//	go meter.Run(ctx)
//	mux.Handle("/v1/", apikeys.Middleware(keys, apikeys.MiddlewareConfig{Meter: meter})(api))
//
// # Key format
//
// A key reads "wak_" + 12-character public id + "_" + 22-character secret +
// 6-character checksum, all base62 (see the grammar next to Parse): 45
// characters with the default prefix, such as "wak_3kTMd9ZqLw0B_" followed
// by 28 more.
//
// The type prefix ("wak" by default, configurable) tells what the string is;
// the secret carries 131 random bits from crypto/rand; the CRC-32 checksum
// lets Parse reject typos offline and lets secret scanners confirm a match.
// ScanPattern returns a regular expression for scanners:
//
//	\bwak_[0-9A-Za-z]{12}_[0-9A-Za-z]{28}\b
//
// The public id names the record, so verification is one lookup by primary
// key and user interfaces can show "wak_3kTMd9ZqLw0B" to tell keys apart.
//
// # Storage
//
// A Store keeps only SHA-256 of each key (HMAC-SHA-256 with Config.Pepper),
// plus metadata: binding to Waldur customer, project, offering and resource;
// scopes; expiry (required unless Config.AllowNoExpiry); revocation; last
// use; an optional per-key rate limit; a free-form ClientID label (Waldur's
// resource API key client_id); and the rotation link between a key and its
// successor. NewMemoryStore is in process; package apikeys/sqlstore stores
// records with database/sql in PostgreSQL or SQLite; package
// apikeys/storetest is the conformance suite both pass.
//
// # Verification
//
// Manager.Verify returns a Result whose Reason is one of valid, malformed,
// not found, expired, revoked, rate limited or scope missing; Result.Err
// gives the matching sentinel (ErrExpired, ...) for errors.Is. Records are
// cached (bounded, with a TTL) together with their token buckets; unknown
// ids are cached too. A revocation through the Manager takes effect at once;
// one made by another process sharing the Store is seen within
// Config.CacheTTL.
//
// # Rotation and the Waldur lifecycle
//
// Rotate issues a successor with the same binding and scopes and keeps the
// old key working for a grace period (Config.RotationGrace), so clients can
// switch without downtime. IssueForResource, RevokeResource, CurrentForClient
// and List with Filter.ResourceUUID are the operations Waldur's resource API
// key lifecycle needs: keys per resource labelled by client_id, rotation on
// request, revocation when the resource terminates.
//
// Provisioner runs that lifecycle inside a site agent (package siteagent):
// wrapped around the backend's order processor it issues each new resource's
// keys (two by default) for Waldur's report_created, revokes them on
// termination, and as the agent's key rotator answers the consumer's rotation
// requests with set_key, the old value working on for the grace period.
//
// # Metering
//
// Meter.Add counts units of a component ("requests", "tokens") per key;
// Meter.Flush hands a UsageSink the running total of each resource,
// component and calendar month (in MeterConfig.Location). Totals, not
// deltas, make reports idempotent, and a failed flush is simply retried.
//
// WaldurUsage is the sink that makes them Waldur component usage: the site
// agent's usage passes ask it for each resource's totals per billing month
// (siteagent.Config.Usage), mapped to the offering's component types. After a
// restart it continues from the usage Waldur already holds.
//
// # HTTP
//
// Middleware accepts "Authorization: Bearer <key>" and "Authorization: Token
// <key>", puts the key's Identity in the request context (FromContext), and
// answers 401, 403, 429 or 503 with a small JSON body. Malformed, unknown,
// expired and revoked keys all get the same 401, so a caller cannot learn
// which keys exist.
//
// Secrets never reach logs or errors: Key redacts itself when printed or
// logged, and the package logs only public ids.
package apikeys
