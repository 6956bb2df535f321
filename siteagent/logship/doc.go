// Package logship ships an agent's log records to Waldur, where the service
// provider sees them next to the agent's registration
// (marketplace-site-agent-logs, Waldur 8.1), as Waldur's reference agent does
// with its log_shipping setting.
//
// A Shipper is an slog.Handler. Put it next to the program's own handler, and
// run it:
//
//	ship := logship.New(logship.Config{
//		Send:     client.Agents.SendLogs,
//		Identity: logship.IdentityByName(client, offering, ""),
//	})
//	logger := slog.New(logship.Tee(slog.NewTextHandler(os.Stderr, nil), ship))
//	go ship.Run(ctx) // returns after a last flush once ctx ends
//
// Handle never blocks and never fails: records wait in a bounded queue
// (Config.QueueSize) and are sent in batches (Config.BatchSize, at least every
// Config.FlushInterval). When the queue is full, or Waldur keeps refusing a
// batch, records are dropped and counted (Dropped); the agent's work never
// waits for Waldur's log endpoint. A Waldur without the endpoint (404)
// switches shipping off. Only records at Config.Level and above are shipped,
// WARNING by default.
//
// Records become Waldur log rows: the level mapped to DEBUG, INFO, WARNING or
// ERROR, the message followed by the record's attributes as key=value, and
// the module taken from the message's "pkg: " prefix ("siteagent: approve
// order" has module siteagent), else Config.Module.
package logship
