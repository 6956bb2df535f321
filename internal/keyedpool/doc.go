// Package keyedpool runs work concurrently up to a bound while serialising work
// that shares a key.
//
// The site agent keys work by the Waldur object it touches (an order, a
// resource), so two deliveries about one order never race while different
// orders proceed in parallel:
//
//	p := keyedpool.New(8)
//	defer p.Close()
//	err := p.Do(ctx, "order:1f2e...", func(ctx context.Context) error { ... })
//
// Panics in work functions are recovered and returned as *PanicError.
package keyedpool
