// Package agentmetrics exposes a site agent's work as Prometheus metrics:
// orders by outcome, events by result and how long they take, REST calls
// to Waldur by status, the broker connection, and usage pass durations.
// It is the only package of this module that imports Prometheus; the agent
// itself reports through siteagent.Observer and Stats.
//
//	m := agentmetrics.New(prometheus.NewRegistry())
//	httpClient := &http.Client{Transport: m.Transport(http.DefaultTransport), Timeout: time.Minute}
//	client, _ := waldur.NewClient(url, waldur.WithToken(token), waldur.WithHTTPClient(httpClient))
//	cfg.Client, cfg.Token = client, token
//	cfg.Observer = m
//	agent, _ := siteagent.New(cfg)
//	m.Watch(agent)
//	go http.ListenAndServe(":9100", m.Wrap(agent.HealthHandler())) // /metrics next to /healthz
//
// # Metrics
//
//	waldur_agent_orders_total{outcome}            approved, rejected, done, erred, retried
//	waldur_agent_orders_stuck                     executing longer than StuckOrderAge
//	waldur_agent_work_in_flight                   work running now
//	waldur_agent_events_total{result}             processed, failed, malformed, unknown, duplicate
//	waldur_agent_event_duration_seconds{object_type,result}
//	                                              from delivery to the agent until handled
//	waldur_agent_last_event_timestamp_seconds     when the last event was handled
//	waldur_agent_rest_requests_total{method,code} every HTTP attempt to Waldur ("error" when none answered)
//	waldur_agent_broker_connected{source}         1 while events can arrive (polling counts as connected)
//	waldur_agent_broker_reconnects_total          broker sessions re-established after a loss
//	waldur_agent_usage_pass_duration_seconds{result}
//	                                              one usage pass over an offering
//	waldur_agent_usage_reports_total{result}      reported, unchanged, failed resource-months
//	waldur_agent_ready                            1 when /readyz would answer 200
//	waldur_agent_log_records_total{result}        shipped, dropped (with WatchLogs)
package agentmetrics
