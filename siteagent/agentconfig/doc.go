// Package agentconfig builds siteagent.Config values from the places
// operators keep configuration: environment variables, and the YAML file of
// Waldur's reference agent (waldur-site-agent), so a site can switch to a Go
// agent without rewriting its configuration.
//
// Processors are code, so neither source sets them; the program does:
//
//	cfg, err := agentconfig.FromEnv(os.Getenv)
//	if err != nil {
//		log.Fatal(err) // names the variable, never echoes a token
//	}
//	cfg.Orders = myBackend{}
//	agent, err := siteagent.New(cfg)
//	if err != nil {
//		log.Fatal(err)
//	}
//	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
//	defer stop()
//	log.Fatal(agent.Run(ctx))
//
// # Environment
//
// FromEnv reads these variables; an unset one leaves its field at the zero
// value, which siteagent documents as the default. Durations use Go's
// syntax (90s, 5m, 1h30m).
//
//	WALDUR_API_URL                    Config.WaldurURL
//	WALDUR_API_TOKEN                  Config.Token (DRF token, or personal access token w_...)
//	WALDUR_API_TOKEN_FILE             Config.Token read from this file instead (systemd credentials, secrets mounts)
//	WALDUR_API_TOKEN_KIND             Config.TokenKind: auto (default), token (DRF), pat or oidc
//	WALDUR_OFFERING_UUID              Config.OfferingUUID; comma-separated for several (the rest go to OfferingUUIDs)
//	WALDUR_AGENT_NAME                 Config.Name
//	WALDUR_AGENT_CONCURRENCY          Config.Concurrency (1 to 10000)
//	WALDUR_AGENT_SHUTDOWN_TIMEOUT     Config.ShutdownTimeout
//	WALDUR_AGENT_RECONCILE_INTERVAL   Config.ReconcileInterval
//	WALDUR_AGENT_HEARTBEAT_INTERVAL   Config.HeartbeatInterval
//	WALDUR_AGENT_PROCESSOR_TIMEOUT    Config.ProcessorTimeout
//	WALDUR_AGENT_ASYNC_POLL_INTERVAL  Config.AsyncPollInterval
//	WALDUR_AGENT_RETRY_BACKOFF        Config.RetryBackoff
//	WALDUR_AGENT_MAX_RETRY_BACKOFF    Config.MaxRetryBackoff
//	WALDUR_AGENT_STUCK_ORDER_AGE      Config.StuckOrderAge
//	WALDUR_AGENT_ERROR_TRACEBACK      Config.ErrorTraceback (true or false)
//	WALDUR_AGENT_SYNC_INTERVAL        Config.SyncInterval
//	WALDUR_AGENT_USAGE_INTERVAL       Config.UsageInterval
//	WALDUR_AGENT_USAGE_PERIODS        Config.UsagePeriods (1 to 120)
//	WALDUR_AGENT_TIME_ZONE            Config.TimeZone (an IANA name such as Europe/Tallinn)
//	WALDUR_AGENT_REPLICA_ID           Config.Replicas.ID (run as one of several replicas)
//	WALDUR_AGENT_LEASE_TTL            Config.Replicas.LeaseTTL
//	WALDUR_AGENT_LEASE_SETTLE         Config.Replicas.Settle
//	WALDUR_EVENTS_MODE                Config.Events.Mode: auto, polling, amqp or stomp
//	WALDUR_EVENTS_AMQP_URL            Config.Events.AMQPURL
//	WALDUR_EVENTS_STOMP_URL           Config.Events.STOMPURL
//	WALDUR_EVENTS_RETRY_INTERVAL      Config.Events.RetryInterval
//	WALDUR_EVENTS_DEDUP_WINDOW        Config.Events.DedupWindow (negative disables)
//	WALDUR_EVENTS_DEDUP_SIZE          Config.Events.DedupSize (negative disables)
//
// The reference agent's WALDUR_SITE_AGENT_ORDER_PROCESS_PERIOD_MINUTES,
// WALDUR_SITE_AGENT_MEMBERSHIP_SYNC_PERIOD_MINUTES and
// WALDUR_SITE_AGENT_REPORT_PERIOD_MINUTES are honoured for
// ReconcileInterval, SyncInterval and UsageInterval when the variables above
// are unset. ApplyEnv applies the same variables over a Config loaded
// elsewhere.
//
// # The reference agent's file
//
// LoadSiteAgentFile and LoadSiteAgentYAML read waldur-site-agent's YAML into
// one Offering per entry of its offerings list: Offering.Config holds what
// maps to the agent (Waldur URL, token, offering, event settings, time
// zone, reporting periods), and BackendType, the *_backend names,
// BackendSettings and BackendComponents keep the backend part for the
// program's processors. YAML anchors and merge keys (<<) work as in the
// reference agent. Component carries the offering component settings
// typed, and Offering.ComponentRequests turns them into what
// waldur.OfferingsService.PushComponents publishes to the offering (the
// reference agent's load-components). Offering.PeriodicLimits is
// backend_settings.periodic_limits; enabled on a backend other than Slurm
// it is warned about and switched off, as nothing would apply it.
//
// Settings that do not carry over (sentry_dsn, global_proxy, mqtt_*, OIDC
// client credentials next to a token, ...) and unknown keys come back as
// File.Warnings with their line; the program decides whether to log them or
// refuse to start. Problems that stop the agent from working (no token, an
// offering UUID that is not a UUID, a value of the wrong kind) are *Error
// values naming the line and key. Tokens and other values that may be
// secret never appear in either.
package agentconfig
