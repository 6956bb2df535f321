package agentmetrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

const namespace = "waldur_agent"

// Metrics collects an agent's metrics into a registry. It implements
// siteagent.Observer. Create it with New.
type Metrics struct {
	reg      prometheus.Registerer
	gatherer prometheus.Gatherer

	events    *prometheus.HistogramVec
	lastEvent prometheus.Gauge
	rest      *prometheus.CounterVec
	usage     *prometheus.HistogramVec

	mu      sync.Mutex
	watched bool
}

// New registers the metrics with reg. If reg is also a prometheus.Gatherer
// (a *prometheus.Registry is), Handler and Wrap serve it; otherwise they
// serve prometheus.DefaultGatherer.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		reg:      reg,
		gatherer: prometheus.DefaultGatherer,
		events: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "event_duration_seconds",
			Help:    "Time from an event's delivery to the agent until it was handled or failed.",
			Buckets: []float64{.005, .01, .05, .1, .5, 1, 5, 30, 120, 600},
		}, []string{"object_type", "result"}),
		lastEvent: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "last_event_timestamp_seconds",
			Help: "Unix time at which the last event was handled.",
		}),
		rest: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "rest_requests_total",
			Help: "HTTP requests to Waldur by method and status code, each retry counted.",
		}, []string{"method", "code"}),
		usage: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "usage_pass_duration_seconds",
			Help:    "Duration of one usage pass over an offering's resources.",
			Buckets: []float64{.1, .5, 1, 5, 15, 60, 300, 900, 1800, 3600},
		}, []string{"result"}),
	}
	if g, ok := reg.(prometheus.Gatherer); ok {
		m.gatherer = g
	}
	reg.MustRegister(m.events, m.lastEvent, m.rest, m.usage)
	return m
}

// EventHandled implements siteagent.Observer.
func (m *Metrics) EventHandled(e siteagent.Event, took time.Duration, err error) {
	m.events.WithLabelValues(string(e.ObjectType), result(err)).Observe(took.Seconds())
	if err == nil {
		m.lastEvent.SetToCurrentTime()
	}
}

// UsagePassDone implements siteagent.Observer.
func (m *Metrics) UsagePassDone(_ waldur.UUID, took time.Duration, err error) {
	m.usage.WithLabelValues(result(err)).Observe(took.Seconds())
}

func result(err error) string {
	if err != nil {
		return "failed"
	}
	return "ok"
}

// Transport returns an http.RoundTripper that counts each request through
// base by method and status code; give it to the Waldur client with
// waldur.WithHTTPClient. A nil base means http.DefaultTransport.
func (m *Metrics) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{base: base, m: m}
}

type roundTripper struct {
	base http.RoundTripper
	m    *Metrics
}

func (t roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	t.m.rest.WithLabelValues(req.Method, code).Inc()
	return resp, err
}

// Watch registers the metrics read from the agent's Stats and event source
// at each scrape. Call it once, after siteagent.New; a second call panics.
func (m *Metrics) Watch(a *siteagent.Agent) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.watched {
		panic("agentmetrics: Watch called twice")
	}
	m.watched = true
	m.reg.MustRegister(&agentCollector{a: a})
}

// LogShipper is what WatchLogs reads; a *logship.Shipper is one.
type LogShipper interface {
	Sent() int64
	Dropped() int64
}

// WatchLogs registers waldur_agent_log_records_total for a log shipper.
func (m *Metrics) WatchLogs(s LogShipper) {
	m.reg.MustRegister(&logCollector{s: s})
}

// Handler serves the metrics in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.gatherer, promhttp.HandlerOpts{})
}

// Wrap serves GET /metrics and hands every other request to h, usually
// the agent's HealthHandler, so one listener answers probes and scrapes.
func (m *Metrics) Wrap(h http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.Handle("/", h)
	return mux
}
