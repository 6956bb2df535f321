// Package execbackend runs a site's own programs (shell scripts, Python,
// anything executable) as a siteagent backend: one program per kind of work,
// a JSON request on its standard input and a JSON answer on its standard
// output.
//
//	b, err := execbackend.New(execbackend.Config{
//		Create:    execbackend.Command{"/opt/site/bin/create-volume"},
//		Terminate: execbackend.Command{"/opt/site/bin/delete-volume"},
//		Usage:     execbackend.Command{"/opt/site/bin/usage", "--json"},
//		Timeout:   2 * time.Minute,
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//	cfg.Orders = b           // with an Evaluate command, b also decides pending orders
//	cfg.Usage = b.Usage()    // nil when no Usage command is set
//	cfg.Membership = b.Membership()
//
// # Running programs
//
// A Command is an argument vector: the program and its fixed arguments. It
// is started directly, never through a shell, and nothing from Waldur is put
// on its command line: order and resource data arrive on standard input
// only, so a resource named "x; rm -rf /" is just a string in JSON. The
// program inherits the agent's environment without the Waldur credentials
// (WALDUR_API_TOKEN, WALDUR_API_TOKEN_FILE, OIDC secrets), plus Config.Env
// and WALDUR_ACTION, the request's action. It runs in Config.Dir.
//
// Each run is bounded by Config.Timeout (default 5 minutes, and never
// longer than the agent's processor timeout). When it expires the program's
// process group gets SIGTERM, and SIGKILL 5 seconds later.
//
// # Exit codes
//
//	0                   success; standard output holds the answer (or nothing)
//	75 (EX_TEMPFAIL)    transient failure: the agent retries with backoff
//	any other non-zero  permanent failure: the order is marked erred
//	killed, timed out   transient (the agent retries)
//	cannot be started   transient (a deployment problem, not the order's fault)
//
// A permanent failure's message is the program's standard error (its last
// 4 KiB, trimmed), or "exit status N" when it wrote none; Waldur shows it to
// the consumer, so keep secrets out of it. Transient failures carry it too,
// for the agent's log. An answer that is not the JSON described below is a
// permanent failure. Output beyond Config.MaxOutput (default 1 MiB) fails
// the run.
//
// # Requests and answers
//
// Every request is one JSON object with "protocol": 1 and "action". Orders
// ("create", "update", "terminate", "restore"; "restore" falls back to the
// Create command) carry "order" and, when the order has one, "resource":
//
//	{"protocol": 1, "action": "create",
//	 "order": {"uuid": "…", "type": "Create", "state": "executing",
//	           "offering_uuid": "…", "resource_uuid": "…", "resource_name": "results",
//	           "project_uuid": "…", "project_name": "…", "customer_uuid": "…",
//	           "customer_name": "…", "plan_uuid": "…", "limits": {"storage": 100},
//	           "attributes": {"name": "results"}, "backend_order_id": "", "attempt": 1},
//	 "resource": {"uuid": "…", "name": "…", "backend_id": "vol-1", "state": "OK",
//	              "offering_uuid": "…", "project_uuid": "…", "project_name": "…",
//	              "customer_uuid": "…", "customer_name": "…", "limits": {…},
//	              "attributes": {…}, "paused": false, "downscaled": false}}
//
// and answer (every field optional; empty output is an empty answer):
//
//	{"backend_id": "vol-1", "backend_metadata": {"pool": "ssd"},
//	 "endpoints": [{"name": "NFS", "url": "nfs://filer/vol-1"}],
//	 "limits": {"storage": 100}, "in_progress": ""}
//
// A non-empty "in_progress" (a backend job id) leaves the order executing; the
// program is asked again later with the id in order.backend_order_id.
//
// "evaluate" (orders pending the provider's approval, with an Evaluate
// command) carries "order" and answers {"decision": "accept" | "reject" |
// "keep", "reason": "…"}; no Evaluate command accepts every order.
//
// Membership ("list_members", "add_members", "remove_members"; all three
// commands or none) carries "resource", and for add and remove "members":
// [{"username", "kind" ("user", "service_account", "course_account"), "uuid",
// "full_name", "email", "role"}]. list_members answers {"members": [{"username":
// "alice"}, …]}; the others answer nothing.
//
// "usage" carries "resource" and "period": {"month": "2026-08", "start":
// RFC 3339, "end": RFC 3339}, and answers {"totals": {"cpu": 12.5},
// "by_user": {"cpu": {"alice": 10, "bob": 2.5}}}.
//
// UUIDs are 32 hex digits, as Waldur writes them.
package execbackend
