package agentmetrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
}

var (
	ordersDesc     = desc("orders_total", "Orders by outcome since the agent started.", "outcome")
	stuckDesc      = desc("orders_stuck", "Orders executing longer than StuckOrderAge at the last pass.")
	inFlightDesc   = desc("work_in_flight", "Work running now.")
	eventsDesc     = desc("events_total", "Events by result since the agent started.", "result")
	connectedDesc  = desc("broker_connected", "1 while events can arrive from the source (polling counts as connected).", "source")
	reconnectsDesc = desc("broker_reconnects_total", "Broker sessions re-established after a lost one.")
	usageDesc      = desc("usage_reports_total", "Resource-months of usage by result.", "result")
	readyDesc      = desc("ready", "1 when the agent is ready (its /readyz answers 200).")
	logsDesc       = desc("log_records_total", "Log records shipped to Waldur or dropped.", "result")
)

// agentCollector reads an agent's Stats at each scrape.
type agentCollector struct{ a *siteagent.Agent }

func (c *agentCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{ordersDesc, stuckDesc, inFlightDesc, eventsDesc, connectedDesc, reconnectsDesc, usageDesc, readyDesc} {
		ch <- d
	}
}

func (c *agentCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.a.Stats()
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter(ordersDesc, s.OrdersApproved, "approved")
	counter(ordersDesc, s.OrdersRejected, "rejected")
	counter(ordersDesc, s.OrdersDone, "done")
	counter(ordersDesc, s.OrdersErred, "erred")
	counter(ordersDesc, s.OrdersRetried, "retried")
	gauge(stuckDesc, float64(s.OrdersStuck))
	gauge(inFlightDesc, float64(s.InFlight))
	counter(eventsDesc, s.EventsProcessed, "processed")
	counter(eventsDesc, s.EventsFailed, "failed")
	counter(eventsDesc, s.EventsMalformed, "malformed")
	counter(eventsDesc, s.EventsUnknown, "unknown")
	counter(eventsDesc, s.EventsDuplicate, "duplicate")
	counter(usageDesc, s.UsageReported, "reported")
	counter(usageDesc, s.UsageUnchanged, "unchanged")
	counter(usageDesc, s.UsageFailed, "failed")

	src := c.a.EventSourceStatus()
	if src.Name != "" {
		gauge(connectedDesc, boolValue(src.Connected), src.Name)
	}
	counter(reconnectsDesc, int64(src.Reconnects))
	gauge(readyDesc, boolValue(c.a.Ready()))
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

type logCollector struct{ s LogShipper }

func (c *logCollector) Describe(ch chan<- *prometheus.Desc) { ch <- logsDesc }

func (c *logCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(logsDesc, prometheus.CounterValue, float64(c.s.Sent()), "shipped")
	ch <- prometheus.MustNewConstMetric(logsDesc, prometheus.CounterValue, float64(c.s.Dropped()), "dropped")
}
