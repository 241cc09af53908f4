package gameday

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metric names on the /metrics endpoint (all gauges, from the latest
// snapshot): documented in the README.
const (
	MetricWrites      = "pgchaos_gameday_writes"              // {outcome="ok|failed|unknown"}: writes so far
	MetricWriteRate   = "pgchaos_gameday_write_rate"          // {outcome="ok|failed"}: per second, last interval
	MetricUnavailable = "pgchaos_gameday_unavailable_seconds" // since the last acknowledged write (0 while acked)
	MetricRole        = "pgchaos_gameday_instance_role"       // {instance,role}: 1 for the current role
	MetricTimeline    = "pgchaos_gameday_instance_timeline"   // {instance}
	MetricLag         = "pgchaos_gameday_replica_lag_bytes"   // {instance}: replay lag behind the primary
	MetricFault       = "pgchaos_gameday_fault_active"        // {fault}: 1 while a fault is applied
	MetricDeadline    = "pgchaos_gameday_fault_remaining_seconds"
	MetricStep        = "pgchaos_gameday_step" // the current step, 1-based
)

// Metrics serves the latest snapshot as Prometheus metrics.
type Metrics struct {
	mu   sync.Mutex
	last Snapshot
	reg  *prometheus.Registry
}

// NewMetrics returns metrics with nothing observed yet.
func NewMetrics() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.reg.MustRegister(m)
	return m
}

// Observe records a snapshot (Options.Live).
func (m *Metrics) Observe(s Snapshot) {
	m.mu.Lock()
	m.last = s
	m.mu.Unlock()
}

var (
	descWrites      = prometheus.NewDesc(MetricWrites, "Writes of the game day's workload so far, by outcome.", []string{"outcome"}, nil)
	descWriteRate   = prometheus.NewDesc(MetricWriteRate, "Writes per second over the last interval, by outcome.", []string{"outcome"}, nil)
	descUnavailable = prometheus.NewDesc(MetricUnavailable, "Seconds since the last acknowledged write (0 while writes are acknowledged).", nil, nil)
	descRole        = prometheus.NewDesc(MetricRole, "1 for each instance's role as the monitor last saw it.", []string{"instance", "role"}, nil)
	descTimeline    = prometheus.NewDesc(MetricTimeline, "Each instance's timeline.", []string{"instance"}, nil)
	descLag         = prometheus.NewDesc(MetricLag, "Each replica's replay lag behind the primary's write position, in bytes.", []string{"instance"}, nil)
	descFault       = prometheus.NewDesc(MetricFault, "1 while the fault is applied.", []string{"fault"}, nil)
	descDeadline    = prometheus.NewDesc(MetricDeadline, "Seconds until the active fault is reverted.", nil, nil)
	descStep        = prometheus.NewDesc(MetricStep, "The plan's current step, 1-based.", nil, nil)
)

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descWrites, descWriteRate, descUnavailable, descRole, descTimeline, descLag, descFault, descDeadline, descStep} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	s := m.last
	m.mu.Unlock()
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	g(descWrites, float64(s.OK), "ok")
	g(descWrites, float64(s.Failed), "failed")
	g(descWrites, float64(s.Unknown), "unknown")
	g(descWriteRate, s.AckRate, "ok")
	g(descWriteRate, s.FailRate, "failed")
	g(descUnavailable, s.Unavailable.Seconds())
	for _, in := range s.Instances {
		g(descRole, 1, in.Name, in.Role)
		g(descTimeline, float64(in.Timeline), in.Name)
		if in.Role == "replica" {
			g(descLag, float64(in.LagBytes), in.Name)
		}
	}
	if s.Fault != "" {
		g(descFault, 1, s.Fault)
		g(descDeadline, s.Deadline.Seconds())
	}
	g(descStep, float64(s.Step))
}

// Serve serves /metrics on addr until ctx ends; it returns the address
// it listens on (addr may name port 0) once listening.
func (m *Metrics) Serve(ctx context.Context, addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("metrics endpoint %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = ln.Close()
		}
	}()
	return ln.Addr().String(), nil
}
